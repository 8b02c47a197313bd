"""Lesson 7: One thread, many sockets: selectors.

Read first: lesson 6 (non-blocking sockets and the busy loop). Next: lesson 8, asyncio.

The one idea: instead of asking every socket again and again (lesson 6), ask the kernel once
"wake me when any of these can make progress" (select/poll/epoll, wrapped by `selectors`).
Readiness is only a hint that one call will not block, not a promise that it moves all your
bytes: send() on a ready socket may take part of them. So each client gets an outbox (a
bytearray): we append what we owe it, send what the socket takes, keep the rest, and ask for
EVENT_WRITE only while the outbox is not empty (a socket with room to write is ready almost
always; asking all the time is lesson 6's busy loop again). CPython's selectors example says
`conn.send(data)  # Hope it won't block`. This lesson stops hoping.

Run it:
    python lessons/07_selectors.py            # echo server on 127.0.0.1:7007, Ctrl-C stops
    python lessons/07_selectors.py --check    # self-check on a free port, exit 0 if all holds

What to observe: several `nc 127.0.0.1 7007` are served by one thread at ~0% CPU. Make a
client that sends but never reads: `cat /dev/zero | nc 127.0.0.1 7007 > /dev/null`, then
Ctrl-Z it. The server's report says it paused reading from that client (1 paused now) and its
outbox stays at the mark; the others go on as before.

What this is not: a chat server. It echoes; chatkit's selectors backend does the same dance
for a room (and drops, rather than pauses, a client that falls too far behind).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import random
import selectors
import socket
import sys
import threading
import time


# --8<-- [start:server]
class SelectorEchoServer:
    """Echo server: one thread, non-blocking sockets, an outbox per client."""

    #: Stop reading from a client whose unsent echo passes this. It cannot keep up, so TCP's
    #: flow control should slow *it* down, instead of us buffering without limit.
    HIGH_WATER = 64 * 1024

    def __init__(self, listener: socket.socket) -> None:
        listener.setblocking(False)
        self.selector = selectors.DefaultSelector()
        self.selector.register(listener, selectors.EVENT_READ)
        self.listener = listener
        self.outboxes: dict[socket.socket, bytearray] = {}
        self.closing: set[socket.socket] = set()  # sent EOF: flush their echo, then close
        self.partial_sends = 0
        self.paused: set[socket.socket] = set()  # clients we stopped reading from
        self.pauses = 0  # how often we stopped reading from someone
        self.paused_once = threading.Event()  # for the check: backpressure happened

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            # 1. Sleep until some socket is ready (or 0.1 s passes, to notice `stop`).
            for key, mask in self.selector.select(timeout=0.1):
                conn = key.fileobj
                assert isinstance(conn, socket.socket)
                if conn is self.listener:
                    self.accept()
                    continue
                if mask & selectors.EVENT_READ:
                    self.read(conn)
                if mask & selectors.EVENT_WRITE and conn in self.outboxes:
                    self.write(conn)

    def accept(self) -> None:
        conn, _peer = self.listener.accept()
        conn.setblocking(False)
        # Shrink the kernel's send buffer (megabytes on loopback) so that partial sends and
        # pauses show up after kilobytes: the same behaviour, sooner (as in lesson 5).
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16 * 1024)
        self.outboxes[conn] = bytearray()
        self.selector.register(conn, selectors.EVENT_READ)

    def read(self, conn: socket.socket) -> None:
        try:
            data = conn.recv(4096)
        except BlockingIOError:
            return  # readiness was a hint, not a promise
        except OSError:
            data = b""
        if not data:
            self.closing.add(conn)  # the peer is done sending; it may still want its echo
        self.outboxes[conn] += data
        self.update_interest(conn)

    def write(self, conn: socket.socket) -> None:
        outbox = self.outboxes[conn]
        try:
            # 2. send() returns how many bytes it took. "Hope it won't block" ignores that.
            sent = conn.send(outbox)
        except BlockingIOError:
            return
        except OSError:
            self.close(conn)
            return
        if sent < len(outbox):
            self.partial_sends += 1
        del outbox[:sent]  # keep exactly what the kernel did not take
        self.update_interest(conn)

    def update_interest(self, conn: socket.socket) -> None:
        """Ask for exactly the events this client needs now."""
        outbox = self.outboxes[conn]
        if conn in self.closing and not outbox:
            self.close(conn)
            return
        events = 0
        if conn in self.closing:
            pass  # nothing more to read from it
        elif len(outbox) < self.HIGH_WATER:
            events |= selectors.EVENT_READ
            self.paused.discard(conn)
        elif conn not in self.paused:
            self.paused.add(conn)
            self.pauses += 1
            self.paused_once.set()
        if outbox:
            events |= selectors.EVENT_WRITE  # 3. only while we owe this client bytes
        self.selector.modify(conn, events)

    def close(self, conn: socket.socket) -> None:
        self.selector.unregister(conn)
        del self.outboxes[conn]
        self.closing.discard(conn)
        self.paused.discard(conn)
        conn.close()


# --8<-- [end:server]


# --8<-- [start:check]
def wakeups(events: int, seconds: float) -> int:
    """How often select() returns in ``seconds`` for an idle, connected socket."""
    with (
        socket.create_server(("127.0.0.1", 0)) as listener,
        socket.create_connection(listener.getsockname()) as idle,
        selectors.DefaultSelector() as sel,
    ):
        sel.register(idle, events)
        count, deadline = 0, time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0 and count < 1_000_000:
            count += bool(sel.select(timeout=left))
        return count


def check() -> list[str]:
    failures = []
    always = wakeups(selectors.EVENT_READ | selectors.EVENT_WRITE, 0.2)
    needed = wakeups(selectors.EVENT_READ, 0.2)
    print(
        f"1. in 0.2 s select() woke {always:,} times with EVENT_WRITE always on, {needed} without"
    )
    if always < 10 or needed != 0:
        failures.append("EVENT_WRITE on an idle socket did not make select() spin")

    with socket.create_server(("127.0.0.1", 0)) as listener:
        server, stop = SelectorEchoServer(listener), threading.Event()
        threading.Thread(target=server.run, args=(stop,), daemon=True).start()
        address = listener.getsockname()
        # A slow client: sends 2 MB of echo-to-be, reads none of it (yet).
        slow = socket.socket()
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.settimeout(5)
        slow.connect(address)
        payload = random.Random(7).randbytes(2_000_000)
        threading.Thread(target=slow.sendall, args=(payload,), daemon=True).start()
        paused = server.paused_once.wait(timeout=5)
        print(f"2. the server paused reading from the slow client: {paused}")

        with socket.create_connection(address, timeout=5) as fast:
            fast.sendall(b"hello")
            try:
                echoed = fast.recv(1024)
            except TimeoutError:
                echoed = b"(nothing in 5 s)"
        print(f"3. meanwhile a second client got its echo: {echoed!r}")

        received = bytearray()  # now the slow client reads at last
        with contextlib.suppress(TimeoutError):  # 5 s of silence: the rest is not coming
            while len(received) < len(payload) and (chunk := slow.recv(1 << 20)):
                received += chunk
        slow.close()
        stop.set()
    intact = received == payload
    print(f"4. the slow client then read all {len(received):,} bytes back, intact: {intact}")
    print(f"   the server handled {server.partial_sends} partial sends on the way")
    if not paused or echoed != b"hello" or not intact or server.partial_sends == 0:
        failures.append("the server did not pause, echo, or deliver intact with partial sends")
    return failures


# --8<-- [end:check]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="run the self-check and exit")
    parser.add_argument("--port", type=int, default=7007, help="demo port (default 7007)")
    args = parser.parse_args()
    if args.check:
        failures = check()
        for failure in failures:
            print(f"FAILED: {failure}")
        print("lesson 7 check:", "FAILED" if failures else "OK")
        return 1 if failures else 0
    with socket.create_server(("127.0.0.1", args.port)) as listener:
        print(f"selectors echo server on 127.0.0.1:{args.port}, one thread. Ctrl-C stops.")
        server, stop = SelectorEchoServer(listener), threading.Event()
        thread = threading.Thread(target=server.run, args=(stop,), daemon=True)
        thread.start()
        try:
            report_while_running(server, thread)
        except KeyboardInterrupt:
            print("\nStopped.")
        stop.set()
        thread.join(timeout=5)
    return 0


def report_while_running(server: SelectorEchoServer, thread: threading.Thread) -> None:
    """Every 2 s, if anything changed, say what the server thread is doing."""
    last = ""
    while thread.is_alive():
        thread.join(timeout=2)
        # Reading another thread's counters without a lock: fine for a progress report.
        outboxes = list(server.outboxes.values())
        report = (
            f"{len(outboxes)} client(s), {len(server.paused)} paused now, "
            f"{sum(map(len, outboxes)):,} bytes in outboxes, {server.pauses:,} pauses "
            f"and {server.partial_sends:,} partial sends so far"
        )
        if report != last:
            print(report)
            last = report


if __name__ == "__main__":
    try:
        sys.exit(main())
    except OSError as error:
        # Only bind() fails like this: a port in use, or one we may not use. Say so plainly.
        if error.errno not in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL):
            raise
        sys.exit(f"cannot listen: {error.strerror}. Is the lesson already running? Try --port.")
