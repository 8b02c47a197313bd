"""The interactive client: prompt_toolkit for typing, Rich for what arrives.

prompt_toolkit owns the bottom line of the terminal. Under ``patch_stdout`` everything printed
(here: Rich's output) is drawn *above* the prompt and the half-typed line is redrawn below it,
so incoming messages never clobber what you are typing. Input and network share one asyncio
loop: ``prompt_async`` waits for a line while :class:`Connection` reads the socket.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from datetime import datetime

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.input import Input
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.output import Output
from prompt_toolkit.patch_stdout import patch_stdout
from rich.console import Console

from chatkit.client.commands import COMMANDS
from chatkit.client.connection import Connection, Show
from chatkit.client.events import Event
from chatkit.client.options import ClientOptions
from chatkit.client.render import THEME, render
from chatkit.client.state import ClientState

__all__ = ["ChatCompleter", "run_terminal"]


class ChatCompleter(Completer):
    """Tab completes ``/commands``, ``#rooms`` and the nicks of the current room."""

    def __init__(self, state: ClientState) -> None:
        self.state = state

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterable[Completion]:
        before = document.text_before_cursor
        word = document.get_word_before_cursor(WORD=True)
        if before.startswith("/") and " " not in before:
            for name in COMMANDS:
                if name.startswith(before[1:].lower()):
                    yield Completion("/" + name, start_position=-len(before))
            return
        if not word:
            return
        if self.state.features.is_room(word):
            candidates = [name for name in self.state.windows if self.state.features.is_room(name)]
        else:
            candidates = self._nicks()
        # At the start of the line a nick is an address: "bob: ", as irssi does it.
        suffix = ": " if before == word and not self.state.features.is_room(word) else ""
        for candidate in candidates:
            if candidate.lower().startswith(word.lower()):
                yield Completion(candidate + suffix, start_position=-len(word))

    def _nicks(self) -> list[str]:
        state = self.state
        room = state.room(state.current) if state.current else None
        nicks = room.nicks() if room else []
        private = [name for name in state.windows if not state.features.is_room(name)]
        return [nick for nick in nicks + private if not state.is_me(nick)]


def leave_key_bindings() -> KeyBindings:
    """Ctrl-C leaves like Ctrl-D does: by ending the prompt with EOFError.

    prompt_toolkit's default raises KeyboardInterrupt, which asyncio treats as fatal inside a
    task and re-raises out of the event loop before we could send QUIT.
    """
    bindings = KeyBindings()

    @bindings.add("c-c")
    def _leave(event: KeyPressEvent) -> None:
        event.app.exit(exception=EOFError(), style="class:aborting")

    return bindings


def make_console() -> Console:
    """The Rich console for chat output, with chatkit's theme; never reads markup from data."""
    return Console(theme=THEME, highlight=False, emoji=False, soft_wrap=False)


async def run_terminal(
    options: ClientOptions,
    *,
    console: Console | None = None,
    input: Input | None = None,
    output: Output | None = None,
) -> int:
    """Run the interactive client until /quit, Ctrl-C, Ctrl-D or giving up; return the exit code.

    ``input``/``output`` let tests drive the prompt with ``create_pipe_input()`` and
    ``DummyOutput()``; ``console`` lets them capture what is shown.
    """
    state = ClientState(
        options.nick, rooms=options.rooms, password=options.password, debug=options.debug
    )
    # --8<-- [start:prompt]
    with patch_stdout(raw=True):
        chat_console = console or make_console()
        session: PromptSession[str] = PromptSession(
            message=lambda: f"[{state.current or state.nick}] ",
            completer=ChatCompleter(state),
            complete_while_typing=False,
            # The line you typed comes back as your own message: do not show it twice.
            erase_when_done=True,
            history=InMemoryHistory(),
            key_bindings=leave_key_bindings(),
            input=input,
            output=output,
        )

        def show(events: Sequence[Event]) -> None:
            now = datetime.now()
            for event in events:
                line = render(event, own_nick=state.nick, current=state.current, timestamp=now)
                if line is not None:
                    chat_console.print(line)
            session.app.invalidate()  # the prompt shows the current room: redraw it

        connection = Connection(state, options, show)
        task = asyncio.create_task(connection.run())
        return await _read_input(session, state, connection, task, show)
    # --8<-- [end:prompt]


async def _read_input(
    session: PromptSession[str],
    state: ClientState,
    connection: Connection,
    task: asyncio.Task[int],
    show: Show,
) -> int:
    while True:
        prompt = asyncio.create_task(session.prompt_async())
        await asyncio.wait({prompt, task}, return_when=asyncio.FIRST_COMPLETED)
        if not prompt.done():
            # The connection gave up for good: stop prompting, report its exit code.
            session.app.exit(result="")
            await asyncio.wait({prompt})
            return task.result()
        try:
            text = prompt.result()
        except EOFError:  # Ctrl-C / Ctrl-D: leave politely
            return await connection.quit(task)
        show(state.handle_input(text))
        connection.flush()
        if state.quitting:
            return await connection.finish(task)
