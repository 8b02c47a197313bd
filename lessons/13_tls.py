"""Lesson 13: TLS with the ssl module.

Read first: lesson 12 (input limits). Next: lesson 14, measuring the backends.

The one idea: **TLS wraps the same byte stream in encryption *and* proof of identity, and the
proof is the part people get wrong.** Everything you learned still holds: after the handshake a
TLS socket is a byte stream with ``recv`` and ``sendall``; lines still need framing. What
changes is what travels on the wire and who you can be sure you are talking to.

Steps:

1. A certificate: generated at run time with the ``openssl`` command when it is installed, or
   the demo pair shipped next to this file (``13_tls_demo_cert.pem``/``13_tls_demo_key.pem``,
   public on purpose, for this lesson only).
2. A TLS echo server: ``SSLContext.wrap_socket(conn, server_side=True)`` per accepted client.
3. A verifying client, through a "tap" that records the bytes on the wire: the echo works, and
   the secret never appears in what the tap saw (it does when we send it without TLS).
4. What verification refuses: a client that trusts only the system's CAs, a client that expects
   another host name, and a plain-text client on the TLS port.

Run it::

    python lessons/13_tls.py           # narrated demo
    python lessons/13_tls.py --serve   # TLS echo on 127.0.0.1:6697; the demo prints an
                                       # `openssl s_client` command to talk to it
    python lessons/13_tls.py --check   # self-check on port 0, exit code 0 = pass

What this is not: how to run TLS for real. A real server uses a certificate from a CA your
clients already trust (Let's Encrypt, or your organisation's CA), keeps the key private and
renews it. IRC's TLS port is 6697. chatkit's own server does not speak TLS yet (it is on the
roadmap); the server side of the code below is what a backend would do to add it.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import queue
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEMO_CERT = HERE / "13_tls_demo_cert.pem"
DEMO_KEY = HERE / "13_tls_demo_key.pem"


# --8<-- [start:certificate]
# --- Step 1: a certificate for localhost ---------------------------------------------------------
def make_certificate(directory: Path) -> tuple[Path, Path, str]:
    """Return (certificate, private key, where they came from).

    A self-signed certificate vouches for itself: a client trusts it only because we hand it
    the very same file as its CA. That is fine for a lesson and for a private test server.
    The subjectAltName lists every name a client may use (DNS:localhost, IP:127.0.0.1, ::1);
    modern clients ignore the CN. keyUsage is there because Python 3.13+ verifies strictly.
    """
    openssl = shutil.which("openssl")
    if openssl is None:
        return DEMO_CERT, DEMO_KEY, "the demo pair shipped with the lesson (no openssl found)"
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1",
         "-addext", "keyUsage=critical,digitalSignature,keyCertSign",
         "-addext", "extendedKeyUsage=serverAuth"],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    return cert, key, f"a fresh self-signed certificate made by {openssl}"


# --8<-- [end:certificate]


# --8<-- [start:server]
# --- Step 2: the server side ---------------------------------------------------------------------
def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """Purpose.CLIENT_AUTH means "a context for a server" (it authenticates to clients)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


class EchoServer:
    """Thread per client (lesson 4); each thread does its own handshake, then echoes.

    With ``context=None`` it is a plain TCP echo server, the control experiment.
    ``idle_timeout`` drops a client silent that long after its handshake (None: never).
    """

    def __init__(
        self, context: ssl.SSLContext | None, port: int = 0, idle_timeout: float | None = 5
    ) -> None:
        self.context = context
        self.idle_timeout = idle_timeout
        self.listener = socket.create_server(("127.0.0.1", port))
        self.listener.settimeout(0.1)  # so the accept loop notices stop() (lesson 10)
        self.address: tuple[str, int] = self.listener.getsockname()[:2]
        self.failed_handshakes: queue.Queue[str] = queue.Queue()
        self.stopping = threading.Event()

    def serve_forever(self) -> None:
        with self.listener:
            while not self.stopping.is_set():
                try:
                    conn, _addr = self.listener.accept()
                except TimeoutError:
                    continue
                threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(5)  # for the handshake: a client that never completes it is dropped
        stream: socket.socket = conn
        if self.context is not None:
            # The handshake happens here, in the client's thread, not in the accept loop: a
            # client that connects and never speaks TLS must not hold up everyone else.
            try:
                stream = self.context.wrap_socket(conn, server_side=True)
            except (ssl.SSLError, OSError) as exc:
                # A client that does not trust us aborts the handshake with an alert; a
                # plain-text client sends bytes that are not a TLS record at all.
                self.failed_handshakes.put(getattr(exc, "reason", None) or str(exc))
                conn.close()
                return
        stream.settimeout(self.idle_timeout)
        with stream, contextlib.suppress(OSError):  # ssl.SSLError is an OSError too
            while data := stream.recv(4096):  # b"" when the client closes, TLS or not
                stream.sendall(data)


# --8<-- [end:server]


# --- Step 3: a tap, to see what travels on the wire ----------------------------------------------
class Tap:
    """A TCP relay between client and server that keeps a copy of every byte it forwards.

    It stands for anyone on the path: the Wi-Fi at a café, a router, a curious admin.
    """

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address: tuple[str, int] = self.listener.getsockname()[:2]
        self.seen = {"client->server": bytearray(), "server->client": bytearray()}
        self._pumps: list[threading.Thread] = []
        threading.Thread(target=self._relay_one, daemon=True).start()

    def _relay_one(self) -> None:
        self.listener.settimeout(5)
        with self.listener:
            client, _addr = self.listener.accept()
        server = socket.create_connection(self.upstream, timeout=5)
        client.settimeout(5)
        for src, dst, name in (
            (client, server, "client->server"),
            (server, client, "server->client"),
        ):
            pump = threading.Thread(target=self._pump, args=(src, dst, name), daemon=True)
            self._pumps.append(pump)
            pump.start()

    def _pump(self, src: socket.socket, dst: socket.socket, name: str) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                self.seen[name] += data
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)  # pass the EOF on

    def wait(self) -> None:
        for pump in self._pumps:
            pump.join(timeout=5)


# --8<-- [start:client]
def client_context(cafile: Path | None) -> ssl.SSLContext:
    """A client context that verifies the chain *and* the host name (both on by default).

    With ``cafile=None`` it trusts only the system's CA store, like a browser.
    """
    return ssl.create_default_context(cafile=cafile)


def tls_echo(
    context: ssl.SSLContext, address: tuple[str, int], hostname: str, text: bytes
) -> dict[str, object]:
    """Connect, handshake, send ``text``, read it back. Raises ssl.SSLError if not verified."""
    started = time.perf_counter()
    with socket.create_connection(address, timeout=5) as raw:
        connected = time.perf_counter()
        # server_hostname does two jobs: SNI (tell the server which site we want) and the
        # name the certificate must match. Leave it out and check_hostname refuses to start.
        with context.wrap_socket(raw, server_hostname=hostname) as tls:
            handshaken = time.perf_counter()
            tls.sendall(text)
            echoed = b""
            while len(echoed) < len(text) and (data := tls.recv(4096)):
                echoed += data
            return {
                "echoed": echoed,
                "version": tls.version(),
                "cipher": tls.cipher()[0] if tls.cipher() else None,
                "names": (tls.getpeercert() or {}).get("subjectAltName"),
                "tcp_ms": (connected - started) * 1000,
                "handshake_ms": (handshaken - connected) * 1000,
            }


# --8<-- [end:client]


def plain_echo(address: tuple[str, int], text: bytes) -> bytes:
    """Send ``text`` with no TLS at all; return what comes back (the echo, or less at EOF)."""
    with socket.create_connection(address, timeout=5) as sock:
        sock.sendall(text)
        got = b""
        with contextlib.suppress(OSError):
            while len(got) < len(text) and (data := sock.recv(4096)):
                got += data
        return got


def run(say: Callable[[str], None]) -> list[str]:
    problems: list[str] = []
    secret = b"PRIVMSG #room :the password is swordfish\r\n"
    servers: list[EchoServer] = []
    with tempfile.TemporaryDirectory() as tmp:
        cert, key, origin = make_certificate(Path(tmp))
        say(f"step 1: using {origin}")
        tls_server = EchoServer(server_context(cert, key))
        plain_server = EchoServer(None)
        servers += [tls_server, plain_server]
        for server in servers:
            threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            say(f"step 2: TLS echo server on {tls_server.address[0]}:{tls_server.address[1]}")
            problems += verified_through_tap(tls_server, plain_server, cert, secret, say)
            problems += refusals(tls_server, cert, secret, say)
        finally:
            for server in servers:
                server.stopping.set()
    return problems


def verified_through_tap(
    tls_server: EchoServer,
    plain_server: EchoServer,
    cert: Path,
    secret: bytes,
    say: Callable[[str], None],
) -> list[str]:
    """Step 3: the echo works over TLS and the tap sees only ciphertext; without TLS it sees all."""
    problems = []
    tap = Tap(tls_server.address)
    result = tls_echo(client_context(cert), tap.address, "localhost", secret)
    tap.wait()
    up, down = tap.seen["client->server"], tap.seen["server->client"]
    say(f"step 3: {result['version']} {result['cipher']}, certificate names {result['names']}")
    say(
        f"        TCP connect {result['tcp_ms']:.2f} ms, then the TLS handshake "
        f"{result['handshake_ms']:.2f} ms; {len(secret)} bytes of text each way cost "
        f"{len(up)} bytes up and {len(down)} down"
    )
    say(
        f"        echoed {result['echoed']!r}; 'swordfish' on the wire: {b'swordfish' in up + down}"
    )
    if result["echoed"] != secret:
        problems.append(f"the TLS echo returned {result['echoed']!r}")
    if b"swordfish" in up + down or len(up) <= len(secret):
        problems.append("the tap saw the secret (or nothing at all) on the TLS connection")

    # The control: the same tap on a plain connection reads everything.
    tap = Tap(plain_server.address)
    plain = plain_echo(tap.address, secret)
    tap.wait()
    say(f"        without TLS the tap reads {bytes(tap.seen['client->server'])!r}")
    if plain != secret or b"swordfish" not in tap.seen["client->server"]:
        problems.append("the plain-text control run did not show the secret on the wire")
    return problems


def refusals(
    tls_server: EchoServer, cert: Path, secret: bytes, say: Callable[[str], None]
) -> list[str]:
    """Step 4: verification refuses strangers and wrong names; plain text gets nowhere."""
    problems = []
    cases = {
        "trusting only the system CAs": (client_context(None), "localhost"),
        "expecting another host name": (client_context(cert), "chat.example.org"),
    }
    for label, (context, hostname) in cases.items():
        try:
            tls_echo(context, tls_server.address, hostname, secret)
        except ssl.SSLCertVerificationError as exc:
            say(f"step 4: a client {label}: refused ({exc.verify_message})")
        else:
            problems.append(f"a client {label} was NOT refused")
    garbage = plain_echo(tls_server.address, secret)
    say(f"        a plain-text client on the TLS port got {garbage[:40]!r} back")
    if b"swordfish" in garbage:
        problems.append("the TLS server echoed plain text")
    failures = []
    with contextlib.suppress(queue.Empty):
        for _ in range(3):  # the server logs each failed handshake in its own thread
            failures.append(tls_server.failed_handshakes.get(timeout=3))
    say(f"        the server's failed handshakes: {failures}")
    if len(failures) != 3:
        problems.append(f"expected 3 failed handshakes on the server, saw {failures}")
    return problems


def serve(port: int) -> None:
    """Run the TLS echo server until Ctrl-C, for `openssl s_client`."""
    with tempfile.TemporaryDirectory() as tmp:
        cert, key, origin = make_certificate(Path(tmp))
        if cert == DEMO_CERT:
            print(f"using {origin}")
        else:
            cert = Path(shutil.copy(cert, Path.cwd() / "lesson13-cert.pem"))
            print(f"using {origin}; certificate copied to {cert}")
        # No idle timeout: you may take your time typing into s_client.
        server = EchoServer(server_context(cert, key), port=port, idle_timeout=None)
        print(
            f"TLS echo on 127.0.0.1:{server.address[1]}; try:\n  openssl s_client -connect "
            f"127.0.0.1:{server.address[1]} -CAfile {cert} -verify_hostname localhost"
        )
        threading.Thread(target=print_failed_handshakes, args=(server,), daemon=True).start()
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()


def print_failed_handshakes(server: EchoServer) -> None:
    """The server's log, for --serve: one line per client whose handshake failed."""
    while True:
        print(f"a handshake failed: {server.failed_handshakes.get()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="self-check, exit 0 on success")
    parser.add_argument("--serve", action="store_true", help="run the TLS echo server")
    parser.add_argument("--port", type=int, default=6697, help="port for --serve")
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.port)
        return 0
    problems = run(say=(lambda _t: None) if args.check else print)
    sys.stdout.flush()
    for problem in problems:
        print("FAIL:", problem, file=sys.stderr)
    if args.check and not problems:
        print("lesson 13 check passed: encrypted echo works, strangers and wrong names refused")
    return 1 if problems else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except OSError as error:
        # Only bind() fails like this: a port in use, or one we may not use. Say so plainly.
        if error.errno not in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL):
            raise
        sys.exit(f"cannot listen: {error.strerror}. Is the lesson already running? Try --port.")
