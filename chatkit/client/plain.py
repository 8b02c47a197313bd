"""Plain mode: lines from stdin go to the room, events go to stdout as plain text.

Used when stdin is not a terminal (``echo hi | chatkit join --nick bot``) or with ``--plain``.
Each input line waits until we are registered and in the room; at end of input we make sure the
server has processed every line (a PING, answered in order, comes back as a PONG), then send
QUIT and exit 0. Lines starting with ``/`` are commands, exactly as in the terminal client.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Sequence
from contextlib import suppress
from typing import TextIO

from chatkit.client.connection import Connection
from chatkit.client.events import Error, Event
from chatkit.client.options import ClientOptions
from chatkit.client.render import render
from chatkit.client.state import ClientState

__all__ = ["run_plain"]

#: Stands in the input queue for "stop now" (Ctrl-C), as None stands for end of input.
_INTERRUPT = "\x00interrupt"


def read_lines_in_thread(
    stream: TextIO, loop: asyncio.AbstractEventLoop
) -> asyncio.Queue[str | None]:
    """Read ``stream`` line by line in a daemon thread; None marks end of input.

    A daemon thread rather than ``loop.run_in_executor``: a thread blocked in ``readline`` on a
    terminal cannot be interrupted, and the executor would make ``asyncio.run`` wait for it at
    exit. A daemon thread simply dies with the process.
    """
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def pump() -> None:
        try:
            for line in stream:
                loop.call_soon_threadsafe(queue.put_nowait, line.rstrip("\r\n"))
        except (OSError, ValueError):
            pass  # stdin closed under us: treat as end of input
        with suppress(RuntimeError):  # the loop is already closed: nobody is listening
            loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=pump, name="chatkit-stdin", daemon=True).start()
    return queue


async def run_plain(
    options: ClientOptions, stdin: TextIO, stdout: TextIO, stderr: TextIO | None = None
) -> int:
    """Run the client on text streams; return the exit code.

    Errors (``!!!`` lines) go to ``stderr`` when it is given, so a script that saves the chat
    (``chatkit join ... > log``) still shows why it failed; without it they go to ``stdout``.
    """
    state = ClientState(
        options.nick, rooms=options.rooms, password=options.password, debug=options.debug
    )

    def show(events: Sequence[Event]) -> None:
        for event in events:
            line = render(event, own_nick=state.nick, current=None)
            if line is not None:
                stream = stderr if stderr is not None and isinstance(event, Error) else stdout
                print(line.plain, file=stream, flush=True)

    loop = asyncio.get_running_loop()
    connection = Connection(state, options, show)
    task = asyncio.create_task(connection.run())
    lines = read_lines_in_thread(stdin, loop)
    with suppress(NotImplementedError, RuntimeError):  # no signals on Windows / off-main-thread
        for signum in (signal.SIGINT, signal.SIGTERM):  # Ctrl-C, or kill PID: QUIT, then exit
            loop.add_signal_handler(signum, lines.put_nowait, _INTERRUPT)

    while True:
        next_line = asyncio.create_task(lines.get())
        await asyncio.wait({next_line, task}, return_when=asyncio.FIRST_COMPLETED)
        if not next_line.done():
            next_line.cancel()  # the connection gave up (or the server refused us for good)
            return task.result()
        line = next_line.result()
        if line == _INTERRUPT:
            return await connection.quit(task, "Interrupted")
        if line is None:
            break
        if not await _wait_ready(connection, state, task):
            return task.result()
        show(state.handle_input(line))
        connection.flush()
        if state.quitting:  # the input said /quit
            return await connection.finish(task)

    # --8<-- [start:drain]
    # End of input: once the server has answered a PING sent after our last line, it has
    # handled every line before it, so QUIT cannot overtake our messages.
    if not await _wait_ready(connection, state, task):
        return task.result()
    token = state.send_ping()
    connection.flush()
    await connection.wait_until(lambda: token in state.pongs or not state.connected, 30)
    return await connection.quit(task, "End of input")
    # --8<-- [end:drain]


async def _wait_ready(connection: Connection, state: ClientState, task: asyncio.Task[int]) -> bool:
    """Wait until registered and in the rooms; False if the connection gave up instead."""
    waiter = asyncio.create_task(connection.wait_until(lambda: state.ready or task.done()))
    await asyncio.wait({waiter, task}, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    return not task.done()
