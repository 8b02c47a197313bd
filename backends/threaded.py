"""The threading backend: a reader thread and a writer thread per client.

This is the server most people write first, done carefully:

* the serving thread accepts; each client gets a **reader** thread (``_read``) that blocks in
  ``recv`` and a **writer** thread (``_write_forever``) that blocks in ``sendall`` when the
  client is slow to take its output;
* one lock (``self._lock``) guards every call into the core, and every client's outbox,
  because the core is plain shared state and threads interleave anywhere;
* **no socket call ever happens while that lock is held.** The core's answers go into each
  client's outbox (a list of ``bytes``, bounded by ``config.sendq``) and are written after
  the lock is released. A ``sendall`` under the lock would let one client that stops reading
  freeze the whole room: the classic bug this design avoids;
* a ticker thread calls ``core.tick`` every ``TICK_INTERVAL`` seconds.

**Who writes, and why not always the writer thread.** The obvious design wakes a client's
writer thread for every line queued for it. Measure it and it falls apart: one message to a
room of 1,000 wakes 1,000 writers, and each of them must take the GIL (only one thread runs
Python at a time) back from the thread doing the fan-out, do a few lines of Python, and give
it back. The threads spend their time handing the GIL and the outbox locks to each other
(a *convoy*), not sending: a few thousand deliveries per second instead of hundreds of
thousands. Threads do not make Python code run in parallel; they only let it *wait* in
parallel.

So the thread that made the output writes it (``_flush``): after it leaves the core lock, it
sends each dirty outbox with one non-blocking ``send`` (``MSG_DONTWAIT``), exactly what the
selectors backend does at the end of a loop pass. The writer thread only gets a client's
output when that would block: a full socket buffer (a slow reader), or a closing connection.
Then the writer, and only it, may wait in ``sendall`` while everyone else goes on. To keep
each client's bytes in order, at most one thread writes to a socket at a time: its
connection's ``owner`` (nobody, a flushing thread or the writer) says who, and it only
changes under the core lock.

Threads are cheap but not free: two per client, each with its own stack, so we ask for a small
stack and raise the open-file limit. Read ``selector_loop.py`` next for one thread doing it all.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import math
import socket
import threading
import time
from collections.abc import Iterator
from typing import ClassVar

from backends.base import (
    FLUSH_TIMEOUT,
    READ_SIZE,
    TICK_INTERVAL,
    ReadyCallback,
    Server,
    bound_address,
    describe_error,
    open_listener,
    peer_name,
    raise_fd_limit,
)
from chatkit.config import ServerConfig
from chatkit.session import Session

log = logging.getLogger("chatkit.server")

#: Our threads only parse short lines and call the core: 256 KiB of stack is plenty, and with
#: two threads per client the default (often 8 MiB of address space) adds up fast.
THREAD_STACK_SIZE = 256 * 1024
#: Rounds of sending in one ``_flush``: the first writes what our core call queued, the next
#: what other threads queued for the same clients meanwhile (they leave it to us, to keep the
#: order). It must stop somewhere, since meanwhile nobody reads this thread's own client: what
#: is left after the last round goes to the writer threads. (Measured in a room of 1,000 at
#: full speed: each extra round woke the writers 2 to 4 times less often, without a
#: throughput change we could tell from noise.)
FLUSH_ROUNDS = 2
#: Seconds the writer threads get, all together, to notice a cut connection at shutdown.
ABORT_TIMEOUT = 0.5
#: ``send`` flag for "fail instead of waiting" on a blocking socket (Linux, macOS, BSDs).
#: Without it, every write is left to the writer threads: slower, still correct.
SEND_NOW: int | None = getattr(socket, "MSG_DONTWAIT", None)


class Owner(enum.Enum):
    """Who may write to a connection's socket now. Changes only under the core lock."""

    #: Output waits in the outbox for the next thread that leaves the core lock.
    NOBODY = enum.auto()
    #: A thread that just called the core is sending, without blocking (``_flush``).
    FLUSHER = enum.auto()
    #: The writer thread: the socket's buffer was full, or the connection is closing.
    WRITER = enum.auto()


class Connection:
    """One client: its socket, its outbox and the two threads that serve it.

    Implements :class:`chatkit.transport.Transport`. ``send`` and ``close`` are called by the
    core with the core lock held, so they only touch the outbox, never the socket. The outbox
    and ``owner`` are guarded by the core lock too: one lock, no ordering puzzles.
    """

    def __init__(self, server: ThreadedServer, sock: socket.socket, peer: str) -> None:
        self.server = server
        self.sock = sock
        self.peer = peer
        self.session: Session | None = None
        #: Set by ``close``/``finish``: accept no more output; the writer flushes, then closes.
        self.closing = False
        #: When a closing connection is closed whether or not its peer took the last bytes.
        self.close_deadline = math.inf
        self.reason = "Connection closed"
        #: Lines waiting to be written, shared with every other member of the room (a list
        #: holds references: a line encoded once for a fan-out is stored once).
        self.outbox: list[bytes] = []
        #: Bytes accepted by ``send`` and not yet written (in the outbox or being sent).
        self.queued = 0
        self.owner = Owner.NOBODY
        self.overflowed = False
        self._sendq = server.config.sendq
        self._dirty = server._dirty
        #: The writer waits here for its turn; a condition on the core lock, which guards
        #: ``owner`` and the outbox.
        self._writer_turn = threading.Condition(server._lock)
        #: Guards closing the file descriptor against a concurrent ``abort``.
        self._socket_lock = threading.Lock()
        self._socket_closed = False
        self.reader = threading.Thread(
            target=server._read, args=(self,), name=f"read {peer}", daemon=True
        )
        self.writer = threading.Thread(
            target=server._write_forever, args=(self,), name=f"write {peer}", daemon=True
        )

    # --- Transport: called by the core, under the core lock -----------------------------------

    # --8<-- [start:send]
    def send(self, data: bytes) -> None:
        """Queue ``data``; past ``sendq``, mark the client for dropping."""
        # The hot path of every fan-out (one call per member per line): keep it lean.
        if self.closing or self.overflowed:
            return
        if self.queued + len(data) > self._sendq:
            # Drop everything queued: the client will only get a best-effort ERROR line.
            self.overflowed = True
            self.queued -= sum(map(len, self.outbox))
            self.outbox.clear()
            self.server._overflowed.append(self)
            return
        if not self.outbox and self.owner is Owner.NOBODY:
            self._dirty.append(self)  # written by whoever leaves the core lock next
        self.outbox.append(data)
        self.queued += len(data)

    # --8<-- [end:send]

    def close(self, reason: str) -> None:
        """The core is done with this client: flush what is queued, then close."""
        self.finish(reason)

    # --- used by the server, under the core lock --------------------------------------------

    def finish(self, reason: str, last_words: bytes = b"") -> None:
        """Stop accepting output; the writer sends what is queued plus ``last_words``, then
        closes the socket, at the latest ``FLUSH_TIMEOUT`` seconds from now."""
        if self.closing:
            return
        self.closing = True
        self.reason = reason
        self.close_deadline = time.monotonic() + FLUSH_TIMEOUT
        if last_words:
            self.outbox.append(last_words)
            self.queued += len(last_words)
        if self.owner is Owner.NOBODY:
            self.hand_to_writer()
        # A flushing thread hands it over when it is done; a writer is already awake.

    def take(self) -> bytes:
        """Everything queued as one chunk: one ``send`` however many lines there are."""
        chunk = b"".join(self.outbox)
        self.outbox.clear()
        return chunk

    def hand_to_writer(self) -> None:
        """From now on only the writer thread writes (it may block): wake it."""
        self.owner = Owner.WRITER
        self._writer_turn.notify()

    # --- the writer thread's side -------------------------------------------------------------

    def next_chunk(self) -> bytes | None:
        """Wait for the writer's turn, then take all the output at once. ``None`` means:
        closing and nothing left to send."""
        with self._writer_turn:
            while True:
                if self.owner is Owner.WRITER:
                    if self.outbox:
                        return self.take()
                    if self.closing:
                        return None
                    # Caught up: the threads that queue output write it again.
                    self.owner = Owner.NOBODY
                self._writer_turn.wait()

    def sent(self, count: int) -> None:
        """Writer side: ``count`` bytes left for good."""
        with self._writer_turn:
            self.queued -= count

    def join_reader(self, timeout: float | None) -> None:
        """Wait for the reader thread, if it was ever started."""
        if self.reader.ident is not None:
            self.reader.join(timeout)

    def abort(self) -> None:
        """Wake both threads now: ``recv`` returns ``b""`` and a stuck ``sendall`` fails."""
        with self._socket_lock:
            if not self._socket_closed:
                # already shut down, or the peer is gone: either way, done.
                with contextlib.suppress(OSError):
                    self.sock.shutdown(socket.SHUT_RDWR)

    def close_socket(self) -> None:
        """Release the file descriptor (once both threads are done with it)."""
        with self._socket_lock:
            self._socket_closed = True
            self.sock.close()


class ThreadedServer(Server):
    """Accept on the serving thread; a reader and a writer thread per client; one core lock."""

    name: ClassVar[str] = "threading"

    def __init__(self, config: ServerConfig) -> None:
        super().__init__(config)
        # Guards the core, _connections, _overflowed, _dirty and every connection's outbox.
        self._lock = threading.Lock()
        self._connections: set[Connection] = set()
        #: Connections whose output nobody is writing yet. Emptied before the lock is
        #: released, by the thread whose core call filled it (see ``_calling_core``).
        self._dirty: list[Connection] = []
        self._stopping = threading.Event()

    def serve(self, on_ready: ReadyCallback | None = None) -> None:
        raise_fd_limit()
        old_stack_size = threading.stack_size(THREAD_STACK_SIZE)
        try:
            with open_listener(self.config) as listener:
                # accept() wakes up every tick to notice shutdown(); the ticker does the rest.
                listener.settimeout(TICK_INTERVAL)
                ticker = threading.Thread(target=self._tick_forever, name="ticker", daemon=True)
                ticker.start()
                if on_ready is not None:
                    on_ready(bound_address(listener))
                while not self._stopping.is_set():
                    self._accept(listener)
            ticker.join()
            self._close_all()
        finally:
            threading.stack_size(old_stack_size)

    # --8<-- [start:stop]
    def shutdown(self) -> None:
        self._stopping.set()

    # --8<-- [end:stop]

    # --8<-- [start:core-call]
    @contextlib.contextmanager
    def _calling_core(self) -> Iterator[None]:
        """Hold the core lock for a call into the core; then, with the lock released, write
        the output that call produced."""
        with self._lock:
            try:
                yield
            finally:
                self._drop_overflowed()
                taken = self._take_dirty()
        self._flush(taken)

    def _take_dirty(self) -> list[tuple[Connection, bytes]]:
        """Under the lock: claim every outbox nobody is writing, and take its output."""
        taken = []
        for conn in self._dirty:
            if conn.owner is Owner.NOBODY and conn.outbox:
                conn.owner = Owner.FLUSHER
                taken.append((conn, conn.take()))
        self._dirty.clear()
        return taken

    # --8<-- [end:core-call]

    # --- the serving thread ---------------------------------------------------------------------

    # --8<-- [start:accept]
    def _accept(self, listener: socket.socket) -> None:
        try:
            sock, address = listener.accept()
        except TimeoutError:
            return
        except OSError as exc:
            # Out of file descriptors (EMFILE) and friends: back off instead of spinning.
            log.warning("accept failed: %s", describe_error(exc))
            self._stopping.wait(TICK_INTERVAL)
            return
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = Connection(self, sock, peer_name(address))
        log.info("%s connected", conn.peer)
        with self._calling_core():
            conn.session = self.core.connect(conn, conn.peer)
            self._connections.add(conn)
        try:
            conn.writer.start()
            conn.reader.start()
        except RuntimeError as exc:  # "can't start new thread": out of threads or memory
            self._drop(conn, f"Server out of threads ({exc})")
            if conn.writer.ident is None:
                self._forget(conn)

    # --8<-- [end:accept]

    # --- one reader thread per client -----------------------------------------------------------

    # --8<-- [start:read]
    def _read(self, conn: Connection) -> None:
        reason = "Connection closed"
        try:
            while True:
                data = conn.sock.recv(READ_SIZE)
                if self._stopping.is_set():
                    break  # core.shutdown is about to say goodbye to everyone: stay out of its way
                with self._calling_core():
                    # Once closing, we only wait for the peer's FIN and ignore what it says.
                    if not conn.closing and conn.session is not None:
                        self.core.receive(conn.session, data, time.monotonic())
                if not data:
                    break
        except OSError as exc:
            reason = describe_error(exc)
        self._drop(conn, reason)

    # --8<-- [end:read]

    # --- writing: first without blocking, by whoever produced the output ------------------------

    # --8<-- [start:flush]
    def _flush(self, taken: list[tuple[Connection, bytes]]) -> None:
        """Send output taken from the outboxes, one non-blocking ``send`` per connection.

        Called without the core lock. What does not fit in a socket's buffer goes back to
        the front of its outbox and to the writer thread, which may block: a slow client
        costs its own writer some waiting, never this thread or the room.
        """
        for round_number in range(1, FLUSH_ROUNDS + 1):
            if not taken:
                return
            results = [(conn, chunk, _send_now(conn.sock, chunk)) for conn, chunk in taken]
            taken = []
            go_again = round_number < FLUSH_ROUNDS
            with self._lock:  # one acquisition for the whole batch, not one per client
                for conn, chunk, sent in results:
                    conn.queued -= sent
                    if sent < len(chunk):  # the socket's buffer is full
                        conn.outbox.insert(0, chunk[sent:])
                        conn.hand_to_writer()
                    elif conn.closing or (conn.outbox and not go_again):
                        conn.hand_to_writer()
                    elif conn.outbox:  # queued by others while we were sending
                        taken.append((conn, conn.take()))
                    else:
                        conn.owner = Owner.NOBODY

    # --8<-- [end:flush]

    # --- ... then, when that would block, by the client's writer thread -------------------------

    # --8<-- [start:writer]
    def _write_forever(self, conn: Connection) -> None:
        try:
            while (chunk := conn.next_chunk()) is not None:
                conn.sock.sendall(chunk)  # blocks only this client's writer, never the room
                conn.sent(len(chunk))
            # Everything is out: send FIN, then let the reader wait for the peer's FIN so that
            # unread input does not turn our close into a reset that destroys the last lines.
            conn.sock.shutdown(socket.SHUT_WR)
            conn.join_reader(max(0.0, conn.close_deadline - time.monotonic()))
        except OSError as exc:
            self._drop(conn, describe_error(exc))
        conn.abort()
        conn.join_reader(None)
        self._forget(conn)

    # --8<-- [end:writer]

    def _forget(self, conn: Connection) -> None:
        conn.close_socket()
        with self._lock:
            self._connections.discard(conn)
        log.info("%s disconnected (%s)", conn.peer, conn.reason)

    # --- dropping clients -------------------------------------------------------------------------

    # --8<-- [start:drop]
    def _drop(self, conn: Connection, reason: str) -> None:
        """The socket died (or the server gave up on it): tell the core, then close.

        Once the server is stopping, the core is not told: ``core.shutdown`` says goodbye to
        everyone at once. Otherwise thousands of readers that see their clients leave would
        queue for the core lock, each telling the whole room, ahead of the shutdown itself.
        """
        with self._calling_core():
            if conn.session is not None and not self._stopping.is_set():
                self.core.disconnect(conn.session, reason)
            conn.finish(reason)

    # --8<-- [end:drop]

    # --- the ticker thread ------------------------------------------------------------------------

    # --8<-- [start:tick]
    def _tick_forever(self) -> None:
        while not self._stopping.wait(TICK_INTERVAL):
            self._tick()

    def _tick(self) -> None:
        now = time.monotonic()
        with self._calling_core():
            self.core.tick(now)
            overdue = [c for c in self._connections if c.close_deadline <= now]
        for conn in overdue:  # socket calls happen here, after the lock is released
            conn.abort()

    # --8<-- [end:tick]

    # --- graceful shutdown ------------------------------------------------------------------------

    # --8<-- [start:shutdown]
    def _close_all(self) -> None:
        """Say goodbye to everyone, give the writers ``FLUSH_TIMEOUT`` seconds, then cut."""
        with self._calling_core():
            self.core.shutdown()
            connections = list(self._connections)
        deadline = time.monotonic() + FLUSH_TIMEOUT
        for conn in connections:
            conn.writer.join(max(0.0, deadline - time.monotonic()))
        stuck = [conn for conn in connections if conn.writer.is_alive()]
        for conn in stuck:
            conn.abort()
        deadline = time.monotonic() + ABORT_TIMEOUT  # one deadline for all, not one each
        for conn in stuck:
            conn.writer.join(max(0.0, deadline - time.monotonic()))

    # --8<-- [end:shutdown]


def _send_now(sock: socket.socket, chunk: bytes) -> int:
    """Send what fits in the socket's buffer without waiting; return how many bytes did.

    An error counts as nothing sent: the writer thread then meets it in ``sendall`` and
    drops the client the usual way.
    """
    if SEND_NOW is None:
        return 0
    try:
        return sock.send(chunk, SEND_NOW)
    except OSError:  # BlockingIOError (buffer full) included
        return 0
