"""Talking: PRIVMSG and NOTICE to rooms and nicks, and AWAY.

PRIVMSG to a room is the hot path of the server: the line is encoded once and the same bytes
go to every member (see :meth:`chatkit.room.Room.broadcast`). NOTICE works the same way but,
as the spec says, never causes an automatic reply, not even an error: two bots answering each
other's notices would otherwise loop forever.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatkit import numerics as rpl
from chatkit.casemap import casefold
from chatkit.lines import encode_relay, truncate_utf8

if TYPE_CHECKING:
    from chatkit.core import ChatCore
    from chatkit.protocol import Message
    from chatkit.session import Session


def privmsg(core: ChatCore, session: Session, message: Message) -> None:
    """PRIVMSG <target>{,<target>} :<text>: a chat line to rooms and/or nicks."""
    session.idle_since = core.now
    _deliver(core, session, message, "PRIVMSG", errors=True)


def notice(core: ChatCore, session: Session, message: Message) -> None:
    """NOTICE <target>{,<target>} :<text>: like PRIVMSG, but never an error reply."""
    _deliver(core, session, message, "NOTICE", errors=False)


def _deliver(
    core: ChatCore, session: Session, message: Message, command: str, errors: bool
) -> None:
    params = message.params
    if not params or not params[0]:
        if errors:
            core.reply(session, rpl.ERR_NORECIPIENT, f"No recipient given ({command})")
        return
    if len(params) < 2 or not params[1]:
        if errors:
            core.reply(session, rpl.ERR_NOTEXTTOSEND, "No text to send")
        return
    text = params[1]
    targets = params[0].split(",")
    if len(targets) == 1:
        _deliver_one(core, session, command, targets[0], text, errors)
        return
    limit = core.config.max_targets
    done: set[str] = set()
    for index, target in enumerate(targets):
        if index >= limit:
            if errors:
                core.reply(session, rpl.ERR_TOOMANYTARGETS, target, "Too many targets")
            continue
        key = casefold(target)
        if key not in done:
            done.add(key)
            _deliver_one(core, session, command, target, text, errors)


# --8<-- [start:deliver-one]
def _deliver_one(
    core: ChatCore, session: Session, command: str, target: str, text: str, errors: bool
) -> None:
    if target.startswith("#"):
        room = core.rooms.get(casefold(target))
        if room is None:
            if errors:
                core.reply(session, rpl.ERR_NOSUCHCHANNEL, target, "No such channel")
            return
        if (room.no_external and session not in room.members) or room.is_banned(session):
            if errors:
                core.reply(session, rpl.ERR_CANNOTSENDTOCHAN, room.name, "Cannot send to channel")
            return
        room.broadcast(encode_relay(session.prefix, command, room.name, text), session)
        return
    other = core.nicks.get(casefold(target))
    if other is None or not other.registered:
        if errors:
            core.reply(session, rpl.ERR_NOSUCHNICK, target, "No such nick/channel")
        return
    other.send(encode_relay(session.prefix, command, other.name, text))
    if errors and other.away is not None:
        core.reply(session, rpl.RPL_AWAY, other.name, other.away)


# --8<-- [end:deliver-one]


# --8<-- [start:away]
def away(core: ChatCore, session: Session, message: Message) -> None:
    """AWAY [:<message>]: mark yourself away (306), or back with no message (305)."""
    text = message.params[0] if message.params else ""
    if not text:
        session.away = None
        core.reply(session, rpl.RPL_UNAWAY, "You are no longer marked as being away")
        return
    session.away = truncate_utf8(text, core.config.away_length)
    core.reply(session, rpl.RPL_NOWAWAY, "You have been marked as being away")


# --8<-- [end:away]
