"""Rooms: JOIN, PART, TOPIC, NAMES, LIST and KICK.

A room exists while it has members: the first JOIN creates it (and makes that client its
operator), the last PART, KICK or QUIT forgets it. Every room is public: anyone may list it,
read its topic and see who is in it (apart from +i users, unless you share the room).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatkit import numerics as rpl
from chatkit.casemap import casefold, is_valid_channel
from chatkit.lines import encode_line, encode_relay, truncate_utf8
from chatkit.room import Room

if TYPE_CHECKING:
    from chatkit.core import ChatCore
    from chatkit.protocol import Message
    from chatkit.session import Session


def join(core: ChatCore, session: Session, message: Message) -> None:
    """JOIN <room>{,<room>} [<key>{,<key>}], or JOIN 0 to leave every room."""
    if message.params[0] == "0":
        for room in list(session.rooms.values()):
            _part(core, session, room, "")
        return
    keys = message.params[1].split(",") if len(message.params) > 1 else []
    for index, name in enumerate(message.params[0].split(",")):
        if session.closed:
            return
        _join_one(core, session, name, keys[index] if index < len(keys) else None)


def _join_one(core: ChatCore, session: Session, name: str, key: str | None) -> None:
    config = core.config
    if not is_valid_channel(name, config.channel_length):
        # modern.ircdocs.horse answers a name that cannot be a room with 403, like one that
        # does not exist (476 ERR_BADCHANMASK is the older, rarer choice).
        core.reply(session, rpl.ERR_NOSUCHCHANNEL, name or "*", "No such channel")
        return
    fold = casefold(name)
    if fold in session.rooms:
        return
    if len(session.rooms) >= config.max_rooms_per_client:
        core.reply(session, rpl.ERR_TOOMANYCHANNELS, name, "You have joined too many channels")
        return
    room = core.rooms.get(fold)
    if room is None:
        room = core.rooms[fold] = Room(name, fold, core.wall_time())
    elif room.password is not None and key != room.password:
        core.reply(session, rpl.ERR_BADCHANNELKEY, room.name, "Cannot join channel (+k)")
        return
    elif room.is_banned(session):
        core.reply(session, rpl.ERR_BANNEDFROMCHAN, room.name, "Cannot join channel (+b)")
        return
    elif room.limit is not None and len(room.members) >= room.limit:
        core.reply(session, rpl.ERR_CHANNELISFULL, room.name, "Cannot join channel (+l)")
        return
    room.add(session)
    session.rooms[fold] = room
    room.broadcast(encode_line(session.prefix, "JOIN", room.name, trailing=False))
    if room.topic:
        send_topic(core, session, room)
    send_names(core, session, room)


def send_topic(core: ChatCore, session: Session, room: Room) -> None:
    """332 and 333 (who set it, when) for a room with a topic, 331 for one without."""
    if not room.topic:
        core.reply(session, rpl.RPL_NOTOPIC, room.name, "No topic is set")
        return
    core.reply(session, rpl.RPL_TOPIC, room.name, room.topic)
    core.reply(session, rpl.RPL_TOPICWHOTIME, room.name, room.topic_setter, str(room.topic_time))


def send_names(core: ChatCore, session: Session, room: Room) -> None:
    """353 lines (as many as the 512-byte limit needs) listing the room, then 366.

    ``=`` marks a public room (every room here is). Members with +i are listed only to
    people in the room; ``userhost-in-names`` asks for ``nick!user@host``.
    """
    member = session in room.members
    full = "userhost-in-names" in session.caps
    entries = (
        room.prefixed_nick(target) + (f"!{target.user}@{target.host}" if full else "")
        for target in room.members
        if member or not target.invisible
    )
    core.reply_list(session, rpl.RPL_NAMREPLY, ("=", room.name), entries)
    core.reply(session, rpl.RPL_ENDOFNAMES, room.name, "End of /NAMES list")


def part(core: ChatCore, session: Session, message: Message) -> None:
    """PART <room>{,<room>} [:<reason>]: leave rooms; members see the PART."""
    reason = message.params[1] if len(message.params) > 1 else ""
    for name in message.params[0].split(","):
        room = core.find_room(name)
        if room is None:
            core.reply(session, rpl.ERR_NOSUCHCHANNEL, name or "*", "No such channel")
        elif session not in room.members:
            core.reply(session, rpl.ERR_NOTONCHANNEL, room.name, "You're not on that channel")
        else:
            _part(core, session, room, reason)


def _part(core: ChatCore, session: Session, room: Room, reason: str) -> None:
    if reason:
        data = encode_relay(session.prefix, "PART", room.name, reason)
    else:
        data = encode_line(session.prefix, "PART", room.name, trailing=False)
    room.broadcast(data)
    core.leave_room(session, room)


def topic(core: ChatCore, session: Session, message: Message) -> None:
    """TOPIC <room> [:<topic>]: ask for the topic, or set it (``:`` alone clears it)."""
    room = core.find_room(message.params[0])
    if room is None:
        core.reply(session, rpl.ERR_NOSUCHCHANNEL, message.params[0], "No such channel")
        return
    if len(message.params) < 2:
        send_topic(core, session, room)
        return
    if session not in room.members:
        core.reply(session, rpl.ERR_NOTONCHANNEL, room.name, "You're not on that channel")
        return
    if room.topic_lock and session not in room.operators:
        core.reply(session, rpl.ERR_CHANOPRIVSNEEDED, room.name, "You're not channel operator")
        return
    room.topic = truncate_utf8(message.params[1], core.config.topic_length)
    room.topic_setter = session.prefix
    room.topic_time = core.wall_time()
    room.broadcast(encode_relay(session.prefix, "TOPIC", room.name, room.topic))


def names(core: ChatCore, session: Session, message: Message) -> None:
    """NAMES [<room>{,<room>}]: who is in a room. With no room, only 366 (modern spec)."""
    if not message.params or not message.params[0]:
        core.reply(session, rpl.RPL_ENDOFNAMES, "*", "End of /NAMES list")
        return
    for name in message.params[0].split(","):
        room = core.find_room(name)
        if room is None:
            core.reply(session, rpl.RPL_ENDOFNAMES, name or "*", "End of /NAMES list")
        else:
            send_names(core, session, room)


def list_(core: ChatCore, session: Session, message: Message) -> None:
    """LIST [<room>{,<room>}]: 321, one 322 per room (members, topic), 323."""
    core.reply(session, rpl.RPL_LISTSTART, "Channel", "Users  Name")
    if message.params and message.params[0]:
        wanted = (core.find_room(name) for name in message.params[0].split(","))
        rooms = [room for room in wanted if room is not None]
    else:
        rooms = list(core.rooms.values())
    for room in rooms:
        core.reply(session, rpl.RPL_LIST, room.name, str(len(room.members)), room.topic)
    core.reply(session, rpl.RPL_LISTEND, "End of /LIST")


def kick(core: ChatCore, session: Session, message: Message) -> None:
    """KICK <room>{,<room>} <nick>{,<nick>} [:<reason>]: an operator removes people.

    One room with a list of nicks (modern.ircdocs.horse), or as many rooms as nicks, paired
    in order (RFC 2812). Past ``TARGMAX`` the extra nicks are dropped silently, as the spec
    allows. Each KICK the room sees names one user: clients expect no lists there.
    """
    names = message.params[0].split(",")
    nicks = message.params[1].split(",")
    if len(names) not in (1, len(nicks)):
        core.reply(session, rpl.ERR_NEEDMOREPARAMS, "KICK", "Not enough parameters")
        return
    reason = message.params[2] if len(message.params) > 2 and message.params[2] else session.name
    reason = truncate_utf8(reason, core.config.kick_length)
    if len(names) == 1:
        names *= len(nicks)
    for name, nick in list(zip(names, nicks, strict=True))[: core.config.max_targets]:
        _kick_one(core, session, name, nick, reason)


def _kick_one(core: ChatCore, session: Session, name: str, nick: str, reason: str) -> None:
    room = core.find_room(name)
    if room is None:
        core.reply(session, rpl.ERR_NOSUCHCHANNEL, name or "*", "No such channel")
        return
    if session not in room.members:
        core.reply(session, rpl.ERR_NOTONCHANNEL, room.name, "You're not on that channel")
        return
    if session not in room.operators:
        core.reply(session, rpl.ERR_CHANOPRIVSNEEDED, room.name, "You're not channel operator")
        return
    target = core.find_nick(nick)
    if target is None or not target.registered:
        core.reply(session, rpl.ERR_NOSUCHNICK, nick or "*", "No such nick/channel")
        return
    if target not in room.members:
        core.reply(
            session, rpl.ERR_USERNOTINCHANNEL, target.name, room.name, "They aren't on that channel"
        )
        return
    room.broadcast(encode_relay(session.prefix, "KICK", room.name, target.name, reason))
    core.leave_room(target, room)
