"""What the client shows: typed display events, made by :class:`~chatkit.client.state.ClientState`.

The state turns server lines (and the user's own commands) into these frozen dataclasses; the
UI turns them into text. Keeping the two apart means the protocol logic is tested by comparing
events by value, and the rendering is tested by feeding it events, with no server at all.

``own`` is true when the event is about us (our message, our join, our nick change); the
renderer styles those differently. ``target`` of a message is where it was sent: a room such as
``#lobby``, or our own nick for a private message. ``window`` is where the UI should file it:
the room, or the other person's nick for a private conversation.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "Action",
    "ChatMessage",
    "Error",
    "Event",
    "Join",
    "Kick",
    "ModeChange",
    "Names",
    "NickChange",
    "Notice",
    "Part",
    "Quit",
    "Raw",
    "ServerInfo",
    "Status",
    "Topic",
]


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """A PRIVMSG: someone (or we) said ``text`` in ``window``."""

    window: str
    sender: str
    text: str
    own: bool = False
    #: A private message (to or from one person) rather than to a room.
    private: bool = False
    #: Our nick appears in the text as a word: the UI highlights it.
    mention: bool = False


@dataclass(frozen=True, slots=True)
class Action(ChatMessage):
    """A CTCP ACTION (``/me waves``), shown as ``* alice waves``."""


@dataclass(frozen=True, slots=True)
class Notice:
    """A NOTICE from a user or the server. ``window`` is None for server notices."""

    window: str | None
    sender: str
    text: str
    own: bool = False


@dataclass(frozen=True, slots=True)
class Join:
    """``nick`` joined ``room``."""

    room: str
    nick: str
    own: bool = False


@dataclass(frozen=True, slots=True)
class Part:
    """``nick`` left ``room``, maybe with a reason."""

    room: str
    nick: str
    reason: str = ""
    own: bool = False


@dataclass(frozen=True, slots=True)
class Quit:
    """``nick`` disconnected; ``rooms`` are the rooms we shared with them."""

    nick: str
    reason: str = ""
    rooms: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NickChange:
    """``old`` is now known as ``new``."""

    old: str
    new: str
    own: bool = False


@dataclass(frozen=True, slots=True)
class Kick:
    """``by`` removed ``nick`` from ``room``."""

    room: str
    nick: str
    by: str
    reason: str = ""
    own: bool = False


@dataclass(frozen=True, slots=True)
class Topic:
    """The topic of ``room``: on join (``setter`` None) or changed by ``setter``."""

    room: str
    topic: str
    setter: str | None = None


@dataclass(frozen=True, slots=True)
class Names:
    """The member list of ``room`` (with ``@`` / ``+`` prefixes), complete after 366."""

    room: str
    members: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ModeChange:
    """``by`` changed the modes of ``target`` (a room or a nick): ``modes`` like ``+o bob``."""

    target: str
    by: str
    modes: str


@dataclass(frozen=True, slots=True)
class ServerInfo:
    """An informational reply (welcome, MOTD, WHOIS, LIST ...): numeric ``code`` and text."""

    code: str
    text: str


@dataclass(frozen=True, slots=True)
class Error:
    """Something went wrong: an error numeric, a server ``ERROR``, or (``local``) bad usage."""

    text: str
    code: str = ""
    local: bool = False


@dataclass(frozen=True, slots=True)
class Status:
    """A message from the client itself: connecting, reconnecting, help text."""

    text: str


@dataclass(frozen=True, slots=True)
class Raw:
    """One protocol line, for ``--debug``: ``direction`` is ``"->"`` (sent) or ``"<-"``."""

    direction: str
    line: str


#: Everything the state can hand to the UI.
Event = (
    ChatMessage
    | Action
    | Notice
    | Join
    | Part
    | Quit
    | NickChange
    | Kick
    | Topic
    | Names
    | ModeChange
    | ServerInfo
    | Error
    | Status
    | Raw
)
