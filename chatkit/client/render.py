"""How events look: Rich text with named styles, or the same words as plain lines.

Every style has a name in :data:`THEME` (``chat.join``, ``chat.nick.own`` ...), so a user can
restyle the client without touching this code. Text that came over the network is *never*
parsed as Rich markup: it is appended to a :class:`rich.text.Text` as plain characters, after
:func:`clean` removed IRC formatting codes and terminal control characters (a message holding
``ESC [2J`` must not clear anyone's screen).
"""

from __future__ import annotations

import re
import zlib
from datetime import datetime

from rich.text import Text
from rich.theme import Theme

from chatkit.client.events import (
    Action,
    ChatMessage,
    Error,
    Event,
    Join,
    Kick,
    ModeChange,
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

__all__ = ["NICK_COLOURS", "THEME", "clean", "nick_style", "render"]

#: Nick colours: a nick always gets the same one (see :func:`nick_style`). Red is left out,
#: because red means "error".
NICK_COLOURS = (
    "cyan",
    "green",
    "yellow",
    "blue",
    "magenta",
    "bright_cyan",
    "bright_green",
    "bright_yellow",
    "bright_blue",
    "bright_magenta",
    "dark_orange",
    "orchid",
)

THEME = Theme(
    {
        "chat.time": "dim",
        "chat.room": "bold blue",
        "chat.nick.own": "bold white",
        "chat.text.own": "default",
        "chat.private": "bold magenta",
        "chat.mention": "bold reverse",
        "chat.action": "italic magenta",
        "chat.notice": "yellow",
        "chat.join": "green",
        "chat.part": "dark_orange",
        "chat.quit": "dark_orange",
        "chat.kick": "bold dark_orange",
        "chat.nick_change": "cyan",
        "chat.topic": "bold cyan",
        "chat.mode": "cyan",
        "chat.info": "dim cyan",
        "chat.status": "italic",
        "chat.error": "bold red",
        "chat.raw": "dim",
        **{f"chat.nick.{index}": colour for index, colour in enumerate(NICK_COLOURS)},
    }
)

# mIRC formatting: bold, colour (\x03 with up to two numbers), hex colour, reset, monospace,
# reverse, italic, strikethrough, underline. The client shows the words without them.
_FORMATTING = re.compile(
    r"\x03(?:\d{1,2}(?:,\d{1,2})?)?|\x04(?:[0-9a-fA-F]{6}(?:,[0-9a-fA-F]{6})?)?|[\x02\x0f\x11\x16\x1d\x1e\x1f]"
)
# Whatever control characters remain (ESC, BEL, backspace, C1 controls such as CSI) could
# drive the terminal; they are shown as a visible replacement character instead.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def clean(text: str) -> str:
    """Remove IRC formatting codes and make control characters visible and harmless."""
    return _CONTROL.sub("\N{REPLACEMENT CHARACTER}", _FORMATTING.sub("", text)).replace("\t", " ")


def nick_style(nick: str) -> str:
    """The theme style for ``nick``: a hash of the lower-cased nick picks a palette colour.

    ``zlib.crc32`` rather than ``hash()``, whose value changes every run for strings: a
    friend's nick should keep its colour from one session to the next.
    """
    return f"chat.nick.{zlib.crc32(nick.lower().encode()) % len(NICK_COLOURS)}"


def render(
    event: Event,
    *,
    own_nick: str,
    current: str | None,
    timestamp: datetime | None = None,
) -> Text | None:
    """One event as one line of Rich text, or None for an event not worth a line.

    ``current`` is the window the user is looking at: messages for any other window are
    tagged with its name. Plain mode passes None, so every room message carries its room.
    ``timestamp`` adds ``HH:MM`` in front.
    """
    body = _body(event, own_nick, current)
    if body is None:
        return None
    line = Text()
    if timestamp is not None:
        line.append(timestamp.strftime("%H:%M "), style="chat.time")
    line.append_text(body)
    return line


def _nick(nick: str, own_nick: str, *, own: bool = False) -> Text:
    own = own or nick.lower() == own_nick.lower()
    return Text(clean(nick), style="chat.nick.own" if own else nick_style(nick))


def _member(entry: str, own_nick: str) -> Text:
    # "@bob": the prefix plain, the nick in bob's colour (the same as in his messages).
    nick = entry.lstrip("~&@%+")
    return Text.assemble(entry[: len(entry) - len(nick)], _nick(nick, own_nick))


def _tag(window: str | None, current: str | None) -> Text:
    if window is None or (current is not None and window.lower() == current.lower()):
        return Text()
    return Text.assemble(("[", "chat.room"), (clean(window), "chat.room"), ("] ", "chat.room"))


def _line(style: str, marker: str, *parts: str | Text) -> Text:
    text = Text(marker + " ", style=style)
    for part in parts:
        if isinstance(part, Text):
            text.append_text(part)
        else:
            text.append(clean(part), style=style)
    return text


def _reason(reason: str) -> str:
    return f" ({reason})" if reason else ""


def _body(event: Event, own_nick: str, current: str | None) -> Text | None:
    if isinstance(event, Action):  # before ChatMessage: an Action is a ChatMessage
        text = Text("* ", style="chat.action")
        text.append_text(_nick(event.sender, own_nick))
        text.append(
            " " + clean(event.text), style="chat.mention" if event.mention else "chat.action"
        )
        return Text.assemble(_tag(event.window, current), text)
    if isinstance(event, ChatMessage):
        return _chat_message(event, own_nick, current)
    if isinstance(event, Notice):
        head = Text.assemble(
            ("-", "chat.notice"), _nick(event.sender, own_nick), ("- ", "chat.notice")
        )
        return Text.assemble(_tag(event.window, current), head, (clean(event.text), "chat.notice"))
    if isinstance(event, Join):
        who = _nick("You" if event.own else event.nick, own_nick, own=event.own)
        return _line("chat.join", "-->", who, f" joined {event.room}")
    if isinstance(event, Part):
        who = _nick("You" if event.own else event.nick, own_nick, own=event.own)
        return _line("chat.part", "<--", who, f" left {event.room}{_reason(event.reason)}")
    if isinstance(event, Quit):
        return _line(
            "chat.quit", "<--", _nick(event.nick, own_nick), f" quit{_reason(event.reason)}"
        )
    if isinstance(event, Kick):
        victim = "You were" if event.own else f"{event.nick} was"
        return _line(
            "chat.kick",
            "<--",
            f"{victim} kicked from {event.room} by {event.by}{_reason(event.reason)}",
        )
    if isinstance(event, NickChange):
        if event.own:
            return _line("chat.nick_change", "---", f"You are now known as {event.new}")
        return _line(
            "chat.nick_change",
            "---",
            _nick(event.old, own_nick),
            " is now ",
            _nick(event.new, own_nick),
        )
    if isinstance(event, Topic):
        if event.setter is None:
            return _line("chat.topic", "---", f"Topic of {event.room}: {event.topic}")
        return _line(
            "chat.topic", "---", f"{event.setter} set the topic of {event.room}: {event.topic}"
        )
    if isinstance(event, Names):
        names = Text(" ").join(_member(name, own_nick) for name in event.members)
        return _line("chat.info", "---", f"In {event.room}: ", names)
    if isinstance(event, ModeChange):
        return _line("chat.mode", "---", f"{event.by} sets mode {event.modes} on {event.target}")
    if isinstance(event, ServerInfo):
        return _line("chat.info", "-!-", event.text) if event.text else None
    if isinstance(event, Error):
        return _line("chat.error", "!!!", event.text)
    if isinstance(event, Status):
        return _line("chat.status", "-*-", event.text)
    if isinstance(event, Raw):
        # CTCP's \x01 delimiters shown as ^A, the way a learner would read them in a hex dump.
        return _line("chat.raw", event.direction, event.line.replace("\x01", "^A"))
    return None


# --8<-- [start:chat-message]
def _chat_message(event: ChatMessage, own_nick: str, current: str | None) -> Text:
    text_style = "chat.mention" if event.mention else ("chat.text.own" if event.own else "")
    if event.private:
        # *bob* hi (from bob), or -> *bob* hi (we wrote to bob).
        marker = "-> " if event.own else ""
        who = event.window if event.own else event.sender
        head = Text.assemble(
            (marker + "*", "chat.private"), _nick(who, own_nick), ("* ", "chat.private")
        )
        return Text.assemble(head, (clean(event.text), text_style))
    head = Text.assemble("<", _nick(event.sender, own_nick), "> ")
    return Text.assemble(_tag(event.window, current), head, (clean(event.text), text_style))
    # --8<-- [end:chat-message]
