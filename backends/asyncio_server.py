"""The asyncio backend: the event loop of ``selector_loop.py``, written once for everybody.

asyncio's low-level API maps onto our core almost one to one. For every connection the loop
creates a :class:`Connection` (an ``asyncio.Protocol``) and calls it back:

* ``connection_made``  -> ``_accept``: introduce the client to the core
* ``data_received``    -> ``_read``: feed the bytes to the core
* ``eof_received``     -> ``_read`` with ``b""``: the peer closed its side
* ``connection_lost``  -> ``_drop``: the socket is gone, tell the core

and gives it an ``asyncio.Transport`` that buffers writes for us, like our selectors outbox.
We still coalesce: the core's lines are collected per client and handed to ``transport.write``
once per loop iteration (``_flush``). The transport's buffer plus ours is checked against
``config.sendq``; that is our back-pressure policy, so ``pause_writing``/``resume_writing``
(asyncio's hint that the buffer is above or below its high-water mark) only get noted.

We use Protocols rather than streams (``StreamReader``/``StreamWriter``): callbacks need no
task per client, which keeps 10,000 idle clients cheap, and they match the core's style.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import threading
import time
from typing import ClassVar, cast

from backends.base import (
    FLUSH_TIMEOUT,
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


class Connection(asyncio.Protocol):
    """One client. asyncio calls the ``Protocol`` methods; the core calls ``send``/``close``."""

    def __init__(self, server: AsyncioServer) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.peer = "?"
        self.session: Session | None = None
        #: Lines queued since the last flush (joined into one ``transport.write``).
        self.outbox: list[bytes] = []
        self.queued = 0
        #: The transport's buffer size at the last flush. It only shrinks in between, so
        #: ``queued + backlog`` never underestimates what this client owes us.
        self.backlog = 0
        self._sendq = server.config.sendq
        #: Set by ``close``/``finish``: accept no more output; flush, send FIN, then close.
        self.closing = False
        self.close_deadline = math.inf
        self.reason = "Connection closed"
        self.peer_closed = False
        self.closed = False
        self.overflowed = False

    # --- asyncio.Protocol: called by the event loop ---------------------------------------------

    # --8<-- [start:callbacks]
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.peer = peer_name(transport.get_extra_info("peername"))
        self.server._accept(self)

    def data_received(self, data: bytes) -> None:
        self.server._read(self, data)

    def eof_received(self) -> bool:
        self.server._read(self, b"")
        return True  # keep the transport open: we still want to flush our last lines

    def connection_lost(self, exc: Exception | None) -> None:
        self.server._forget(self, exc)

    # --8<-- [end:callbacks]

    def pause_writing(self) -> None:
        # The transport's buffer passed its high-water mark. We keep queueing: ``send``
        # enforces ``sendq``, which is the policy every backend shares.
        log.debug("%s is reading slowly (write buffer above high-water mark)", self.peer)

    def resume_writing(self) -> None:
        log.debug("%s caught up (write buffer below low-water mark)", self.peer)

    # --- Transport: called by the core ----------------------------------------------------------

    # --8<-- [start:send]
    def send(self, data: bytes) -> None:
        """Queue ``data`` for this loop iteration's flush; past ``sendq``, mark for dropping."""
        # The hot path of every fan-out (one call per member per line): keep it lean.
        if self.closing or self.overflowed:
            return
        if self.queued + self.backlog + len(data) > self._sendq and not self._fits(len(data)):
            self.overflowed = True
            self.outbox.clear()
            self.queued = 0
            self.server._overflowed.append(self)
            return
        if not self.outbox:
            self.server._mark_dirty(self)
        self.outbox.append(data)
        self.queued += len(data)

    # --8<-- [end:send]

    def close(self, reason: str) -> None:
        """The core is done with this client: flush what is queued, then close."""
        self.finish(reason)

    def _fits(self, size: int) -> bool:
        # Near the limit: the backlog may be stale (the client read since), so ask again.
        self.backlog = self.transport.get_write_buffer_size() if self.transport else 0
        return self.queued + self.backlog + size <= self._sendq

    # --- used by the server -----------------------------------------------------------------

    def finish(self, reason: str, last_words: bytes = b"") -> None:
        """Stop accepting output; flush the outbox plus ``last_words``, then close, at the
        latest ``FLUSH_TIMEOUT`` seconds from now."""
        if self.closing:
            return
        self.closing = True
        self.reason = reason
        self.close_deadline = time.monotonic() + FLUSH_TIMEOUT
        if last_words:
            self.outbox.append(last_words)
        self.server._mark_dirty(self)


class AsyncioServer(Server):
    """One asyncio event loop; a :class:`Connection` protocol per client."""

    name: ClassVar[str] = "asyncio"

    def __init__(self, config: ServerConfig) -> None:
        super().__init__(config)
        self._connections: set[Connection] = set()
        self._dirty: set[Connection] = set()
        self._flush_scheduled = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_requested = threading.Event()
        self._stopped: asyncio.Event | None = None
        self._all_closed: asyncio.Event | None = None

    def serve(self, on_ready: ReadyCallback | None = None) -> None:
        raise_fd_limit()
        asyncio.run(self._serve(on_ready))

    # --8<-- [start:stop]
    def shutdown(self) -> None:
        self._stop_requested.set()
        loop, stopped = self._loop, self._stopped
        if loop is not None and stopped is not None:
            # the loop is already closed: serve() has returned
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stopped.set)

    # --8<-- [end:stop]

    async def _serve(self, on_ready: ReadyCallback | None) -> None:
        loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        self._all_closed = asyncio.Event()
        self._loop = loop
        if self._stop_requested.is_set():  # shutdown() came before the loop existed
            self._stopped.set()
        listener = open_listener(self.config)
        server = await loop.create_server(lambda: Connection(self), sock=listener)
        if on_ready is not None:
            on_ready(bound_address(listener))
        ticker = loop.create_task(self._tick_forever())
        try:
            await self._stopped.wait()
        finally:
            server.close()  # stop accepting; the connections stay open
            ticker.cancel()
            await self._close_all()

    # --- callbacks from the protocols -------------------------------------------------------------

    # --8<-- [start:accept]
    def _accept(self, conn: Connection) -> None:
        log.info("%s connected", conn.peer)
        self._connections.add(conn)
        conn.session = self.core.connect(conn, conn.peer)
        self._drop_overflowed()

    # --8<-- [end:accept]

    # --8<-- [start:read]
    def _read(self, conn: Connection, data: bytes) -> None:
        if not data:
            conn.peer_closed = True
        if conn.closing:
            # We are only waiting for the peer's FIN; whatever else it says is ignored.
            if not data and conn.transport is not None:
                conn.transport.close()
            return
        assert conn.session is not None
        self.core.receive(conn.session, data, time.monotonic())
        self._drop_overflowed()
        if not data:
            self._drop(conn, "Connection closed")

    # --8<-- [end:read]

    # --8<-- [start:flush]
    def _mark_dirty(self, conn: Connection) -> None:
        """Remember ``conn`` for the flush at the end of this loop iteration."""
        self._dirty.add(conn)
        if not self._flush_scheduled and self._loop is not None:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush_dirty)

    def _flush_dirty(self) -> None:
        self._flush_scheduled = False
        while self._dirty:
            self._flush(self._dirty.pop())

    def _flush(self, conn: Connection) -> None:
        """Hand everything queued to the transport in one ``write``; at the end, send FIN."""
        transport = conn.transport
        if conn.closed or transport is None or transport.is_closing():
            return
        if conn.outbox:
            transport.write(b"".join(conn.outbox))
            conn.outbox.clear()
            conn.queued = 0
            conn.backlog = transport.get_write_buffer_size()
        if conn.closing:
            if conn.peer_closed or not transport.can_write_eof():
                transport.close()  # flushes the transport's buffer, then closes
            else:
                # FIN after the last byte; the peer's FIN (eof_received) then closes us, so
                # unread input does not turn our close into a reset that eats the last lines.
                try:
                    transport.write_eof()
                except OSError:  # the peer reset meanwhile (ENOTCONN): nothing more to say
                    transport.abort()

    # --8<-- [end:flush]

    def _forget(self, conn: Connection, exc: Exception | None) -> None:
        if not conn.closing:
            self._drop(conn, describe_error(exc) if exc is not None else "Connection closed")
        conn.closed = True
        self._connections.discard(conn)
        self._dirty.discard(conn)
        log.info("%s disconnected (%s)", conn.peer, conn.reason)
        if not self._connections and self._all_closed is not None:
            self._all_closed.set()

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
    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(TICK_INTERVAL)
            self._tick(time.monotonic())

    def _tick(self, now: float) -> None:
        self.core.tick(now)
        self._drop_overflowed()
        for conn in [c for c in self._connections if c.close_deadline <= now]:
            if conn.transport is not None:
                conn.transport.abort()

    # --8<-- [end:tick]

    # --- graceful shutdown ------------------------------------------------------------------------

    # --8<-- [start:shutdown]
    async def _close_all(self) -> None:
        """Say goodbye to everyone, keep the loop running for ``FLUSH_TIMEOUT``, then cut."""
        assert self._all_closed is not None
        self.core.shutdown()
        self._drop_overflowed()
        if self._connections:
            self._all_closed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._all_closed.wait(), FLUSH_TIMEOUT)
        for conn in list(self._connections):
            if conn.transport is not None:
                conn.transport.abort()
        await asyncio.sleep(0)  # let the aborted transports report connection_lost

    # --8<-- [end:shutdown]
