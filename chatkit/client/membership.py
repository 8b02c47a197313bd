"""Who is where: the handlers that follow rooms, members, prefixes and topics.

The server tells every member of a room about every change (JOIN, PART, KICK, QUIT, NICK, MODE,
TOPIC) and sends the full member list on joining (``353`` lines, then ``366``). These handlers
keep :attr:`ClientState.rooms <chatkit.client.state.ClientState.rooms>` in step and turn each
change into one display event. Our own JOIN, PART and KICK also open and close windows and
decide which rooms a reconnect rejoins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatkit.client.events import Join, Kick, ModeChange, Names, NickChange, Part, Quit, Topic
from chatkit.client.handlers import handles, param, sender
from chatkit.client.rooms import Room
from chatkit.protocol import Message

if TYPE_CHECKING:
    from chatkit.client.state import ClientState

__all__ = ["apply_member_modes", "remove_member"]


# --8<-- [start:join]
@handles("JOIN")
def on_join(state: ClientState, message: Message) -> None:
    nick, room_name = sender(message), param(message, 0)
    own = state.is_me(nick)
    if own:
        key = state.fold(room_name)
        state.rooms[key] = Room(room_name)
        state.join_settled(room_name)
        switch = state.switch_on_join is not None and state.switch_on_join == key
        state.open_window(room_name, switch=switch)
        if switch:
            state.switch_on_join = None
    room = state.room(room_name)
    if room is None:
        return
    room.add(state.fold(nick), nick)
    state.emit(Join(room.name, nick, own))
    # --8<-- [end:join]


@handles("PART")
def on_part(state: ClientState, message: Message) -> None:
    nick, room_name = sender(message), param(message, 0)
    room = state.room(room_name)
    if room is not None:
        own = remove_member(state, room, nick)
        state.emit(Part(room.name, nick, param(message, 1), own))


@handles("KICK")
def on_kick(state: ClientState, message: Message) -> None:
    room_name, victim, reason = param(message, 0), param(message, 1), param(message, 2)
    room = state.room(room_name)
    if room is not None:
        own = remove_member(state, room, victim)
        state.emit(Kick(room.name, victim, sender(message), reason, own))


def remove_member(state: ClientState, room: Room, nick: str) -> bool:
    """``nick`` left ``room`` (PART or KICK); True if that was us.

    When we leave, the room is forgotten, its window closed, and it is not rejoined after a
    reconnect: leaving (or being kicked, a decision about us) should stick.
    """
    if not state.is_me(nick):
        room.remove(state.fold(nick))
        return False
    del state.rooms[state.fold(room.name)]
    state.unwant_room(room.name)
    state.close_window(room.name)
    return True


@handles("QUIT")
def on_quit(state: ClientState, message: Message) -> None:
    nick = sender(message)
    key = state.fold(nick)
    shared = tuple(room.name for room in state.rooms.values() if room.remove(key))
    if shared or state.find_window(nick) is not None:
        state.emit(Quit(nick, param(message, 0), shared))


@handles("NICK")
def on_nick(state: ClientState, message: Message) -> None:
    old, new = sender(message), param(message, 0)
    own = state.is_me(old)
    if own:
        state.nick = new
        state.wanted_nick = new  # keep it after a reconnect
    had_window = state.find_window(old) is not None
    state.rename_window(old, new)
    shared = [
        room for room in state.rooms.values() if room.rename(state.fold(old), state.fold(new), new)
    ]
    if own or shared or had_window:
        state.emit(NickChange(old, new, own))


@handles("MODE")
def on_mode(state: ClientState, message: Message) -> None:
    target = param(message, 0)
    room = state.room(target)
    if room is not None:
        apply_member_modes(state, room, list(message.params[1:]))
    state.emit(ModeChange(target, sender(message), " ".join(message.params[1:])))


def apply_member_modes(state: ClientState, room: Room, params: list[str]) -> None:
    """Follow ``+o bob -v carol`` in the member list; skip the arguments of other modes."""
    features = state.features
    takes_argument = features.prefix_modes + "bkeI"
    if not params:
        return
    adding = True
    arguments = iter(params[1:])
    for letter in params[0]:
        if letter in "+-":
            adding = letter == "+"
        elif letter in features.prefix_modes:
            nick = next(arguments, "")
            symbol = features.prefix_symbols[features.prefix_modes.index(letter)]
            room.set_prefix(state.fold(nick), symbol, adding, features.prefix_symbols)
        elif letter in takes_argument or (letter == "l" and adding):
            next(arguments, "")


@handles("353")
def on_names_reply(state: ClientState, message: Message) -> None:
    # :server 353 me = #room :@alice bob
    room_name = param(message, 2)
    entries = param(message, 3).split()
    state.names_buffer.setdefault(state.fold(room_name), []).extend(entries)


@handles("366")
def on_names_end(state: ClientState, message: Message) -> None:
    room_name = param(message, 1)
    entries = state.names_buffer.pop(state.fold(room_name), [])
    room = state.room(room_name)
    if room is not None:
        room.members.clear()
        for entry in entries:
            prefixes, nick = state.features.split_prefix(entry)
            room.add(state.fold(nick), nick, prefixes)
        state.emit(Names(room.name, room.display_names()))
    else:
        state.emit(Names(room_name, tuple(entries)))


@handles("332", "TOPIC")
def on_topic(state: ClientState, message: Message) -> None:
    """``332`` tells the topic on join (``:srv 332 me #room :text``); ``TOPIC`` a change."""
    changed = message.command == "TOPIC"
    offset = 0 if changed else 1  # a numeric's first parameter is our own nick
    room_name, topic = param(message, offset), param(message, offset + 1)
    room = state.room(room_name)
    if room is not None:
        room.topic = topic
    state.emit(Topic(room_name, topic, sender(message) if changed else None))
