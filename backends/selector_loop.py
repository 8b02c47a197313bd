"""The selectors backend: one thread, non-blocking sockets, an event loop we write ourselves.

Where ``threaded.py`` blocks a thread per socket, this backend asks the operating system which
sockets are ready (``selectors.DefaultSelector``: epoll on Linux, kqueue on macOS) and only
then touches them, so a ``recv`` or ``send`` never waits. The price is that we keep the
bookkeeping a thread would keep for us:

* every client has a ``bytearray`` outbox. Output is written at the end of each loop pass (one
  ``send`` per client per pass, however many lines were queued) and, when the socket's buffer
  is full, when the selector says it is writable again;
* ``send`` may take only part of the data (a *partial send*): we keep the rest for later;
* we ask for ``EVENT_WRITE`` only while an outbox is non-empty. A socket is writable almost
  all the time, so registering it permanently would turn the loop into a busy loop;
* ``shutdown()`` from another thread or a signal handler writes a byte to a socketpair the
  loop watches (the "self-pipe trick"), so a sleeping ``select`` wakes up at once;
* ``core.tick`` runs when the ``select`` timeout says a tick is due.

Read ``asyncio_server.py`` next: asyncio is this same loop, written once for everybody.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import math
import selectors
import socket
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

#: Connections accepted per wake-up, so a connect storm cannot starve the clients we have.
ACCEPT_BATCH = 256


class Connection:
    """One client: its non-blocking socket and its outbox. Implements ``Transport``."""

    def __init__(self, server: SelectorServer, sock: socket.socket, peer: str) -> None:
        self.server = server
        self.sock = sock
        self.peer = peer
        self.session: Session | None = None
        self.outbox = bytearray()
        #: The selector events we are registered for (EVENT_READ, plus EVENT_WRITE while the
        #: outbox is non-empty).
        self.events = selectors.EVENT_READ
        #: Set by ``close``/``finish``: accept no more output; flush, send FIN, then close.
        self.closing = False
        self.close_deadline = math.inf
        self.reason = "Connection closed"
        self.fin_sent = False
        self.closed = False
        self.overflowed = False
        self._sendq = server.config.sendq

    # --- Transport: called by the core ----------------------------------------------------------

    # --8<-- [start:send]
    def send(self, data: bytes) -> None:
        """Append ``data`` to the outbox; past ``sendq``, mark the client for dropping."""
        # The hot path of every fan-out (one call per member per line): keep it lean.
        if self.closing or self.overflowed:
            return
        outbox = self.outbox
        if len(outbox) + len(data) > self._sendq:
            self.overflowed = True
            # Forget the backlog, except the end of a line a partial send already started:
            # cut there, the ERROR line that follows would be glued onto half a line.
            del outbox[outbox.find(b"\n") + 1 :]
            self.server._overflowed.append(self)
            return
        if not outbox:
            # A non-empty outbox is already due for a flush (dirty, or waiting for EVENT_WRITE).
            self.server._dirty.add(self)
        outbox += data

    # --8<-- [end:send]

    def close(self, reason: str) -> None:
        """The core is done with this client: flush what is queued, then close."""
        self.finish(reason)

    # --- used by the server -----------------------------------------------------------------

    def finish(self, reason: str, last_words: bytes = b"") -> None:
        """Stop accepting output; flush the outbox plus ``last_words``, then close, at the
        latest ``FLUSH_TIMEOUT`` seconds from now."""
        if self.closing:
            return
        self.closing = True
        self.reason = reason
        self.close_deadline = time.monotonic() + FLUSH_TIMEOUT
        self.outbox += last_words
        self.server._dirty.add(self)


class SelectorServer(Server):
    """One thread and a ``selectors.DefaultSelector`` serving every client."""

    name: ClassVar[str] = "selectors"

    def __init__(self, config: ServerConfig) -> None:
        super().__init__(config)
        self._selector = selectors.DefaultSelector()
        self._connections: set[Connection] = set()
        # Connections with new output since the last flush; written at the end of the pass.
        self._dirty: set[Connection] = set()
        self._stopping = False
        self._listener: socket.socket | None = None
        self._accept_paused = False
        # The self-pipe: shutdown() writes a byte, the loop wakes up.
        self._wakeup_r, self._wakeup_w = socket.socketpair()
        self._wakeup_r.setblocking(False)
        self._wakeup_w.setblocking(False)

    def serve(self, on_ready: ReadyCallback | None = None) -> None:
        raise_fd_limit()
        try:
            listener = self._listener = open_listener(self.config)
            listener.setblocking(False)
            self._selector.register(listener, selectors.EVENT_READ)
            self._selector.register(self._wakeup_r, selectors.EVENT_READ)
            if on_ready is not None:
                on_ready(bound_address(listener))
            next_tick = time.monotonic() + TICK_INTERVAL
            while not self._stopping:
                self._run_once(max(0.0, next_tick - time.monotonic()))
                now = time.monotonic()
                if now >= next_tick:
                    self._tick(now)
                    next_tick = now + TICK_INTERVAL
            self._close_all()
        finally:
            self._stop_accepting()
            self._selector.close()
            self._wakeup_r.close()
            self._wakeup_w.close()

    # --8<-- [start:stop]
    def shutdown(self) -> None:
        self._stopping = True
        # the pipe is full (a wake-up is already pending) or already closed
        with contextlib.suppress(OSError):
            self._wakeup_w.send(b"\0")

    # --8<-- [end:stop]

    # --- the loop ---------------------------------------------------------------------------------

    # --8<-- [start:loop]
    def _run_once(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for ready sockets, serve them, then flush output."""
        for key, events in self._selector.select(timeout):
            if key.fileobj is self._wakeup_r:
                self._drain_wakeups()
            elif key.data is None:
                assert self._listener is not None
                self._accept(self._listener)
            else:
                conn: Connection = key.data
                if events & selectors.EVENT_READ and not conn.closed:
                    self._read(conn)
                if events & selectors.EVENT_WRITE and not conn.closed:
                    self._flush(conn)
        while self._dirty:
            self._flush(self._dirty.pop())

    # --8<-- [end:loop]

    def _drain_wakeups(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while self._wakeup_r.recv(4096):
                pass

    # --8<-- [start:accept]
    def _accept(self, listener: socket.socket) -> None:
        for _ in range(ACCEPT_BATCH):
            try:
                sock, address = listener.accept()
            except BlockingIOError:
                return
            except OSError as exc:
                log.warning("accept failed: %s", describe_error(exc))
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    # The listener stays readable: stop watching it until the next tick, or
                    # the loop would spin on the same error.
                    self._selector.unregister(listener)
                    self._accept_paused = True
                return
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = Connection(self, sock, peer_name(address))
            log.info("%s connected", conn.peer)
            self._selector.register(sock, conn.events, conn)
            self._connections.add(conn)
            conn.session = self.core.connect(conn, conn.peer)
            self._drop_overflowed()

    # --8<-- [end:accept]

    # --8<-- [start:read]
    def _read(self, conn: Connection) -> None:
        try:
            data = conn.sock.recv(READ_SIZE)
        except BlockingIOError:
            return
        except OSError as exc:
            self._drop(conn, describe_error(exc))
            self._close(conn)
            return
        if conn.closing:
            # We are only waiting for the peer's FIN; whatever else it says is ignored.
            if not data:
                self._close(conn)
            return
        assert conn.session is not None
        self.core.receive(conn.session, data, time.monotonic())
        self._drop_overflowed()
        if not data:
            self._drop(conn, "Connection closed")

    # --8<-- [end:read]

    # --8<-- [start:flush]
    def _flush(self, conn: Connection) -> None:
        """One ``send`` of everything queued; keep what did not fit and ask for EVENT_WRITE."""
        if conn.closed:
            return
        if conn.outbox:
            try:
                sent = conn.sock.send(conn.outbox)
            except BlockingIOError:
                sent = 0
            except OSError as exc:
                self._drop(conn, describe_error(exc))
                self._close(conn)
                return
            del conn.outbox[:sent]
        if not conn.outbox and conn.closing and not conn.fin_sent:
            # All out: send FIN and wait for the peer's, so unread input does not turn our
            # close into a reset that destroys the last lines we sent.
            conn.fin_sent = True
            try:
                conn.sock.shutdown(socket.SHUT_WR)
            except OSError:
                self._close(conn)
                return
        wanted = selectors.EVENT_READ | (selectors.EVENT_WRITE if conn.outbox else 0)
        if wanted != conn.events:
            conn.events = wanted
            self._selector.modify(conn.sock, wanted, conn)

    # --8<-- [end:flush]

    def _close(self, conn: Connection) -> None:
        if conn.closed:
            return
        conn.closed = True
        self._selector.unregister(conn.sock)
        conn.sock.close()
        self._connections.discard(conn)
        self._dirty.discard(conn)
        log.info("%s disconnected (%s)", conn.peer, conn.reason)

    # --- dropping clients -------------------------------------------------------------------------

    # --8<-- [start:drop]
    def _drop(self, conn: Connection, reason: str) -> None:
        """The socket died (or the server gave up on it): tell the core, then close."""
        if conn.session is not None:
            self.core.disconnect(conn.session, reason)
        self._drop_overflowed()
        conn.finish(reason)

    # --8<-- [end:drop]

    # --- every TICK_INTERVAL ----------------------------------------------------------------------

    # --8<-- [start:tick]
    def _tick(self, now: float) -> None:
        self.core.tick(now)
        self._drop_overflowed()
        for conn in [c for c in self._connections if c.close_deadline <= now]:
            self._close(conn)
        if self._accept_paused and self._listener is not None:
            self._accept_paused = False  # paused after EMFILE: try accepting again
            self._selector.register(self._listener, selectors.EVENT_READ)

    # --8<-- [end:tick]

    # --- graceful shutdown ------------------------------------------------------------------------

    def _stop_accepting(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            # never registered, or paused after EMFILE
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(listener)
            listener.close()

    # --8<-- [start:shutdown]
    def _close_all(self) -> None:
        """Say goodbye to everyone, keep the loop running for ``FLUSH_TIMEOUT``, then cut."""
        self._stop_accepting()
        self.core.shutdown()
        self._drop_overflowed()
        deadline = time.monotonic() + FLUSH_TIMEOUT
        while self._connections and (left := deadline - time.monotonic()) > 0:
            self._run_once(left)
        for conn in list(self._connections):
            self._close(conn)

    # --8<-- [end:shutdown]
