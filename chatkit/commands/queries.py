"""Questions about users: WHO, WHOIS, USERHOST and ISON.

None of these change any state; they only read the core's tables and reply. What the server
says about itself (MOTD, LUSERS, VERSION) is in :mod:`chatkit.commands.server_info`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatkit import numerics as rpl
from chatkit.casemap import casefold, mask_pattern

if TYPE_CHECKING:
    from chatkit.core import ChatCore
    from chatkit.protocol import Message
    from chatkit.room import Room
    from chatkit.session import Session


def _who_line(core: ChatCore, asker: Session, target: Session, room: Room | None) -> None:
    # 352: <room> <user> <host> <server> <nick> <H|G>[@] :<hopcount> <realname>
    flags = "G" if target.away is not None else "H"
    if room is not None and target in room.operators:
        flags += "@"
    core.reply(
        asker,
        rpl.RPL_WHOREPLY,
        room.name if room is not None else "*",
        target.user or "*",
        target.host,
        core.server_name,
        target.name,
        flags,
        f"0 {target.realname}",
    )


def who(core: ChatCore, session: Session, message: Message) -> None:
    """WHO [<room>|<nick>|<mask>]: 352 per matching user, then 315 with the mask as sent.

    For a room: its members (invisible ones only if you are a member too). For an exact nick:
    that user, +i or not (WHOIS would tell as much). Otherwise the mask is matched against
    nick, user, host and real name; ``*`` or ``0`` means everyone visible (users sharing a
    room with you, and everyone who is not +i).
    """
    mask = message.params[0] if message.params else "*"
    exact = None if "*" in mask or "?" in mask else core.find_nick(mask)
    if mask.startswith("#"):
        room = core.find_room(mask)
        if room is not None:
            member = session in room.members
            for target in room.members:
                if member or not target.invisible:
                    _who_line(core, session, target, room)
    elif exact is not None:
        if exact.registered:
            _who_line(core, session, exact, None)
    else:
        pattern = mask_pattern("*" if mask == "0" else mask)
        peers = core.peers(session)
        for target in core.registered_sessions():
            if target.invisible and target is not session and target not in peers:
                continue
            fields = (target.name, target.user or "", target.host, target.realname)
            if any(pattern.fullmatch(casefold(value)) for value in fields):
                _who_line(core, session, target, None)
    core.reply(session, rpl.RPL_ENDOFWHO, mask, "End of /WHO list")


def whois(core: ChatCore, session: Session, message: Message) -> None:
    """WHOIS [<server>] <nick>: 311, 319, 312, 301, 317 and 318 (or 401 and 318).

    One nick per command (``TARGMAX=WHOIS:1``): in ``WHOIS a,b`` only ``a`` is looked up,
    and 318 repeats ``a,b`` exactly as sent, as modern.ircdocs.horse asks.
    """
    if not message.params or not message.params[-1]:
        core.reply(session, rpl.ERR_NONICKNAMEGIVEN, "No nickname given")
        return
    asked = message.params[-1]
    name = asked.split(",")[0]
    target = core.find_nick(name)
    if target is None or not target.registered:
        core.reply(session, rpl.ERR_NOSUCHNICK, name or "*", "No such nick/channel")
        core.reply(session, rpl.RPL_ENDOFWHOIS, asked, "End of /WHOIS list")
        return
    nick = target.name
    core.reply(
        session, rpl.RPL_WHOISUSER, nick, target.user or "*", target.host, "*", target.realname
    )
    rooms = (
        ("@" if target in room.operators else "") + room.name
        for room in target.rooms.values()
        if not target.invisible or session in room.members or session is target
    )
    core.reply_list(session, rpl.RPL_WHOISCHANNELS, (nick,), rooms)
    core.reply(session, rpl.RPL_WHOISSERVER, nick, core.server_name, core.config.network)
    if target.away is not None:
        core.reply(session, rpl.RPL_AWAY, nick, target.away)
    idle = int(core.now - target.idle_since) if target.idle_since is not None else 0
    core.reply(
        session,
        rpl.RPL_WHOISIDLE,
        nick,
        str(max(idle, 0)),
        str(target.signon),
        "seconds idle, signon time",
    )
    core.reply(session, rpl.RPL_ENDOFWHOIS, asked, "End of /WHOIS list")


def whowas(core: ChatCore, session: Session, message: Message) -> None:
    """WHOWAS <nick> [<count>]: chatkit keeps no nick history, so always 406 then 369.

    Clients ask on their own (irssi does after a WHOIS gets 401): an honest "there was no
    such nickname" reads better in their status window than 421 Unknown command.
    """
    if not message.params or not message.params[0]:
        core.reply(session, rpl.ERR_NONICKNAMEGIVEN, "No nickname given")
        return
    asked = message.params[0]
    core.reply(session, rpl.ERR_WASNOSUCHNICK, asked, "There was no such nickname")
    core.reply(session, rpl.RPL_ENDOFWHOWAS, asked, "End of WHOWAS")


def userhost(core: ChatCore, session: Session, message: Message) -> None:
    """USERHOST <nick>{ <nick>}: 302 with ``nick=+user@host`` (``-`` when away)."""
    replies = []
    for name in message.params[:5]:
        target = core.find_nick(name)
        if target is not None and target.registered:
            away = "-" if target.away is not None else "+"
            replies.append(f"{target.name}={away}{target.user}@{target.host}")
    core.reply(session, rpl.RPL_USERHOST, " ".join(replies))


def ison(core: ChatCore, session: Session, message: Message) -> None:
    """ISON <nick>{ <nick>}: 303 with the nicks that are online (clients' notify lists)."""
    online = []
    for param in message.params:
        for name in param.split():
            target = core.find_nick(name)
            if target is not None and target.registered:
                online.append(target.name)
    core.reply(session, rpl.RPL_ISON, " ".join(online))
