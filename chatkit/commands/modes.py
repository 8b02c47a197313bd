"""MODE: user modes (only ``+i``) and room modes (``+b +n +t +k +l +o``).

A room's modes are announced in ISUPPORT as ``CHANMODES=b,k,l,nt`` and ``PREFIX=(o)@``:
``b`` is a list (a mask adds or removes one entry; no mask asks for the list), ``k`` and
``o`` always take a parameter, ``l`` only when set, ``n`` and ``t`` never. Every
change that took effect is broadcast to the room in one line, e.g.
``:alice!~a@host MODE #room +o-l bob``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatkit import numerics as rpl
from chatkit.casemap import casefold, mask_pattern, normalize_mask
from chatkit.lines import encode_line
from chatkit.protocol import MAX_LINE_BYTES
from chatkit.room import Ban

if TYPE_CHECKING:
    from chatkit.core import ChatCore
    from chatkit.protocol import Message
    from chatkit.room import Room
    from chatkit.session import Session

#: Longest room key we accept (RFC 2812's limit, and the common one on other servers).
_KEY_LENGTH = 23
#: Longest ban mask we accept: room for the longest ``nick!user@host`` we can hand out
#: (30 + 10 + an IPv6 address), so one change always fits in a MODE line.
_MASK_LENGTH = 100
#: Most digits a +l limit may have: any real room fits, and the number stays short.
_LIMIT_DIGITS = 9


def mode(core: ChatCore, session: Session, message: Message) -> None:
    """MODE <nick|room> [<modestring> [<args>...]]: show or change modes."""
    if message.params[0].startswith("#"):
        _room_mode(core, session, message)
    else:
        _user_mode(core, session, message)


def _user_mode(core: ChatCore, session: Session, message: Message) -> None:
    name = message.params[0]
    target = core.find_nick(name)
    if target is None or not target.registered:
        core.reply(session, rpl.ERR_NOSUCHNICK, name, "No such nick/channel")
        return
    if target is not session:
        verb = "change mode for" if len(message.params) > 1 else "view modes for"
        core.reply(session, rpl.ERR_USERSDONTMATCH, f"Can't {verb} other users")
        return
    if len(message.params) < 2:
        core.reply(session, rpl.RPL_UMODEIS, "+i" if session.invisible else "+")
        return
    sign = "+"
    unknown = False
    changed = ""
    for char in message.params[1]:
        if char in "+-":
            sign = char
        elif char == "i":
            wanted = sign == "+"
            if session.invisible != wanted:
                session.invisible = wanted
                core.invisible_count += 1 if wanted else -1
                changed += sign + "i"
        else:
            unknown = True
    if changed:
        session.send(encode_line(session.name, "MODE", session.name, changed))
    if unknown:
        core.reply(session, rpl.ERR_UMODEUNKNOWNFLAG, "Unknown MODE flag")


def _room_mode(core: ChatCore, session: Session, message: Message) -> None:
    params = message.params
    room = core.find_room(params[0])
    if room is None:
        core.reply(session, rpl.ERR_NOSUCHCHANNEL, params[0], "No such channel")
        return
    if len(params) < 2:
        core.reply(
            session, rpl.RPL_CHANNELMODEIS, room.name, *room.mode_string(session in room.members)
        )
        core.reply(session, rpl.RPL_CREATIONTIME, room.name, str(room.created))
        return
    changes, list_bans = _parse_changes(core, session, params[1], list(params[2:]))
    if list_bans:
        send_ban_list(core, session, room)
    if not changes:
        return
    if session not in room.operators:
        core.reply(session, rpl.ERR_CHANOPRIVSNEEDED, room.name, "You're not channel operator")
        return
    applied = [done for change in changes if (done := _apply(core, session, room, *change))]
    for line in _mode_lines(session.prefix, room.name, applied):
        room.broadcast(line)


Change = tuple[str, str, str | None]


def send_ban_list(core: ChatCore, session: Session, room: Room) -> None:
    """367 per ban mask (mask, who set it, when), then 368."""
    for ban in room.bans.values():
        core.reply(session, rpl.RPL_BANLIST, room.name, ban.mask, ban.setter, str(ban.time))
    core.reply(session, rpl.RPL_ENDOFBANLIST, room.name, "End of channel ban list")


def _parse_changes(
    core: ChatCore, session: Session, modestring: str, args: list[str]
) -> tuple[list[Change], bool]:
    """Split ``+kl-n key 10`` into ``[("+", "k", "key"), ("+", "l", "10"), ("-", "n", None)]``.

    Also says whether the ban list was asked for (``b`` with no mask left for it).
    """
    changes: list[Change] = []
    list_bans = False
    sign = "+"
    with_arg = 0
    for char in modestring:
        if char in "+-":
            sign = char
        elif char == "b" and not args:
            list_bans = True
        elif char in "nt" or (char in "kl" and sign == "-"):
            # -k takes the key as a parameter on most servers; accept it with or without.
            if char == "k" and args:
                args.pop(0)
            changes.append((sign, char, None))
        elif char in "bklo":
            if not args:
                core.reply(session, rpl.ERR_NEEDMOREPARAMS, "MODE", "Not enough parameters")
                continue
            with_arg += 1
            if with_arg > core.config.max_modes:
                break
            changes.append((sign, char, args.pop(0)))
        else:
            core.reply(session, rpl.ERR_UNKNOWNMODE, char, "is unknown mode char to me")
    return changes, list_bans


def _apply(
    core: ChatCore, session: Session, room: Room, sign: str, char: str, arg: str | None
) -> Change | None:
    """Apply one change; return it as it should be broadcast, or ``None`` if nothing changed."""
    on = sign == "+"
    if char == "n":
        if room.no_external == on:
            return None
        room.no_external = on
    elif char == "t":
        if room.topic_lock == on:
            return None
        room.topic_lock = on
    elif char == "k":
        if not on:
            if room.password is None:
                return None
            room.password = None
            return (sign, char, "*")
        if not arg or len(arg) > _KEY_LENGTH or any(ch in arg for ch in " ,:"):
            # "*", not the key: it may hold a space, and it is not worth repeating anyway.
            core.reply(session, rpl.ERR_INVALIDMODEPARAM, room.name, "k", "*", "Invalid key")
            return None
        room.password = arg
    elif char == "l":
        if not on:
            if room.limit is None:
                return None
            room.limit = None
            return (sign, char, None)
        valid = arg is not None and arg.isascii() and arg.isdigit()
        if arg is None or not valid or len(arg) > _LIMIT_DIGITS or int(arg) <= 0:
            core.reply(
                session, rpl.ERR_INVALIDMODEPARAM, room.name, "l", arg or "*", "Invalid limit"
            )
            return None
        room.limit = int(arg)
        arg = str(room.limit)
    elif char == "b" and arg is not None:
        return _apply_ban(core, session, room, on, arg)
    elif char == "o" and arg is not None:
        target = core.find_nick(arg)
        if target is None or not target.registered:
            core.reply(session, rpl.ERR_NOSUCHNICK, arg, "No such nick/channel")
            return None
        if target not in room.members:
            core.reply(
                session,
                rpl.ERR_USERNOTINCHANNEL,
                target.name,
                room.name,
                "They aren't on that channel",
            )
            return None
        if (target in room.operators) == on:
            return None
        if on:
            room.operators.add(target)
        else:
            room.operators.discard(target)
        arg = target.name
    return (sign, char, arg)


def _apply_ban(core: ChatCore, session: Session, room: Room, on: bool, arg: str) -> Change | None:
    mask = normalize_mask(arg)
    key = casefold(mask)
    if on and len(mask.encode("utf-8", "replace")) > _MASK_LENGTH:
        core.reply(session, rpl.ERR_INVALIDMODEPARAM, room.name, "b", "*", "Ban mask too long")
        return None
    if not on:
        ban = room.bans.pop(key, None)
        return ("-", "b", ban.mask) if ban is not None else None
    if key in room.bans:
        return None
    if len(room.bans) >= core.config.max_bans:
        core.reply(session, rpl.ERR_BANLISTFULL, room.name, mask, "Channel ban list is full")
        return None
    room.bans[key] = Ban(mask, mask_pattern(mask), session.prefix, core.wall_time())
    return ("+", "b", mask)


def _mode_lines(source: str, room_name: str, applied: list[Change]) -> list[bytes]:
    """The MODE lines that announce ``applied``: one line, unless long masks would take it
    past 512 bytes; then as many lines as needed, each a valid MODE of its own."""
    lines: list[bytes] = []
    batch: list[Change] = []
    for change in applied:
        line = encode_line(source, "MODE", room_name, *_format([*batch, change]), trailing=False)
        if batch and len(line) > MAX_LINE_BYTES:
            lines.append(encode_line(source, "MODE", room_name, *_format(batch), trailing=False))
            batch = []
        batch.append(change)
    if batch:
        lines.append(encode_line(source, "MODE", room_name, *_format(batch), trailing=False))
    return lines


def _format(applied: list[Change]) -> list[str]:
    """``[("+", "o", "bob"), ("-", "l", None)]`` becomes ``["+o-l", "bob"]``."""
    flags = ""
    sign = ""
    args: list[str] = []
    for change_sign, char, arg in applied:
        if change_sign != sign:
            flags += change_sign
            sign = change_sign
        flags += char
        if arg is not None:
            args.append(arg)
    return [flags, *args]
