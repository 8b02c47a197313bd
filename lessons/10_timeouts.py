"""Lesson 10: Timeouts, keepalive, PING/PONG and dead peers.

Read first: lesson 9 (the sans-I/O core). Next: lesson 11, graceful shutdown.

The one idea: **a peer can vanish without saying goodbye, and only a timer notices.** When a
laptop lid closes, a Wi-Fi link drops or a machine loses power, no FIN and no RST ever arrive.
The server's ``recv`` just waits, forever, holding a thread, a file descriptor, a nick and a
place in every room.

Steps:

1. ``socket.settimeout``: a blocking call that gives up after N seconds.
2. ``SO_KEEPALIVE`` and its knobs: the kernel can probe an idle connection for you.
3. Application-level PING/PONG, the way IRC does it: after ``ping_interval`` seconds of silence
   send ``PING``; if nothing comes back within ``ping_timeout``, drop the peer.
4. The check: a silent client is detected and dropped, a lively one stays.

Run it::

    python lessons/10_timeouts.py           # narrated demo (about 5 seconds)
    python lessons/10_timeouts.py --serve   # a PING/PONG server on 127.0.0.1 to poke with nc
    python lessons/10_timeouts.py --serve --keepalive   # the same, with kernel keepalive on
    python lessons/10_timeouts.py --check   # self-check on port 0, exit code 0 = pass

What this is not: on loopback we cannot really pull a cable, so the "dead" peer here is a client
that stays connected and says nothing. To the server the two look exactly the same, which is the
point: silence is all a server ever sees of a dead peer. chatkit's core does the same job with
deadlines checked by ``core.tick(now)`` instead of a blocking ``recv`` with a timeout, so one
thread can watch thousands of clients.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import itertools
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

# --8<-- [start:settimeout]
# --- Step 1: settimeout ------------------------------------------------------------------------


def recv_with_timeout(sock: socket.socket, seconds: float) -> tuple[bytes | None, float]:
    """Wait at most ``seconds`` for data. Returns (data or None on timeout, seconds waited).

    ``settimeout(s)`` turns every later blocking call on this socket (recv, send, accept,
    connect) into "wait at most s seconds, then raise TimeoutError". It is per call, not a
    deadline: a peer that sends one byte every s - 0.01 seconds never trips it.
    """
    sock.settimeout(seconds)
    started = time.monotonic()
    try:
        data = sock.recv(4096)
    except TimeoutError:  # socket.timeout is an alias of TimeoutError since Python 3.10
        return None, time.monotonic() - started
    return data, time.monotonic() - started


# --8<-- [end:settimeout]

# --8<-- [start:keepalive]
# --- Step 2: SO_KEEPALIVE ----------------------------------------------------------------------


def enable_keepalive(sock: socket.socket, idle: int, interval: int, count: int) -> dict[str, int]:
    """Ask the kernel to probe this connection when it has been idle, and return what it set.

    After ``idle`` seconds without traffic the kernel sends an empty ACK probe; the peer's
    kernel answers it even if the application there is asleep. After ``count`` unanswered
    probes, ``interval`` seconds apart, the connection is declared dead and the next ``recv``
    fails with ``ETIMEDOUT``. The system default idle time is two hours (see
    /proc/sys/net/ipv4/tcp_keepalive_time on Linux), far too long for a chat server, and the
    knobs are per-OS: Linux and Windows 10+ have TCP_KEEPIDLE, macOS calls it TCP_KEEPALIVE.
    """
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    knobs = {
        "TCP_KEEPIDLE": idle,
        "TCP_KEEPALIVE": idle,  # the macOS name for the idle time
        "TCP_KEEPINTVL": interval,
        "TCP_KEEPCNT": count,
    }
    applied = {"SO_KEEPALIVE": sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)}
    for name, value in knobs.items():
        option = getattr(socket, name, None)
        if option is None or (name == "TCP_KEEPALIVE" and "TCP_KEEPIDLE" in applied):
            continue
        sock.setsockopt(socket.IPPROTO_TCP, option, value)
        applied[name] = sock.getsockopt(socket.IPPROTO_TCP, option)
    return applied


def system_keepalive_defaults() -> dict[str, str]:
    """The Linux defaults, to show how long an untuned keepalive takes (empty elsewhere)."""
    defaults = {}
    for name in ("tcp_keepalive_time", "tcp_keepalive_intvl", "tcp_keepalive_probes"):
        path = Path("/proc/sys/net/ipv4") / name
        if path.exists():
            defaults[name] = path.read_text().strip()
    return defaults


# --8<-- [end:keepalive]

# --- Step 3: application-level PING/PONG ---------------------------------------------------------
#
# Keepalive proves the peer's *kernel* is alive. It cannot tell that the client program is
# frozen, and a NAT box or proxy in between may answer for it. So IRC servers ask the program
# itself: "PING :token" must be answered by "PONG :token" (in fact any line will do).


# --8<-- [start:pinger]
class PingServer:
    """A thread-per-client server (lesson 4) that drops clients which stay silent too long.

    Each client thread blocks in ``recv`` with a timeout of ``ping_interval``. A timeout means
    "silent for that long": send PING and wait ``ping_timeout`` more. Any data resets the
    clock. A second timeout means the peer is gone: tell it (in case it is only slow), close.
    """

    def __init__(
        self,
        ping_interval: float,
        ping_timeout: float,
        port: int = 0,
        keepalive: tuple[int, int, int] | None = None,
    ) -> None:
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.keepalive = keepalive  # (idle, interval, count) for step 2's kernel probes, or None
        self.listener = socket.create_server(("127.0.0.1", port))
        # A timeout on accept() lets the accept loop notice stop() without any other trick.
        self.listener.settimeout(0.1)
        self.address: tuple[str, int] = self.listener.getsockname()[:2]
        self.dropped: dict[str, str] = {}  # peer address -> why we dropped it
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._clients: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._tokens = itertools.count(1)

    def serve_forever(self) -> None:
        with self.listener:
            while not self._stopping.is_set():
                try:
                    conn, addr = self.listener.accept()
                except TimeoutError:
                    continue
                peer = f"{addr[0]}:{addr[1]}"
                if self.keepalive is not None:
                    enable_keepalive(conn, *self.keepalive)
                with self._lock:
                    self._clients.add(conn)
                thread = threading.Thread(target=self._handle, args=(conn, peer), daemon=True)
                self._threads.append(thread)
                thread.start()

    def stop(self) -> None:
        """Stop accepting and wake every client thread (shutdown makes their recv return b"")."""
        self._stopping.set()
        with self._lock:
            for conn in self._clients:
                with contextlib.suppress(OSError):  # already gone
                    conn.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(timeout=2)

    def _handle(self, conn: socket.socket, peer: str) -> None:
        reason = self._talk(conn, peer)
        with self._lock:
            self.dropped[peer] = reason
            self._clients.discard(conn)
        conn.close()

    def _talk(self, conn: socket.socket, peer: str) -> str:
        """Serve one client until it leaves or times out; return why the connection ended."""
        waiting_for: str | None = None  # the PING token we sent, while we wait for an answer
        pending = b""
        conn.settimeout(self.ping_interval)
        while not self._stopping.is_set():
            try:
                data = conn.recv(4096)
            except TimeoutError:
                if waiting_for is not None:
                    reason = f"Ping timeout: {self.ping_timeout:g} seconds"
                    self._send(conn, f"ERROR :Closing Link: {peer} ({reason})")
                    return reason
                waiting_for = f"chatkit-{next(self._tokens)}"
                self._send(conn, f"PING :{waiting_for}")
                conn.settimeout(self.ping_timeout)
                continue
            except OSError as exc:  # e.g. ECONNRESET, or ETIMEDOUT from keepalive
                return f"Read error: {exc.strerror}"
            if not data:
                return "Connection closed"
            # Any bytes prove the peer alive, not only the PONG: reset the clock.
            waiting_for = None
            conn.settimeout(self.ping_interval)
            pending += data
            *lines, pending = pending.split(b"\n")
            for raw in lines:
                words = raw.decode("utf-8", "replace").strip().split(" ", 1)
                if words[0].upper() == "PING" and len(words) == 2:
                    self._send(conn, f"PONG {words[1]}")  # the client may check us too
                elif words[0].upper() == "QUIT":
                    self._send(conn, "ERROR :Closing Link (Client Quit)")
                    return "Quit"
        return "Server shutting down"

    def _send(self, conn: socket.socket, line: str) -> None:
        with contextlib.suppress(OSError):  # the peer is gone; the next recv will tell us
            conn.sendall(line.encode() + b"\r\n")


# --8<-- [end:pinger]

# --- Step 4: clients that behave, and one that does not -----------------------------------------


# --8<-- [start:clients]
def read_lines_until(
    sock: socket.socket, stop: Callable[[str], bool], deadline: float
) -> list[str]:
    """Read CRLF lines until ``stop(line)`` is true, the peer closes, or ``deadline`` passes."""
    lines: list[str] = []
    pending = b""
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data = sock.recv(4096)
        except TimeoutError:
            break
        if not data:
            lines.append("<connection closed by server>")
            break
        pending += data
        *complete, pending = pending.split(b"\r\n")
        for raw in complete:
            lines.append(raw.decode())
            if stop(lines[-1]):
                return lines
    return lines


def lively_client(address: tuple[str, int], pings: int, deadline: float) -> list[str]:
    """Answer ``pings`` PINGs with PONG, then check the server still answers us."""
    with socket.create_connection(address, timeout=1) as sock:
        seen: list[str] = []
        for _ in range(pings):
            got = read_lines_until(sock, lambda line: line.startswith("PING "), deadline)
            seen += got
            if not got or not got[-1].startswith("PING "):
                return seen
            sock.sendall(b"PONG " + got[-1][5:].encode() + b"\r\n")
        sock.sendall(b"PING :are-you-there\r\n")
        seen += read_lines_until(sock, lambda line: line.startswith("PONG "), deadline)
        sock.sendall(b"QUIT\r\n")
        return seen


# --8<-- [end:clients]


def run(ping_interval: float, ping_timeout: float, say: Callable[[str], None]) -> list[str]:
    """Walk through the four steps; return a list of what did not behave as the lesson says."""
    problems: list[str] = []
    server = PingServer(ping_interval, ping_timeout)
    server_thread = threading.Thread(target=server.serve_forever, daemon=True)
    server_thread.start()
    try:
        say(
            f"server on {server.address[0]}:{server.address[1]}, PING after "
            f"{ping_interval:g}s of silence, drop {ping_timeout:g}s later"
        )

        # Step 1: a short timeout on a connection where the server has nothing to say yet.
        with socket.create_connection(server.address, timeout=1) as probe:
            short = ping_interval / 3
            data, waited = recv_with_timeout(probe, short)
            say(f"step 1: recv with settimeout({short:.2f}) gave {data!r} after {waited:.2f}s")
            # Never sooner than asked; later only by how long a busy machine takes to wake us.
            if data is not None or not short * 0.9 <= waited < short + 5:
                problems.append(f"recv with a {short:.2f}s timeout returned {data!r} in {waited}")

            # Step 2: the keepalive knobs, read back from the kernel.
            applied = enable_keepalive(probe, idle=10, interval=5, count=3)
            say(
                f"step 2: keepalive set to {applied}; system defaults {system_keepalive_defaults()}"
            )
            if applied["SO_KEEPALIVE"] == 0:
                problems.append("SO_KEEPALIVE did not stick")
            probe.sendall(b"QUIT\r\n")

        # Step 3 and 4: a lively client and a silent one, at the same time.
        # Generous: this bounds only how long we wait for what must arrive, on a busy machine.
        deadline = time.monotonic() + ping_interval * 3 + ping_timeout * 2 + 10
        lively: list[str] = []
        lively_thread = threading.Thread(
            target=lambda: lively.extend(lively_client(server.address, 2, deadline)), daemon=True
        )
        lively_thread.start()
        with socket.create_connection(server.address, timeout=1) as silent:
            silent_peer = "{}:{}".format(*silent.getsockname()[:2])
            started = time.monotonic()
            # The silent client reads but never answers: a peer whose cable was pulled.
            seen = read_lines_until(silent, lambda line: line.startswith("<"), deadline)
            took = time.monotonic() - started
        say(f"step 3: the silent client saw {seen} and was dropped after {took:.2f}s")
        expected = ping_interval + ping_timeout
        if not (seen and seen[-1] == "<connection closed by server>"):
            problems.append(f"the silent client was not dropped: it saw {seen}")
        elif not expected * 0.9 <= took <= expected + 5:
            problems.append(f"the silent client was dropped after {took:.2f}s, not ~{expected}s")
        if not any(line.startswith("ERROR :Closing Link") for line in seen):
            problems.append("the silent client was not told why it was dropped")
        lively_thread.join(timeout=max(0.1, deadline - time.monotonic()))
        say(f"step 4: the lively client saw {lively}")
        if sum(line.startswith("PING ") for line in lively) != 2 or not lively[-1].startswith(
            "PONG "
        ):
            problems.append(f"the lively client did not stay connected: {lively}")
        say(f"server's log of dropped peers: {server.dropped}")
        if not server.dropped.get(silent_peer, "").startswith("Ping timeout"):
            problems.append(f"the server did not record a ping timeout for {silent_peer}")
    finally:
        server.stop()
        server_thread.join(timeout=2)
    return problems


def serve(port: int, keepalive: bool) -> None:
    """Run a PingServer until Ctrl-C, so you can watch it with ``nc 127.0.0.1 PORT``."""
    probes = (10, 5, 3) if keepalive else None
    server = PingServer(ping_interval=10, ping_timeout=10, port=port, keepalive=probes)
    print(
        f"listening on {server.address[0]}:{server.address[1]}; try: nc -C 127.0.0.1 "
        f"{server.address[1]}  (stay silent, or answer PONG :token)"
    )
    if probes is not None:
        print("keepalive on every accepted connection: idle 10 s, then 3 probes 5 s apart")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("\nbye; dropped:", server.dropped)
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="self-check, exit 0 on success")
    parser.add_argument("--serve", action="store_true", help="run the server for nc")
    parser.add_argument("--port", type=int, default=6670, help="port for --serve")
    parser.add_argument(
        "--keepalive", action="store_true", help="with --serve: SO_KEEPALIVE on every client"
    )
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.port, args.keepalive)
        return 0
    if args.check:
        # A second to answer a PING: plenty for the lively client even on a loaded machine.
        problems = run(ping_interval=0.5, ping_timeout=1.0, say=lambda _text: None)
    else:
        problems = run(ping_interval=1.5, ping_timeout=1.5, say=print)
    for problem in problems:
        print("FAIL:", problem, file=sys.stderr)
    if args.check and not problems:
        print("lesson 10 check passed: the silent peer was dropped, the lively one stayed")
    return 1 if problems else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except OSError as error:
        # Only bind() fails like this: a port in use, or one we may not use. Say so plainly.
        if error.errno not in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL):
            raise
        sys.exit(f"cannot listen: {error.strerror}. Is the lesson already running? Try --port.")
