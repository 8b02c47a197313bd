"""Lesson 5: The broadcast chat room and the slow-client stall.

Read first: lesson 4 (a thread per client and locks). Next: lesson 6, non-blocking sockets.

The one idea: in a chat room one client's line goes to everybody, and the obvious code,
`for each client: client.sendall(line)`, lets ONE client that stops reading freeze the whole
room. sendall() blocks once that client's kernel buffers are full; the sending thread holds the
room's lock while it waits, so every other thread queues up behind it. The fix: never touch a
socket while holding the lock. Each client gets a bounded outbox (a queue) and its own writer
thread; broadcasting only puts the line in the outboxes, and a client whose outbox is full is
too slow and gets dropped, so the others never wait for it.

Run it:
    python lessons/05_broadcast_stall.py            # the naive room on 127.0.0.1:7005
    python lessons/05_broadcast_stall.py --fixed    # the room with outboxes and writer threads
    python lessons/05_broadcast_stall.py --check    # both, on a free port; exit 0 if all holds

What to observe: join with three `nc 127.0.0.1 7005`. Press Ctrl-Z in one of them: it stops
reading. Then let a fourth terminal talk a lot (5000 lines, a few hundred a second):
`for i in $(seq 5000); do echo "$i: $(printf 'all work and no play %.0s' 1 2 3 4)"; sleep 0.001;
done | nc -q1 127.0.0.1 7005 > /dev/null`.
In the naive room the other clients freeze mid-stream; what they type goes nowhere until you
`fg` the stopped nc. With --fixed the server drops the stopped client and the others carry on.

What this is not: the whole story. A real server also limits bytes (not lines), tells the
dropped client why (ERROR :SendQ exceeded), and may use one thread for all (lessons 7, 8).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import queue
import socket
import sys
import threading
import time

#: Kernel buffers on loopback hold megabytes. We shrink the server's send buffers so a client
#: that stops reading jams after kilobytes instead: the same stall, sooner.
SEND_BUFFER = 4096


# --8<-- [start:naive]
class NaiveRoom:
    """Broadcast with sendall() under the room lock: the classic bug."""

    def __init__(self) -> None:
        self.members: list[socket.socket] = []
        self.lock = threading.Lock()

    def join(self, conn: socket.socket) -> None:
        with self.lock:
            self.members.append(conn)

    def leave(self, conn: socket.socket) -> None:
        with self.lock:
            self.members.remove(conn)

    def broadcast(self, sender: socket.socket, line: bytes) -> None:
        with self.lock:
            for conn in self.members:
                if conn is not sender:
                    # sendall() blocks while this member's buffers are full, and we hold the
                    # lock: every other thread now waits in `with self.lock`. (Without the
                    # lock, each sender's thread would block here in turn: the same freeze.)
                    # An OSError means the member is gone; its own reader thread will notice.
                    with contextlib.suppress(OSError):
                        conn.sendall(line)


# --8<-- [end:naive]


# --8<-- [start:fixed]
class QueuedRoom:
    """Broadcast by queueing: the lock guards only the outboxes, never a socket call."""

    #: How far a member may fall behind (in lines) before it counts as too slow.
    OUTBOX_LINES = 100

    def __init__(self) -> None:
        self.outboxes: dict[socket.socket, queue.Queue[bytes | None]] = {}
        self.lock = threading.Lock()
        self.dropped: list[socket.socket] = []

    def join(self, conn: socket.socket) -> None:
        outbox: queue.Queue[bytes | None] = queue.Queue(maxsize=self.OUTBOX_LINES)
        with self.lock:
            self.outboxes[conn] = outbox
        threading.Thread(target=self._write, args=(conn, outbox), daemon=True).start()

    def _write(self, conn: socket.socket, outbox: queue.Queue[bytes | None]) -> None:
        # 1. One writer thread per member: if this sendall blocks, only this member waits.
        while (line := outbox.get()) is not None:
            try:
                conn.sendall(line)
            except OSError:
                return  # the member left or was dropped

    def leave(self, conn: socket.socket) -> bool:
        """Forget a member; False if it was already gone (dropped, or left by itself)."""
        with self.lock:
            outbox = self.outboxes.pop(conn, None)
        if outbox is None:
            return False
        # Wake the writer so it exits. If the outbox is full, the writer is stuck in
        # sendall() instead, and the shutdown() that follows leave() ends it.
        with contextlib.suppress(queue.Full):
            outbox.put_nowait(None)
        return True

    def broadcast(self, sender: socket.socket, line: bytes) -> None:
        too_slow = []
        with self.lock:
            for conn, outbox in self.outboxes.items():
                if conn is sender:
                    continue
                try:
                    outbox.put_nowait(line)  # 2. never blocks
                except queue.Full:
                    too_slow.append(conn)
        for conn in too_slow:
            # 3. Drop the member that cannot keep up (unless another thread just did).
            if not self.leave(conn):
                continue
            self.dropped.append(conn)
            print(f"dropping a member: {self.OUTBOX_LINES} lines behind")
            # shutdown() wakes its writer out of the blocked sendall() (close() alone would
            # not) and its reader out of recv(); the reader then closes the socket.
            with contextlib.suppress(OSError):  # it may have just hung up by itself
                conn.shutdown(socket.SHUT_RDWR)


# --8<-- [end:fixed]


def serve(listener: socket.socket, room: NaiveRoom | QueuedRoom, max_clients: int = 1000) -> None:
    """Accept members; a reader thread per member broadcasts every line it receives."""
    for _ in range(max_clients):
        conn, _peer = listener.accept()
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
        # Joining here, before the next accept(), keeps the join order the connect order.
        room.join(conn)
        threading.Thread(target=read_member, args=(room, conn), daemon=True).start()


def read_member(room: NaiveRoom | QueuedRoom, conn: socket.socket) -> None:
    try:
        with conn.makefile("rb") as lines:
            for line in lines:
                room.broadcast(conn, line)
    except OSError:
        pass
    finally:
        room.leave(conn)
        with contextlib.suppress(OSError):
            conn.shutdown(socket.SHUT_RDWR)  # wakes this member's writer if it is blocked
        conn.close()


# --8<-- [start:check]
class Member:
    """A test client whose reader thread collects lines, so the check can wait with a deadline."""

    def __init__(self, address: tuple[str, int], *, slow: bool = False) -> None:
        self.sock = socket.socket()
        if slow:  # a small receive buffer (set before connect: it sizes the TCP window)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.connect(address)
        self.lines: queue.Queue[bytes] = queue.Queue()
        if not slow:  # the slow member never reads
            threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            with self.sock.makefile("rb") as lines:
                for line in lines:
                    self.lines.put(line)
        except OSError:
            pass

    def hears(self, text: bytes, timeout: float) -> bool:
        """True if a line containing ``text`` arrives within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with contextlib.suppress(queue.Empty):
            while (left := deadline - time.monotonic()) > 0:
                if text in self.lines.get(timeout=left):
                    return True
        return False


def run_room(room: NaiveRoom | QueuedRoom, patience: float, lines: int = 300) -> dict[str, bool]:
    """One slow member (never reads), a talker, a reader; what got through?

    ``patience`` is how long a silence counts as a stall. A stall lasts forever, so half a
    second shows it; the fixed room gets longer, so that a busy machine cannot fail it.
    """
    with socket.create_server(("127.0.0.1", 0)) as listener:
        threading.Thread(target=serve, args=(listener, room, 3), daemon=True).start()
        address = listener.getsockname()
        slow, reader, talker = Member(address, slow=True), Member(address), Member(address)
        seen: dict[str, bool] = {}
        # Everybody has joined once the reader hears the talker (joins happen in order).
        talker.sock.sendall(b"hello everybody\n")
        seen["room ready"] = reader.hears(b"hello everybody", timeout=5)

        # The talker chats at the reader's pace: a line, then wait until the reader has it.
        heard = 0
        while heard < lines:
            talker.sock.sendall(b"line %03d %s\n" % (heard, b"x" * 1000))
            if not reader.hears(b"line %03d" % heard, timeout=patience):
                break
            heard += 1
        print(f"{type(room).__name__}: the reader heard {heard} of {lines} lines")
        seen["reader heard every line"] = heard == lines
        reader.sock.sendall(b"is anybody there?\n")
        seen["talker heard reader"] = talker.hears(b"anybody", timeout=patience)

        slow.sock.close()  # the slow member hangs up at last
        late = seen["talker heard reader"] or talker.hears(b"anybody", timeout=5)
        seen["talker heard reader after slow left"] = late
        reader.sock.close()
        talker.sock.close()
    return seen


def check() -> list[str]:
    failures = []
    naive = run_room(NaiveRoom(), patience=0.5)
    fixed = run_room(fixed_room := QueuedRoom(), patience=5)
    for name, seen in (("naive", naive), ("fixed", fixed)):
        print(f"{name} room:")
        for what, happened in seen.items():
            print(f"   {what}: {'yes' if happened else 'NO'}")
    stalled = {
        "room ready": True,
        "reader heard every line": False,
        "talker heard reader": False,
        "talker heard reader after slow left": True,
    }
    if naive != stalled:
        failures.append(f"the naive room did not stall as expected: {naive}")
    if not all(fixed.values()):
        failures.append(f"the fixed room did not deliver everything: {fixed}")
    if not fixed_room.dropped:
        failures.append("the fixed room never dropped the slow member")
    return failures


# --8<-- [end:check]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="run the self-check and exit")
    parser.add_argument("--fixed", action="store_true", help="serve the fixed room")
    parser.add_argument("--port", type=int, default=7005, help="demo port (default 7005)")
    args = parser.parse_args()
    if args.check:
        failures = check()
        for failure in failures:
            print(f"FAILED: {failure}")
        print("lesson 5 check:", "FAILED" if failures else "OK")
        return 1 if failures else 0
    room = QueuedRoom() if args.fixed else NaiveRoom()
    with socket.create_server(("127.0.0.1", args.port)) as listener:
        print(f"{type(room).__name__} on 127.0.0.1:{args.port}. Join with nc. Ctrl-C stops.")
        try:
            serve(listener, room)
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
