"""How events look: rendered to a Rich console writing into a string."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from rich.console import Console
from rich.text import Text

from chatkit.client.events import (
    Action,
    ChatMessage,
    Error,
    Event,
    Join,
    Kick,
    Names,
    NickChange,
    Notice,
    Part,
    Quit,
    Raw,
    ServerInfo,
    Status,
    Topic,
)
from chatkit.client.render import THEME, clean, nick_style, render

NOON = datetime(2026, 1, 1, 12, 5)
BOB_STYLE = "chat.nick.8"


def console() -> Console:
    return Console(file=io.StringIO(), width=80, force_terminal=True, theme=THEME)


def ansi(event: object, *, current: str | None = "#lobby") -> str:
    out = console()
    line = render(event, own_nick="alice", current=current, timestamp=NOON)  # type: ignore[arg-type]
    assert line is not None
    out.print(line)
    assert isinstance(out.file, io.StringIO)
    return out.file.getvalue()


def plain(event: object, *, current: str | None = "#lobby") -> str:
    line = render(event, own_nick="alice", current=current)  # type: ignore[arg-type]
    assert line is not None
    return line.plain


def test_markup_in_user_text_is_shown_literally() -> None:
    event = ChatMessage("#lobby", "[bold]bob", "[red]not red[/red] :smile: [link=x]y[/link]")
    output = ansi(event)
    assert "[red]not red[/red] :smile: [link=x]y[/link]" in output
    assert "[bold]bob" in output


def test_control_characters_cannot_reach_the_terminal() -> None:
    output = ansi(ChatMessage("#lobby", "bob", "\x1b[2Jgotcha \x02bold\x02 \x0304red\x03"))
    assert "\x1b[2J" not in output
    assert "\N{REPLACEMENT CHARACTER}[2Jgotcha bold red" in output
    assert clean("a\tb\x07c") == "a b\N{REPLACEMENT CHARACTER}c"


def test_nick_colours_are_stable_and_spread() -> None:
    assert nick_style("bob") == nick_style("bob") == nick_style("BOB")
    styles = {nick_style(nick) for nick in ["alice", "bob", "carol", "dave", "erin", "frank"]}
    assert len(styles) >= 3
    # Pinned: the colour comes from crc32, not hash(), so it survives restarts.
    assert nick_style("bob") == BOB_STYLE
    bob_alone = console()
    bob_alone.print(Text("bob", style=nick_style("bob")))
    assert isinstance(bob_alone.file, io.StringIO)
    bob_ansi = bob_alone.file.getvalue().rstrip("\n")
    assert bob_ansi in ansi(ChatMessage("#lobby", "bob", "one"))
    assert bob_ansi in ansi(ChatMessage("#python", "bob", "two"))
    first = ansi(ChatMessage("#lobby", "bob", "one")).split("bob")[0]
    second = ansi(ChatMessage("#lobby", "bob", "two")).split("bob")[0]
    assert first == second


def test_mention_is_highlighted_and_plain_text_is_not() -> None:
    normal = ansi(ChatMessage("#lobby", "bob", "hello there"))
    mentioned = ansi(ChatMessage("#lobby", "bob", "hello alice", mention=True))
    reverse = "\x1b[1;7m"  # bold reverse: the chat.mention style
    assert reverse in mentioned and reverse not in normal


def test_timestamp_and_room_tag() -> None:
    assert plain(ChatMessage("#lobby", "bob", "hi")) == "<bob> hi"
    assert plain(ChatMessage("#python", "bob", "hi")) == "[#python] <bob> hi"
    assert plain(ChatMessage("#lobby", "bob", "hi"), current=None) == "[#lobby] <bob> hi"
    assert "12:05" in ansi(ChatMessage("#lobby", "bob", "hi"))


def test_event_lines() -> None:
    assert plain(Action("#lobby", "bob", "waves")) == "* bob waves"
    assert plain(ChatMessage("bob", "bob", "psst", private=True)) == "*bob* psst"
    assert plain(ChatMessage("bob", "alice", "hi", own=True, private=True)) == "-> *bob* hi"
    assert plain(Notice(None, "srv", "hello")) == "-srv- hello"
    assert plain(Join("#lobby", "bob")) == "--> bob joined #lobby"
    assert plain(Join("#lobby", "alice", own=True)) == "--> You joined #lobby"
    assert plain(Part("#lobby", "bob", "bye")) == "<-- bob left #lobby (bye)"
    assert plain(Kick("#lobby", "bob", "alice", "spam")) == (
        "<-- bob was kicked from #lobby by alice (spam)"
    )
    assert plain(Topic("#lobby", "Hi", "bob")) == "--- bob set the topic of #lobby: Hi"
    assert plain(Names("#lobby", ("@bob", "alice"))) == "--- In #lobby: @bob alice"
    assert plain(ServerInfo("001", "Welcome")) == "-!- Welcome"
    assert plain(Error("No such nick", "401")) == "!!! No such nick"
    assert plain(Raw("->", "PRIVMSG #a :\x01ACTION x\x01")) == "-> PRIVMSG #a :^AACTION x^A"
    assert render(ServerInfo("002", ""), own_nick="a", current=None) is None


def test_styles_differ_by_kind() -> None:
    own = ansi(ChatMessage("#lobby", "alice", "mine", own=True))
    join = ansi(Join("#lobby", "bob"))
    error = ansi(Error("oops"))
    assert "\x1b[32m" in join  # chat.join: green
    assert "\x1b[1;31m" in error  # chat.error: bold red
    assert "\x1b[1;37m" in own  # chat.nick.own: bold white


@pytest.mark.parametrize(
    ("event", "style"),
    [
        (Join("#lobby", "bob"), "chat.join"),
        (Part("#lobby", "bob", "bye"), "chat.part"),
        (Quit("bob", "gone", ("#lobby",)), "chat.quit"),
        (Kick("#lobby", "bob", "alice"), "chat.kick"),
        (Notice(None, "srv", "hello"), "chat.notice"),
        (Error("No such nick", "401"), "chat.error"),
        (ChatMessage("#lobby", "alice", "mine", own=True), "chat.nick.own"),
        (Action("#lobby", "bob", "waves"), "chat.action"),
        (ChatMessage("bob", "bob", "psst", private=True), "chat.private"),
        (ChatMessage("#lobby", "bob", "hi alice", mention=True), "chat.mention"),
        (Raw("<-", "PING :x"), "chat.raw"),
        (Topic("#lobby", "Hi", "bob"), "chat.topic"),
        (NickChange("bob", "robert"), "chat.nick_change"),
        (ServerInfo("001", "Welcome"), "chat.info"),
        (Status("Connecting"), "chat.status"),
    ],
)
def test_each_kind_of_line_wears_its_theme_style(event: Event, style: str) -> None:
    line = render(event, own_nick="alice", current="#lobby")
    assert line is not None
    assert style in {str(span.style) for span in line.spans} | {str(line.style)}


def test_the_kinds_a_reader_must_tell_apart_look_different() -> None:
    kinds = [
        "chat.join",
        "chat.part",
        "chat.notice",
        "chat.error",
        "chat.nick.own",
        "chat.action",
        "chat.private",
        "chat.mention",
        "chat.raw",
    ]
    looks = {str(THEME.styles[kind]) for kind in kinds}
    assert len(looks) == len(kinds)
    assert THEME.styles["chat.raw"].dim  # --debug lines: dimmed, so the chat stands out
