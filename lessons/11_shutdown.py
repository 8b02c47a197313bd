"""Lesson 11: Graceful shutdown and SO_REUSEADDR.

Read first: lesson 10 (timeouts and dead peers). Next: lesson 12, input limits.

The one idea: **stopping a server is a protocol too.** Ctrl-C should not throw away what clients
were about to receive, and the server should be able to start again on the same port straight
away.

Steps:

1. Signals: the handler only records the request and wakes the event loop; the loop does the work.
2. Graceful shutdown: stop accepting, tell every client (``ERROR :Server shutting down``), flush
   what is queued, send FIN, wait (briefly) for the client's FIN, close. Bounded by a grace period
   so one client that never reads cannot hold the server hostage.
3. TIME_WAIT: the side that closes first keeps the connection's address pair reserved for a while
   (60 s on Linux). A graceful server closes first, so a restart on the same port fails with
   ``EADDRINUSE`` unless both the old and the new listener set ``SO_REUSEADDR``.

Run it::

    python lessons/11_shutdown.py                     # narrated demo
    python lessons/11_shutdown.py --serve             # a chat; stop it: Ctrl-C or kill -TERM
    python lessons/11_shutdown.py --serve --no-reuse  # then restart it at once: EADDRINUSE
    python lessons/11_shutdown.py --check             # self-check on port 0, exit 0 = pass

What this is not: a complete chat server (lessons 5-8 and chatkit's backends are), and the
TIME_WAIT results are Linux's. BSD and macOS behave much the same; on Windows ``SO_REUSEADDR``
means something else entirely (it lets another program steal a port in use) and servers set
``SO_EXCLUSIVEADDRUSE`` instead. Python's ``socket.create_server`` already sets SO_REUSEADDR on
POSIX, which is why this lesson builds its listeners by hand.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import selectors
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType


# --8<-- [start:listener]
def make_listener(port: int, reuse_address: bool) -> socket.socket:
    """A listening socket on 127.0.0.1, with or without SO_REUSEADDR (set *before* bind)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if reuse_address:
        # "Let me bind even if old connections on this port are still in TIME_WAIT."
        # It does not let two live servers share a port (that is SO_REUSEPORT).
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(("127.0.0.1", port))
    except OSError:
        listener.close()
        raise
    listener.listen()
    return listener


# --8<-- [end:listener]


def recv_ready(sock: socket.socket) -> bytes | None:
    """recv on a non-blocking socket: None if nothing is there yet, b"" for EOF or an error."""
    try:
        return sock.recv(4096)
    except BlockingIOError:
        return None
    except OSError:
        return b""  # a reset connection is as over as a closed one


@dataclass
class Client:
    sock: socket.socket
    peer: str
    outbox: bytearray = field(default_factory=bytearray)
    inbox: bytes = b""
    fin_sent: bool = False


@dataclass
class ShutdownReport:
    """What the graceful shutdown managed to do, for the demo and the check."""

    flushed: list[str] = field(default_factory=list)  # took all their data and said goodbye
    cut_off: list[str] = field(default_factory=list)  # still had data queued at the deadline
    seconds: float = 0.0


class ChatServer:
    """A one-thread selectors chat (lesson 7) that knows how to stop.

    Every line a client sends goes to every client. ``BIG n`` queues ``n`` bytes of filler for
    the sender, so the demo has output in flight when the signal arrives.
    """

    def __init__(self, port: int = 0, reuse_address: bool = True, grace: float = 2.0) -> None:
        self.listener = make_listener(port, reuse_address)
        self.listener.setblocking(False)
        self.address: tuple[str, int] = self.listener.getsockname()[:2]
        self.grace = grace
        self.clients: dict[socket.socket, Client] = {}
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.listener, selectors.EVENT_READ)
        # The self-pipe trick: a signal handler may run at any moment, between any two bytecodes,
        # so it must not touch sockets or the selector. It writes one byte here instead, which
        # makes select() return; the loop then does the real work in the open.
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self.selector.register(self._wake_r, selectors.EVENT_READ)
        self.stop_requested: str | None = None
        self.closing = False  # set once the goodbyes are queued: FIN may follow an empty outbox

    # --8<-- [start:signals]
    # --- Step 1: signals -------------------------------------------------------------------------
    def install_signal_handlers(self) -> Callable[[], None]:
        """Turn SIGINT (Ctrl-C) and SIGTERM (kill, systemd, docker stop) into a stop request.

        Must run in the main thread (Python delivers signals there). Returns a function that
        puts the previous handlers back.
        """
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        old_wakeup_fd = signal.set_wakeup_fd(self._wake_w.fileno(), warn_on_full_buffer=False)

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            # Record and return. set_wakeup_fd already wrote the signal number to _wake_w.
            self.stop_requested = signal.Signals(signum).name

        for sig in previous:
            signal.signal(sig, on_signal)

        def restore() -> None:
            signal.set_wakeup_fd(old_wakeup_fd)
            for sig, handler in previous.items():
                signal.signal(sig, handler)

        return restore

    def request_stop(self, why: str) -> None:
        """The same stop request, from another thread (what a test or a GUI would call)."""
        self.stop_requested = why
        with contextlib.suppress(BlockingIOError):  # a wake-up byte is already waiting
            self._wake_w.send(b"\0")

    # --8<-- [end:signals]

    def serve(self) -> ShutdownReport:
        """Run until a stop is requested, then shut down gracefully and report how it went."""
        while self.stop_requested is None:
            for key, mask in self.selector.select(timeout=1.0):
                if key.fileobj is self.listener:
                    self._accept()
                elif key.fileobj is self._wake_r:
                    self._drain_wakeups()
                else:
                    client = key.data
                    if mask & selectors.EVENT_READ:
                        self._read(client)
                    if mask & selectors.EVENT_WRITE and client.sock in self.clients:
                        self._write(client)
        return self.shutdown_gracefully(f"Server shutting down ({self.stop_requested})")

    # --8<-- [start:graceful]
    # --- Step 2: graceful shutdown ---------------------------------------------------------------
    def shutdown_gracefully(self, reason: str) -> ShutdownReport:
        """Stop accepting, say goodbye, flush, FIN, wait for the peer's FIN; all within `grace`."""
        report = ShutdownReport()
        started = time.monotonic()
        deadline = started + self.grace
        # 1. Stop accepting: new connections are refused from now on.
        self.selector.unregister(self.listener)
        self.listener.close()
        # 2. Tell everyone why, *after* what they were already due (it goes to the outbox end).
        everyone = [client.peer for client in self.clients.values()]
        self.closing = True
        for client in self.clients.values():
            client.outbox += f"ERROR :{reason}\r\n".encode()
            self._watch(client)
        # 3. Flush and close, but only until the deadline: a client that never reads must not
        #    keep the server from exiting.
        while self.clients and time.monotonic() < deadline:
            for key, mask in self.selector.select(timeout=deadline - time.monotonic()):
                client = key.data
                if client is None:
                    continue  # the wake-up socket
                if mask & selectors.EVENT_WRITE:
                    self._write(client)
                if mask & selectors.EVENT_READ and client.sock in self.clients:
                    self._read_until_fin(client, report)
        # 4. Whoever is left has not taken everything or not closed: close anyway.
        for client in list(self.clients.values()):
            self._drop(client)
        report.cut_off = [peer for peer in everyone if peer not in report.flushed]
        self.selector.close()
        self._wake_r.close()
        self._wake_w.close()
        report.seconds = time.monotonic() - started
        return report

    def _write(self, client: Client) -> None:
        try:
            sent = client.sock.send(client.outbox)
        except BlockingIOError:
            return
        except OSError:
            self._drop(client)
            return
        del client.outbox[:sent]
        if not client.outbox and self.closing and not client.fin_sent:
            # Everything is out: send our FIN. shutdown(SHUT_WR), not close(): closing with
            # unread input makes the kernel send RST, and an RST can destroy data the client
            # has not read yet. We keep reading until the client's own FIN arrives.
            client.sock.shutdown(socket.SHUT_WR)
            client.fin_sent = True
        self._watch(client)

    def _read_until_fin(self, client: Client, report: ShutdownReport) -> None:
        data = recv_ready(client.sock)
        if data == b"":  # the client's FIN (or an error): the conversation is over
            if client.fin_sent:
                report.flushed.append(client.peer)
            self._drop(client)

    # --8<-- [end:graceful]

    def _accept(self) -> None:
        try:
            sock, addr = self.listener.accept()
        except BlockingIOError:
            return
        sock.setblocking(False)
        client = Client(sock, f"{addr[0]}:{addr[1]}")
        self.clients[sock] = client
        self.selector.register(sock, selectors.EVENT_READ, data=client)
        client.outbox += f"NOTICE * :welcome {client.peer}\r\n".encode()
        self._watch(client)

    def _read(self, client: Client) -> None:
        data = recv_ready(client.sock)
        if data is None:
            return
        if not data:
            self._drop(client)
            return
        *lines, client.inbox = (client.inbox + data).split(b"\n")
        for raw in lines:
            line = raw.rstrip(b"\r")
            if line.startswith(b"BIG "):
                size = min(int(line[4:] or b"0"), 1_000_000)  # bounded: a lesson, not a DoS
                filler = b"F" * 98 + b"\r\n"
                client.outbox += filler * (size // len(filler))
                self._watch(client)
            elif line:
                out = b":" + client.peer.encode() + b" PRIVMSG #room :" + line + b"\r\n"
                for other in self.clients.values():
                    other.outbox += out
                    self._watch(other)

    def _watch(self, client: Client) -> None:
        """Ask for EVENT_WRITE only while there is something to write (lesson 7)."""
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if client.outbox else 0)
        self.selector.modify(client.sock, events, data=client)

    def _drop(self, client: Client) -> None:
        self.clients.pop(client.sock, None)
        self.selector.unregister(client.sock)
        client.sock.close()

    def _drain_wakeups(self) -> None:
        try:
            while self._wake_r.recv(64):
                pass
        except BlockingIOError:
            pass


# --8<-- [start:timewait]
# --- Step 3: TIME_WAIT and SO_REUSEADDR ----------------------------------------------------------
def restart_after_active_close(old_reuse: bool, new_reuse: bool) -> str:
    """Serve one connection, close it first (as a graceful server does), stop, bind again.

    Returns "ok" or the error the second bind got. The closed connection sits in TIME_WAIT on
    the server's side for 2*MSL (60 s on Linux) so that a late, duplicated packet from it
    cannot be mistaken for part of a new connection with the same four-tuple.
    """
    listener = make_listener(0, old_reuse)
    port = listener.getsockname()[1]
    with socket.create_connection(("127.0.0.1", port), timeout=2) as client:
        conn, _ = listener.accept()
        conn.close()  # the server closes first: TIME_WAIT will be on the server's side
        client.recv(1)  # b"": the client saw our FIN
    listener.close()
    try:
        make_listener(port, new_reuse).close()
    except OSError as exc:
        return errno.errorcode.get(exc.errno or 0, str(exc))
    return "ok"


# --8<-- [end:timewait]


def read_all(sock: socket.socket, deadline: float) -> tuple[bytes, str]:
    """Read until EOF, then close as a polite client does; return (everything, how it ended:
    "FIN", "RST" or "timeout")."""
    with sock:
        return _read_to_eof(sock, deadline)


def _read_to_eof(sock: socket.socket, deadline: float) -> tuple[bytes, str]:
    chunks: list[bytes] = []
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data = sock.recv(65536)
        except TimeoutError:
            return b"".join(chunks), "timeout"
        except ConnectionResetError:
            return b"".join(chunks), "RST"
        if not data:
            return b"".join(chunks), "FIN"
        chunks.append(data)
    return b"".join(chunks), "timeout"


def clients_then_signal(
    address: tuple[str, int],
    big: int,
    results: dict[str, tuple[bytes, str]],
    server_done: threading.Event,
) -> None:
    """Connect a talker, a listener and a stuck client; send SIGTERM; read until EOF.

    The stuck client neither reads nor closes until the server is done: the server cannot
    tell it from a client whose machine froze, and must give up on it after the grace period.
    """
    deadline = time.monotonic() + 10  # generous: only a hung server ever gets near it
    talker = socket.create_connection(address, timeout=2)
    listener = socket.create_connection(address, timeout=2)
    stuck = socket.create_connection(address, timeout=2)
    with talker, listener, stuck:
        try:
            for sock in (talker, listener, stuck):
                sock.recv(100)  # the welcome NOTICE: we are accepted
            # The stuck client asks for a lot and never reads: it is cut off at the deadline.
            stuck.sendall(b"BIG 1000000\r\n")
            # One sendall, so the server handles BIG before "hello" and has queued it by the
            # time the listener sees "hello".
            talker.sendall(f"BIG {big}\r\nhello\r\n".encode())
            listener.settimeout(2)
            heard = listener.recv(4096)
        finally:
            # SIGTERM is what `kill PID`, systemd and `docker stop` send. os.kill from this
            # thread delivers it to the process; Python runs the handler in the main thread.
            # (In a finally: whatever happened above, the server must be told to stop.)
            os.kill(os.getpid(), signal.SIGTERM)
        readers = [
            threading.Thread(target=lambda s=s, n=n: results.__setitem__(n, read_all(s, deadline)))
            for s, n in ((talker, "talker"), (listener, "listener"))
        ]
        for reader in readers:
            reader.start()
        for reader in readers:
            reader.join(timeout=max(0.1, deadline - time.monotonic()))
        rest, end = results.get("listener", (b"", "missing"))
        results["listener"] = (heard + rest, end)
        server_done.wait(timeout=max(0.1, deadline - time.monotonic()))


def run(grace: float, say: Callable[[str], None]) -> list[str]:
    """Run the three steps; return what did not behave as the lesson says."""
    problems: list[str] = []
    big = 300_000
    server = ChatServer(port=0, reuse_address=True, grace=grace)
    port = server.address[1]
    say(f"step 1: chat server on 127.0.0.1:{port}, SIGINT/SIGTERM handlers installed")
    results: dict[str, tuple[bytes, str]] = {}
    server_done = threading.Event()
    clients = threading.Thread(
        target=clients_then_signal, args=(server.address, big, results, server_done), daemon=True
    )
    # A bound on the whole check: if the clients fail before signalling, stop anyway.
    watchdog = threading.Timer(15, server.request_stop, args=("watchdog",))
    restore = server.install_signal_handlers()
    try:
        clients.start()
        watchdog.start()
        report = server.serve()  # returns after the SIGTERM and the graceful shutdown
    finally:
        watchdog.cancel()
        restore()
        server_done.set()
    clients.join(timeout=5)
    say(
        f"step 2: stopped on {server.stop_requested} in {report.seconds:.2f}s; flushed "
        f"{len(report.flushed)} clients, cut off {len(report.cut_off)} (grace {grace:g}s)"
    )
    talker_data, talker_end = results.get("talker", (b"", "missing"))
    filler = talker_data.count(b"F" * 98 + b"\r\n") * 100
    say(
        f"        the talker got {filler} of {big // 100 * 100} queued bytes, then "
        f"{talker_data.splitlines()[-1:]!r}, then {talker_end}"
    )
    if filler != big // 100 * 100 or talker_end != "FIN":
        problems.append(f"the talker got {filler} bytes and {talker_end}: not flushed cleanly")
    for name in ("talker", "listener"):
        data, end = results.get(name, (b"", "missing"))
        if not data.endswith(b"ERROR :Server shutting down (SIGTERM)\r\n") or end != "FIN":
            problems.append(f"the {name} was not told goodbye: ...{data[-60:]!r}, {end}")
    if len(report.flushed) != 2 or len(report.cut_off) != 1:
        problems.append(f"expected 2 flushed and 1 cut off, got {report}")
    if report.seconds > grace + 1.0:
        problems.append(f"shutdown took {report.seconds:.2f}s with a {grace}s grace period")
    try:
        socket.create_connection(server.address, timeout=1).close()
        problems.append("the stopped server still accepts connections")
    except ConnectionRefusedError:
        say("        a new connection is refused: nothing listens any more")

    # Step 3: the real server just closed its connections first. Restart on its port.
    for reuse in (False, True):
        try:
            make_listener(port, reuse).close()
            outcome = "ok"
        except OSError as exc:
            outcome = errno.errorcode.get(exc.errno or 0, str(exc))
        say(
            f"step 3: restart on port {port} {'with' if reuse else 'without'} SO_REUSEADDR: "
            f"{outcome}"
        )
        if sys.platform == "linux" and outcome != ("ok" if reuse else "EADDRINUSE"):
            problems.append(f"restart {'with' if reuse else 'without'} SO_REUSEADDR: {outcome}")
    say("        which listeners need SO_REUSEADDR? (old server, new server) -> second bind")
    for old in (False, True):
        for new in (False, True):
            outcome = restart_after_active_close(old, new)
            say(f"          old={old!s:5} new={new!s:5} -> {outcome}")
            # Linux remembers the option on the TIME_WAIT socket and requires it on both.
            if sys.platform == "linux" and outcome != ("ok" if old and new else "EADDRINUSE"):
                problems.append(f"old={old} new={new}: expected the Linux behaviour, got {outcome}")
    return problems


def serve(port: int, reuse: bool) -> None:
    """Run the chat until Ctrl-C or SIGTERM, then shut down gracefully."""
    try:
        server = ChatServer(port=port, reuse_address=reuse)
    except OSError as exc:
        print(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}", file=sys.stderr)
        raise SystemExit(1) from None
    restore = server.install_signal_handlers()
    port = server.address[1]
    print(
        f"chat on 127.0.0.1:{port} (pid {os.getpid()}); telnet 127.0.0.1 {port} in two "
        f"terminals, then Ctrl-C here or kill -TERM {os.getpid()}"
    )
    try:
        report = server.serve()
    finally:
        restore()
    print(
        f"\nstopped on {server.stop_requested} in {report.seconds:.2f}s: flushed "
        f"{report.flushed or 'nobody'}, cut off {report.cut_off or 'nobody'}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="self-check, exit 0 on success")
    parser.add_argument("--serve", action="store_true", help="run the chat until Ctrl-C")
    parser.add_argument("--port", type=int, default=6671, help="port for --serve")
    parser.add_argument("--no-reuse", action="store_true", help="--serve without SO_REUSEADDR")
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.port, reuse=not args.no_reuse)
        return 0
    # The check's grace period is long enough to flush 300 kB on a busy machine many times
    # over, and short enough that waiting for the stuck client does not make the check slow.
    problems = run(grace=1.0 if args.check else 2.0, say=(lambda _t: None) if args.check else print)
    sys.stdout.flush()
    for problem in problems:
        print("FAIL:", problem, file=sys.stderr)
    if args.check and not problems:
        print("lesson 11 check passed: clients flushed and told, restart needs SO_REUSEADDR")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
