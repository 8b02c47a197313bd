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
import socket
import sys
import threading
import time


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
        with socket.create_connection(listener.getsockname(), timeout=2):
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

    def run(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
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
                if not data:
                    self.clients.remove(conn)
                    conn.close()
                    continue
                conn.send(data)  # may send only part: lesson 7 fixes this


# --8<-- [end:busy]


# --8<-- [start:check]
def cpu_while(work: threading.Thread, seconds: float) -> float:
    """Fraction of one core this process used while ``work`` ran for ``seconds``."""
    cpu_before = time.process_time()  # CPU time of all our threads, not wall-clock time
    work.start()
    work.join(timeout=seconds + 2)
    return (time.process_time() - cpu_before) / seconds


def check(seconds: float = 0.5) -> list[str]:
    failures: list[str] = []
    show_would_block(failures)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        server = BusyEchoServer(listener)
        busy = threading.Thread(target=server.run, args=(seconds,))
        client = socket.create_connection(listener.getsockname(), timeout=2)
        with client:
            client.sendall(b"ping")  # one message in the measured half second, then silence
            busy_share = cpu_while(busy, seconds)
            echoed = client.recv(1024)
            print(f"3. the busy loop ran {server.turns:,} turns to echo {echoed!r}")
            print(f"   and used {busy_share:.0%} of a core for {seconds} s")
            # The same wait done by blocking: the thread sleeps in recv(), the kernel wakes it.
            client.settimeout(seconds)
            idle_share = cpu_while(
                threading.Thread(target=recv_or_timeout, args=(client,)), seconds
            )
            print(f"4. waiting {seconds} s in a blocking recv() used {idle_share:.0%} of a core")
    if echoed != b"ping":
        failures.append(f"the busy server echoed {echoed!r}")
    # A busy thread gets a whole core on an idle machine and less on a loaded one, so the bar
    # is low: thousands of useless turns, and far more CPU than sleeping (next to nothing).
    if server.turns < 1000 or busy_share < 0.1 or busy_share < 5 * idle_share:
        failures.append(f"busy loop {busy_share:.0%} vs blocking wait {idle_share:.0%} of a core")
    return failures


def recv_or_timeout(conn: socket.socket) -> None:
    with contextlib.suppress(TimeoutError):
        conn.recv(1024)


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
    sys.exit(main())
