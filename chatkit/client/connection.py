"""The client's network side: asyncio streams around the sans-I/O :class:`ClientState`.

:class:`Connection` connects, feeds every received chunk to the state, writes whatever the state
queued, and when the link fails it says why and tries again after 1, 2, 4 ... seconds (capped,
bounded in count). The state remembers the rooms, so a reconnect rejoins them. Both front ends
(the prompt_toolkit terminal and plain stdin/stdout) run one of these in their event loop.
"""

from __future__ import annotations

import asyncio
import errno
from collections.abc import Callable, Sequence
from contextlib import suppress

from chatkit.client.events import Error, Event, Status
from chatkit.client.options import ClientOptions, backoff_delays
from chatkit.client.state import ClientState

__all__ = ["Connection", "Show", "describe_error"]

#: What a front end gives :class:`Connection` to display events.
Show = Callable[[Sequence[Event]], None]


def describe_error(exc: BaseException) -> str:
    """A connection error in words a learner can act on (no traceback)."""
    if isinstance(exc, ConnectionRefusedError) or getattr(exc, "errno", None) == errno.ECONNREFUSED:
        return "connection refused (is a server running there? start one with: chatkit serve)"
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionResetError):
        return "connection reset by the server"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror[0].lower() + exc.strerror[1:]
    return str(exc) or type(exc).__name__


class Connection:
    """Runs one client's connection, reconnecting as :class:`ClientOptions` says."""

    def __init__(self, state: ClientState, options: ClientOptions, show: Show) -> None:
        self.state = state
        self.options = options
        self.show = show
        self._writer: asyncio.StreamWriter | None = None
        # Whether the current connection got as far as 001: if so, a loss resets the backoff.
        self._registered_once = False
        # Wakes everyone waiting in wait_until() after each change of state.
        self._changed = asyncio.Condition()
        # Set by stop(): cuts a wait between reconnect attempts short.
        self._stop = asyncio.Event()

    @property
    def address(self) -> str:
        """``host:port``, with an IPv6 address in brackets (``[::1]:6667``)."""
        host = self.options.host
        return f"[{host}]:{self.options.port}" if ":" in host else f"{host}:{self.options.port}"

    # --8<-- [start:reconnect]
    async def run(self) -> int:
        """Connect, talk, reconnect; return the exit code (0 after a quit, 1 on giving up)."""
        delays = backoff_delays(self.options.first_delay, self.options.max_delay)
        failures = 0
        while not self._stop.is_set():
            self.show([Status(f"Connecting to {self.address} ...")])
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(self.options.host, self.options.port),
                    self.options.connect_timeout,
                )
            except (OSError, TimeoutError) as exc:
                self.show([Error(f"Cannot connect to {self.address}: {describe_error(exc)}")])
            else:
                reason = await self._talk(reader, writer)
                if self.state.quitting:
                    return 0
                self.show(self.state.connection_lost(reason))
                await self._notify()
                if self.state.fatal:
                    self.show([Error(f"Not reconnecting: {self.state.fatal}")])
                    return 1
                if self._registered_once:
                    # It worked for a while: start counting (and backing off) afresh.
                    failures = 0
                    delays = backoff_delays(self.options.first_delay, self.options.max_delay)
            failures += 1
            if not self.options.reconnect or failures >= self.options.attempts:
                if self.options.reconnect:
                    tries = "1 attempt" if failures == 1 else f"{failures} attempts"
                    self.show([Error(f"Giving up after {tries}")])
                return 1
            delay = next(delays)
            attempt = f"attempt {failures + 1} of {self.options.attempts}"
            self.show([Status(f"Reconnecting in {delay:g} s ({attempt}); Ctrl-C to stop")])
            with suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), delay)
        return 0
        # --8<-- [end:reconnect]

    async def _talk(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> str:
        """Register and exchange lines until the link ends; return why it ended."""
        self._writer = writer
        self._registered_once = False
        self.show(self.state.connection_made())
        self.flush()
        pinged = False
        try:
            while True:
                timeout = self.options.ping_timeout if pinged else self.options.ping_interval
                try:
                    data = await asyncio.wait_for(reader.read(65536), timeout)
                except TimeoutError:
                    if pinged:
                        return f"no answer from the server for {timeout:g} s"
                    self.state.send_ping()  # silence: check the link is alive
                    self.flush()
                    pinged = True
                    continue
                if not data:
                    return "the server closed the connection"
                pinged = False
                self.show(self.state.receive_data(data))
                self._registered_once = self._registered_once or self.state.registered
                self.flush()
                await self._notify()
        except OSError as exc:
            return describe_error(exc)
        finally:
            self._writer = None
            writer.close()
            with suppress(OSError):  # the server vanished mid-close; nothing left to tell it
                await writer.wait_closed()

    def flush(self) -> None:
        """Write whatever the state queued (commands, answers) to the socket."""
        data = self.state.data_to_send()
        if data and self._writer is not None and not self._writer.is_closing():
            self._writer.write(data)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_until(self, predicate: Callable[[], bool], timeout: float | None = None) -> bool:
        """Wait until ``predicate()`` holds (checked after every change); False on timeout."""

        async def wait() -> None:
            async with self._changed:
                await self._changed.wait_for(predicate)

        try:
            await asyncio.wait_for(wait(), timeout)
        except TimeoutError:
            return False
        return True

    def stop(self) -> None:
        """Stop reconnecting, and close the link if it is up."""
        self._stop.set()
        if self._writer is not None:
            self._writer.close()

    async def quit(self, task: asyncio.Task[int], reason: str = "Leaving") -> int:
        """Send QUIT (if connected), wait a little for the server to close, return the code."""
        if not self.state.quitting:
            self.show(self.state.handle_input(f"/quit {reason}"))
            self.flush()
        return await self.finish(task)

    async def finish(self, task: asyncio.Task[int]) -> int:
        """After a QUIT was queued: give ``task`` (``run()``) time to see the server close."""
        if self.state.connected:
            with suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(task), self.options.quit_timeout)
        # Not connected (maybe in the middle of a connect attempt that could hang for
        # connect_timeout), or the server never closed after our QUIT: hang up ourselves.
        if not task.done():
            self.stop()
            task.cancel()
        await asyncio.wait({task})
        return 0 if task.cancelled() else task.result()
