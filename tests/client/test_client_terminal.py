"""The interactive front end: prompt_toolkit driven through a pipe, Rich output captured."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from client_helpers import PlainClient, Transcript, options, registered
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from prompt_toolkit.input import PipeInput, create_pipe_input
from prompt_toolkit.output import DummyOutput
from rich.console import Console

from chatkit.client.render import THEME
from chatkit.client.terminal import ChatCompleter, run_terminal


def complete(completer: ChatCompleter, text: str) -> list[str]:
    document = Document(text, len(text))
    return [c.text for c in completer.get_completions(document, CompleteEvent(True))]


def test_tab_completes_commands_nicks_and_rooms() -> None:
    state = registered(rooms=("#lobby", "#python"))
    completer = ChatCompleter(state)
    assert complete(completer, "/jo") == ["/join"]
    assert complete(completer, "/w") == ["/who", "/whois", "/window"]
    assert complete(completer, "b") == ["bob: "]  # start of line: address them
    assert complete(completer, "thanks C") == ["carol"]
    assert complete(completer, "see #p") == ["#python"]
    assert complete(completer, "al") == []  # not ourselves


class Terminal:
    """``run_terminal`` for alice, typed into through a pipe, its screen captured."""

    def __init__(self, port: int) -> None:
        self.screen = Transcript()
        self.console = Console(file=self.screen, width=100, force_terminal=True, theme=THEME)
        self.port = port

    @asynccontextmanager
    async def running(self) -> AsyncIterator[tuple[PipeInput, asyncio.Task[int]]]:
        with create_pipe_input() as keys:
            client = asyncio.create_task(
                run_terminal(
                    options("alice", self.port),
                    console=self.console,
                    input=keys,
                    output=DummyOutput(),
                )
            )
            await self.screen.wait_for("You joined #lobby")
            yield keys, client


@pytest.mark.timeout(30)
def test_prompt_drives_join_talk_and_quit(chat_server: tuple[str, int]) -> None:
    terminal = Terminal(chat_server[1])
    screen = terminal.screen

    async def scenario() -> int:
        friend = await PlainClient.joined("friend", terminal.port, "#python")
        async with terminal.running() as (keys, client):
            keys.send_text("/join #python\r")
            await friend.out.wait_for("--> alice joined #python")
            keys.send_text("hello [red]friend[/red]\r")
            await friend.out.wait_for("[#python] <alice> hello [red]friend[/red]")
            friend.stdin.send("hi alice")
            await screen.wait_for("<friend> hi alice")
            keys.send_text("/quit see you\r")
            code = await client
        await friend.out.wait_for("<-- alice quit (Quit: see you)")
        assert await friend.finish() == 0
        return code

    assert asyncio.run(scenario()) == 0
    shown = screen.lines()
    assert any(line.endswith("--> You joined #python") for line in shown)
    assert any(line.endswith("<alice> hello [red]friend[/red]") for line in shown)  # literally
    assert any(line.endswith("<friend> hi alice") for line in shown)
    assert "\x1b[1;7mhi alice" in screen.getvalue()  # a mention of us: highlighted


@pytest.mark.timeout(30)
def test_ctrl_c_sends_quit_and_exits_0(chat_server: tuple[str, int]) -> None:
    terminal = Terminal(chat_server[1])

    async def scenario() -> tuple[int, Transcript]:
        watcher = await PlainClient.joined("watcher", terminal.port)
        async with terminal.running() as (keys, client):
            keys.send_text("half a line\x03")  # Ctrl-C while typing
            code = await client
        await watcher.out.wait_for("<-- alice quit (Quit: Leaving)")
        assert await watcher.finish() == 0
        return code, watcher.out

    code, watcher_out = asyncio.run(scenario())
    assert code == 0
    assert not any("half a line" in line for line in watcher_out.lines())
