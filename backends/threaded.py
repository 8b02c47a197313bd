"""The threading backend: a reader thread and a writer thread per client.

This is the server most people write first, done carefully:

* the serving thread accepts; each client gets a **reader** thread (``_read``) that blocks in
  ``recv`` and a **writer** thread (``_flush``) that blocks until there is output, then sends it;
* one lock (``self._lock``) guards every call into the core, because the core is plain shared
  state and threads interleave anywhere;
* **no socket call ever happens while that lock is held.** The core's answers go into each
  client's outbox (a list of ``bytes``, bounded by ``config.sendq``); the writer drains it
  outside the lock. A ``sendall`` under the lock would let one client that stops reading
  freeze the whole room: the classic bug this design avoids;
* a ticker thread calls ``core.tick`` every ``TICK_INTERVAL`` seconds.

Threads are cheap but not free: two per client, each with its own stack, so we ask for a small
stack and raise the open-file limit. Read ``selector_loop.py`` next for one thread doing it all.
"""

from __future__ import annotations

import contextlib
import logging
import math
import socket
import threading
import time
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


class Connection:
    """One client: its socket, its outbox and the two threads that serve it.

    Implements :class:`chatkit.transport.Transport`. ``send`` and ``close`` are called by the
    core with the core lock held, so they only touch the outbox (guarded by ``self._cond``),
    never the socket.
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
        self._cond = threading.Condition()
        self._outbox: list[bytes] = []
        # Bytes accepted by ``send`` and not yet written (queued or inside a ``sendall``).
        self._queued = 0
        self.overflowed = False
        self._sendq = server.config.sendq
        self._socket_closed = False
        self.reader = threading.Thread(
            target=server._read, args=(self,), name=f"read {peer}", daemon=True
        )
        self.writer = threading.Thread(
            target=server._flush, args=(self,), name=f"write {peer}", daemon=True
        )

    # --- Transport: called by the core, under the core lock -----------------------------------

    # --8<-- [start:send]
    def send(self, data: bytes) -> None:
        """Queue ``data`` for the writer thread; past ``sendq``, mark the client for dropping."""
        with self._cond:
            if self.closing or self.overflowed:
                return
            if self._queued + len(data) > self._sendq:
                # Drop everything queued: the client will only get a best-effort ERROR line.
                self.overflowed = True
                self._queued -= sum(map(len, self._outbox))
                self._outbox.clear()
                self.server._overflowed.append(self)
                return
            if not self._outbox:
                self._cond.notify()  # the writer only waits while the outbox is empty
            self._outbox.append(data)
            self._queued += len(data)

    # --8<-- [end:send]

    def close(self, reason: str) -> None:
        """The core is done with this client: flush what is queued, then close."""
        self.finish(reason)

    # --- used by the server -----------------------------------------------------------------

    def finish(self, reason: str, last_words: bytes = b"") -> None:
        """Stop accepting output; the writer sends what is queued plus ``last_words``, then
        closes the socket, at the latest ``FLUSH_TIMEOUT`` seconds from now."""
        with self._cond:
            if self.closing:
                return
            self.closing = True
            self.reason = reason
            self.close_deadline = time.monotonic() + FLUSH_TIMEOUT
            if last_words:
                self._outbox.append(last_words)
                self._queued += len(last_words)
            self._cond.notify()

    def next_chunk(self) -> bytes | None:
        """Writer side: wait for output and take all of it at once (one ``sendall`` per wake-up,
        however many lines were queued). ``None`` means: closing and nothing left to send."""
        with self._cond:
            while not self._outbox and not self.closing:
                self._cond.wait()
            if not self._outbox:
                return None
            chunk = b"".join(self._outbox)
            self._outbox.clear()
            return chunk

    def sent(self, count: int) -> None:
        """Writer side: ``count`` bytes left the outbox for good."""
        with self._cond:
            self._queued -= count

    def join_reader(self, timeout: float | None) -> None:
        """Wait for the reader thread, if it was ever started."""
        if self.reader.ident is not None:
            self.reader.join(timeout)

    def abort(self) -> None:
        """Wake both threads now: ``recv`` returns ``b""`` and a stuck ``sendall`` fails."""
        with self._cond:
            if not self._socket_closed:
                # already shut down, or the peer is gone: either way, done.
                with contextlib.suppress(OSError):
                    self.sock.shutdown(socket.SHUT_RDWR)

    def close_socket(self) -> None:
        """Release the file descriptor (once both threads are done with it)."""
        with self._cond:
            self._socket_closed = True
            self.sock.close()


class ThreadedServer(Server):
    """Accept on the serving thread; a reader and a writer thread per client; one core lock."""

    name: ClassVar[str] = "threading"

    def __init__(self, config: ServerConfig) -> None:
        super().__init__(config)
        self._lock = threading.Lock()  # guards the core, _connections and _overflowed
        self._connections: set[Connection] = set()
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
        with self._lock:
            conn.session = self.core.connect(conn, conn.peer)
            self._connections.add(conn)
            self._drop_overflowed()
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
                with self._lock:
                    # Once closing, we only wait for the peer's FIN and ignore what it says.
                    if not conn.closing and conn.session is not None:
                        self.core.receive(conn.session, data, time.monotonic())
                        self._drop_overflowed()
                if not data:
                    break
        except OSError as exc:
            reason = describe_error(exc)
        self._drop(conn, reason)

    # --8<-- [end:read]

    # --- one writer thread per client -----------------------------------------------------------

    # --8<-- [start:flush]
    def _flush(self, conn: Connection) -> None:
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

    # --8<-- [end:flush]

    def _forget(self, conn: Connection) -> None:
        conn.close_socket()
        with self._lock:
            self._connections.discard(conn)
        log.info("%s disconnected (%s)", conn.peer, conn.reason)

    # --- dropping clients -------------------------------------------------------------------------

    # --8<-- [start:drop]
    def _drop(self, conn: Connection, reason: str) -> None:
        """The socket died (or the server gave up on it): tell the core, then close."""
        with self._lock:
            if conn.session is not None:
                self.core.disconnect(conn.session, reason)
            self._drop_overflowed()
            conn.finish(reason)

    # --8<-- [end:drop]

    # --- the ticker thread ------------------------------------------------------------------------

    # --8<-- [start:tick]
    def _tick_forever(self) -> None:
        while not self._stopping.wait(TICK_INTERVAL):
            self._tick()

    def _tick(self) -> None:
        now = time.monotonic()
        with self._lock:
            self.core.tick(now)
            self._drop_overflowed()
            overdue = [c for c in self._connections if c.close_deadline <= now]
        for conn in overdue:  # socket calls happen here, after the lock is released
            conn.abort()

    # --8<-- [end:tick]

    # --- graceful shutdown ------------------------------------------------------------------------

    # --8<-- [start:shutdown]
    def _close_all(self) -> None:
        """Say goodbye to everyone, give the writers ``FLUSH_TIMEOUT`` seconds, then cut."""
        with self._lock:
            self.core.shutdown()
            self._drop_overflowed()
            connections = list(self._connections)
        deadline = time.monotonic() + FLUSH_TIMEOUT
        for conn in connections:
            conn.writer.join(max(0.0, deadline - time.monotonic()))
        for conn in connections:
            conn.abort()
        for conn in connections:
            conn.writer.join(0.5)

    # --8<-- [end:shutdown]
