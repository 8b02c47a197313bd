"""A room (an IRC channel): its members, operators, topic and modes.

Members live in a dict from :class:`~chatkit.session.Session` to that session's bound
``transport.send``, in join order. :meth:`Room.broadcast` is the hot path of the whole server:
one encoded line handed to every member with nothing but a loop and a call.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from chatkit.casemap import casefold

if TYPE_CHECKING:
    from chatkit.session import Session

__all__ = ["Ban", "Room"]


class Ban(NamedTuple):
    """One +b entry: the mask as set, its compiled form, who set it and when (367)."""

    mask: str
    pattern: re.Pattern[str]
    setter: str
    time: int


class Room:
    """One room. Created by the first JOIN, forgotten when the last member leaves."""

    __slots__ = (
        "bans",
        "created",
        "key",
        "limit",
        "members",
        "name",
        "no_external",
        "operators",
        "password",
        "topic",
        "topic_lock",
        "topic_setter",
        "topic_time",
    )

    def __init__(self, name: str, key: str, created: int) -> None:
        #: The name as its creator spelled it, and the casefolded form used as dict key.
        self.name = name
        self.key = key
        #: Wall-clock creation time (329 RPL_CREATIONTIME).
        self.created = created
        self.members: dict[Session, Callable[[bytes], None]] = {}
        self.operators: set[Session] = set()
        self.topic = ""
        self.topic_setter = ""
        self.topic_time = 0
        #: Mode +n: only members may send to the room. New rooms get +nt, as on most networks.
        self.no_external = True
        #: Mode +t: only operators may change the topic.
        self.topic_lock = True
        #: Mode +k: the key needed to join, or ``None``.
        self.password: str | None = None
        #: Mode +l: the most members the room takes, or ``None``.
        self.limit: int | None = None
        #: Mode +b: ban masks by casefolded mask, in the order they were set.
        self.bans: dict[str, Ban] = {}

    def add(self, session: Session) -> None:
        """Add a member; the first one becomes an operator."""
        if not self.members:
            self.operators.add(session)
        self.members[session] = session.send

    def remove(self, session: Session) -> None:
        """Forget a member (and its operator status)."""
        self.members.pop(session, None)
        self.operators.discard(session)

    def is_banned(self, session: Session) -> bool:
        """True when a +b mask matches ``nick!user@host``. Operators are never banned."""
        if not self.bans or session in self.operators:
            return False
        prefix = casefold(session.prefix)
        return any(ban.pattern.fullmatch(prefix) for ban in self.bans.values())

    # --8<-- [start:broadcast]
    def broadcast(self, data: bytes, exclude: Session | None = None) -> None:
        """Send the same ``data`` object to every member except ``exclude``."""
        for member, send in self.members.items():
            if member is not exclude:
                send(data)

    # --8<-- [end:broadcast]

    def mode_string(self, show_key: bool) -> tuple[str, ...]:
        """The room's modes as MODE parameters, e.g. ``("+klnt", "secret", "10")``.

        The key is shown only to members (``show_key``), as other servers do.
        """
        flags = "+"
        args: list[str] = []
        if self.password is not None:
            flags += "k"
            args.append(self.password if show_key else "*")
        if self.limit is not None:
            flags += "l"
            args.append(str(self.limit))
        if self.no_external:
            flags += "n"
        if self.topic_lock:
            flags += "t"
        return (flags, *args)

    def prefixed_nick(self, session: Session) -> str:
        """``@nick`` for an operator, ``nick`` otherwise (NAMES and WHO)."""
        return "@" + session.name if session in self.operators else session.name
