"""Lesson 6: Non-blocking sockets and the busy loop.

Read first: lesson 5 (threads, and the stall they can hide). Next: lesson 7, selectors.

The one idea: a socket in non-blocking mode never makes you wait. If accept(), recv() or send()
cannot make progress right now, it raises BlockingIOError at once instead of sleeping, and
send() may take only part of your bytes. That lets one thread juggle many sockets, but only
if it knows *when* to try again. Trying again and again in a loop ("busy waiting") works, and
burns a whole CPU core doing nothing. Lesson 7 asks the kernel to wake us instead.

Run it:
    python lessons/06_nonblocking.py            # a busy-loop echo server on 127.0.0.1:7006
    python lessons/06_nonblocking.py --check    # self-check on a free port, exit 0 if all holds

What to observe: start the server and watch `top` (or the server's own report every 2 s):
about 100% CPU while nobody sends anything. Connect with `nc 127.0.0.1 7006`; echo works, for
several clients at once, from one thread, and the CPU stays pegged.

What this is not: a server to copy. It echoes with a bare send() that may send less than asked
(see step 2 of the check), and it never sleeps.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import socket
import sys
import time
from collections.abc import Callable

try:
    import resource  # POSIX only: the kernel's count of how often a process slept
except ImportError:
    resource = None  # type: ignore[assignment]


# --8<-- [start:errors]
def show_would_block(failures: list[str]) -> None:
    """Each call that would have waited raises BlockingIOError instead."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.setblocking(False)
        try:
            listener.accept()
            failures.append("accept() with nobody connecting returned")
        except BlockingIOError:
            print("1. accept() with no connection waiting: BlockingIOError")
        with socket.create_connection(listener.getsockname(), timeout=5):
            conn, _ = listener.accept()
            with conn:
                conn.setblocking(False)  # accepted sockets start blocking: set it per socket
                try:
                    conn.recv(1024)
                    failures.append("recv() with no data returned")
                except BlockingIOError:
                    print("   recv() with no data yet: BlockingIOError")
                # 2. The client never reads, so its receive buffer and our send buffer fill.
                # send() then takes only what fits, and after that nothing at all.
                total, calls, partial = 0, 0, False
                while calls < 10_000:
                    calls += 1
                    try:
                        sent = conn.send(bytes(65536))
                    except BlockingIOError:
                        break
                    partial = partial or sent < 65536
                    total += sent
                print(f"2. send() took {total:,} bytes in {calls - 1} calls, then BlockingIOError;")
                print(f"   a send() that took only part of its 65,536 bytes: {partial}")
                if not partial and calls < 10_000:
                    print("   (this time every send() was whole or nothing; it varies)")
                if calls >= 10_000:
                    failures.append("send() never reported a full buffer")


# --8<-- [end:errors]


# --8<-- [start:busy]
class BusyEchoServer:
    """One thread, every socket non-blocking, and a loop that keeps asking."""

    def __init__(self, listener: socket.socket) -> None:
        listener.setblocking(False)
        self.listener = listener
        self.clients: list[socket.socket] = []
        self.turns = 0

    def run(self, seconds: float, max_turns: int | None = None) -> None:
        """Spin for ``seconds``, or until ``max_turns`` more turns, whichever comes first."""
        deadline = time.monotonic() + seconds
        last_turn = self.turns + max_turns if max_turns is not None else None
        while time.monotonic() < deadline and self.turns != last_turn:
            self.turns += 1
            try:
                conn, _ = self.listener.accept()
                conn.setblocking(False)
                self.clients.append(conn)
            except BlockingIOError:
                pass  # nobody new: check again next turn, immediately
            for conn in list(self.clients):
                try:
                    data = conn.recv(4096)
                except BlockingIOError:
                    continue  # nothing from this one: check again next turn, immediately
                except ConnectionResetError:
                    data = b""  # the peer vanished without a proper close: gone all the same
                if not data:
                    self.clients.remove(conn)
                    conn.close()
                    continue
                conn.send(data)  # may send only part: lesson 7 fixes this


# --8<-- [end:busy]


# --8<-- [start:check]
def voluntary_waits() -> int:
    """How often this process has gone to sleep waiting for something (a "voluntary context
    switch", counted by the kernel). A busy loop never does; that is what makes it busy."""
    if resource is None:  # not on this system (Windows): the CPU figures still tell
        return 0
    return resource.getrusage(resource.RUSAGE_SELF).ru_nvcsw


def measure(work: Callable[[], object]) -> tuple[float, float, int]:
    """CPU seconds, wall-clock seconds and voluntary waits that ``work()`` took."""
    cpu, wall, waits = time.process_time(), time.monotonic(), voluntary_waits()
    work()
    return time.process_time() - cpu, time.monotonic() - wall, voluntary_waits() - waits


def recv_or_timeout(conn: socket.socket) -> None:
    with contextlib.suppress(TimeoutError):
        conn.recv(1024)


def check(turns: int = 20_000) -> list[str]:
    failures: list[str] = []
    show_would_block(failures)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        server = BusyEchoServer(listener)
        with socket.create_connection(listener.getsockname(), timeout=5) as client:
            client.sendall(b"ping")  # one message, then silence
            # The busy server runs right here, for a fixed number of turns (10 s at most).
            busy_cpu, busy_wall, busy_waits = measure(lambda: server.run(10, max_turns=turns))
            echoed = client.recv(1024)
            print(f"3. {server.turns:,} turns of the busy loop to echo one {echoed!r}:")
            print(f"   {busy_cpu:.3f} s of CPU in {busy_wall:.3f} s; it went to sleep {busy_waits}")
            print("   times: the loop never waits for anything, it only asks again")
            # The same wait done by blocking: the thread sleeps in recv(), the kernel wakes it.
            client.settimeout(busy_wall)
            idle_cpu, _, idle_waits = measure(lambda: recv_or_timeout(client))
            print(f"4. waiting as long in a blocking recv(): {idle_cpu:.3f} s of CPU,")
            print(f"   {idle_waits} wait(s): the thread slept until the kernel woke it")
    if echoed != b"ping":
        failures.append(f"the busy server echoed {echoed!r}")
    # Counting turns and waits, not seconds, keeps this true on a loaded machine: a busy loop
    # gets less of a core there, but it still burns CPU on every turn and never goes to sleep.
    if busy_cpu < 0.01 or busy_cpu < 10 * idle_cpu:
        failures.append(f"busy loop: {busy_cpu:.3f} s of CPU, blocking wait: {idle_cpu:.3f} s")
    if busy_waits > turns // 100:
        failures.append(f"the busy loop went to sleep {busy_waits} times in {turns} turns")
    return failures


# --8<-- [end:check]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="run the self-check and exit")
    parser.add_argument("--port", type=int, default=7006, help="demo port (default 7006)")
    args = parser.parse_args()
    if args.check:
        failures = check()
        for failure in failures:
            print(f"FAILED: {failure}")
        print("lesson 6 check:", "FAILED" if failures else "OK")
        return 1 if failures else 0
    with socket.create_server(("127.0.0.1", args.port)) as listener:
        server = BusyEchoServer(listener)
        print(f"Busy-loop echo server on 127.0.0.1:{args.port}. Watch `top`. Ctrl-C stops.")
        try:
            while True:
                turns, cpu = server.turns, time.process_time()
                server.run(2.0)
                print(
                    f"last 2 s: {server.turns - turns:,} turns, "
                    f"{(time.process_time() - cpu) / 2:.0%} of a core, "
                    f"{len(server.clients)} client(s)"
                )
        except KeyboardInterrupt:
            print("\nStopped.")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except OSError as error:
        # Only bind() fails like this: a port in use, or one we may not use. Say so plainly.
        if error.errno not in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL):
            raise
        sys.exit(f"cannot listen: {error.strerror}. Is the lesson already running? Try --port.")
