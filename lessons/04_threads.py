"""Lesson 4: A thread per client, shared state and locks.

Read first: lesson 3 (framing). Next: lesson 5, the broadcast chat room and its stall.

The one idea: give every client its own thread and nobody waits for anybody else's recv()
(the fix for lesson 2). The price is shared state: when two threads read-modify-write the same
variable, one update can overwrite the other and vanish. A lock makes the read-modify-write one
step that no other thread can cut into.

Run it:
    python lessons/04_threads.py            # echo server on 127.0.0.1:7004 counting lines twice
    python lessons/04_threads.py --check    # self-check on a free port, exit 0 if all holds

What to observe: connect several `nc 127.0.0.1 7004` at once, or flood it with three clients at
the same time (-N: close when seq is done):
    for i in 1 2 3; do seq 5000 | nc -N 127.0.0.1 7004 > /dev/null & done; wait
The server counts every line with an unlocked and a locked counter; after a flood the unlocked
one is short.

What this is not: how fast a race shows up in your code. Python switches threads only now and
then, so a plain `count += 1` races rarely; the unlocked counter below yields the processor in
the middle of its update (time.sleep(0)) to make a rare bug happen every run. Rare is worse:
it ships.
"""

from __future__ import annotations

import argparse
import errno
import socket
import sys
import threading
import time


# --8<-- [start:counters]
class UnlockedCounter:
    """count = count + 1 in two steps, with a thread switch allowed in between."""

    def __init__(self) -> None:
        self.value = 0

    def add_one(self) -> None:
        current = self.value  # 1. read
        time.sleep(0)  # 2. another thread may run here, read the same value, and write it
        self.value = current + 1  # 3. write: if it did, one of the two updates is lost


class LockedCounter(UnlockedCounter):
    """The same steps, but a lock lets one thread at a time through them."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()

    def add_one(self) -> None:
        with self._lock:  # other threads wait here until we leave the block
            super().add_one()


# --8<-- [end:counters]


# --8<-- [start:server]
class ThreadPerClientServer:
    """Echo lines back; one thread per client; count lines with both counters."""

    def __init__(self, listener: socket.socket, *, narrate: bool = True) -> None:
        self.listener = listener
        self.narrate = narrate
        self.unlocked = UnlockedCounter()
        self.locked = LockedCounter()
        # The client set is shared too: guard it with its own lock. (Iterating a set while
        # another thread adds to it raises "RuntimeError: Set changed size during iteration".)
        self.clients: set[socket.socket] = set()
        self.clients_lock = threading.Lock()

    def accept_forever(self, max_clients: int | None = None) -> None:
        accepted = 0
        while max_clients is None or accepted < max_clients:
            conn, _peer = self.listener.accept()
            # 1. A new thread per client: this loop goes straight back to accept().
            threading.Thread(target=self.handle, args=(conn,), daemon=True).start()
            accepted += 1

    def handle(self, conn: socket.socket) -> None:
        with self.clients_lock:
            self.clients.add(conn)
        try:
            # 2. makefile() gives us a buffered reader that frames lines for us (lesson 3).
            with conn, conn.makefile("rb") as lines:
                for line in lines:
                    self.unlocked.add_one()
                    self.locked.add_one()
                    # 3. Blocking here only blocks this client's own thread.
                    conn.sendall(line)
        except OSError:
            pass  # the client vanished; the finally below forgets it all the same
        finally:
            with self.clients_lock:
                self.clients.discard(conn)
                remaining = len(self.clients)
            if self.narrate:
                print(
                    f"a client left ({remaining} connected); lines counted: "
                    f"unlocked={self.unlocked.value} locked={self.locked.value}"
                )


# --8<-- [end:server]


# --8<-- [start:check]
def check(clients: int = 8, lines_each: int = 200) -> list[str]:
    failures = []
    with socket.create_server(("127.0.0.1", 0)) as listener:
        server = ThreadPerClientServer(listener, narrate=False)
        threading.Thread(target=server.accept_forever, args=(clients + 2,), daemon=True).start()
        address = listener.getsockname()

        # A stays connected and silent; B must not wait for it (compare lesson 2).
        with socket.create_connection(address, timeout=5) as a:
            with socket.create_connection(address, timeout=5) as b:
                b.sendall(b"hello from B\n")
                echoed = b.recv(1024)
                print(f"1. B got {echoed!r} back while A sat connected and silent")
                if echoed != b"hello from B\n":
                    failures.append(f"B got {echoed!r}")
            a.sendall(b"A was here\n")
            a.recv(1024)

        # Many clients send at once, so their handler threads run side by side.
        socks = [socket.create_connection(address, timeout=5) for _ in range(clients)]
        for sock in socks:
            sock.sendall(b"".join(b"line %d\n" % n for n in range(lines_each)))
        for sock in socks:
            with sock, sock.makefile("rb") as echoes:
                for _ in range(lines_each):
                    echoes.readline()  # once every echo is back, every line was counted
    expected = 2 + clients * lines_each
    print(f"2. {clients} clients sent {expected - 2} lines at once (plus 2 from A and B)")
    print(f"   unlocked counter: {server.unlocked.value}, lost {expected - server.unlocked.value}")
    print(f"   locked counter:   {server.locked.value}")
    if server.unlocked.value >= expected:
        failures.append("the unlocked counter lost no update this time")
    if server.locked.value != expected:
        failures.append(f"the locked counter says {server.locked.value}, expected {expected}")
    return failures


# --8<-- [end:check]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="run the self-check and exit")
    parser.add_argument("--port", type=int, default=7004, help="demo port (default 7004)")
    args = parser.parse_args()
    if args.check:
        failures = check()
        for failure in failures:
            print(f"FAILED: {failure}")
        print("lesson 4 check:", "FAILED" if failures else "OK")
        return 1 if failures else 0
    with socket.create_server(("127.0.0.1", args.port)) as listener:
        print(f"Echo server on 127.0.0.1:{args.port}, a thread per client. Ctrl-C stops.")
        try:
            ThreadPerClientServer(listener).accept_forever()
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
