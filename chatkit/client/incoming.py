"""What each server line means to the client: one small handler per command, in a table.

Every handler takes the :class:`~chatkit.client.state.ClientState` and the parsed
:class:`~chatkit.protocol.Message`, updates the state (rooms, members, topic, nick) and emits
display events. Numerics without a handler become :class:`ServerInfo` (``1xx``-``3xx``) or
:class:`Error` (``4xx``/``5xx``), so nothing the server says is silently lost.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from chatkit import __version__
from chatkit.client.events import (
    Action,
    ChatMessage,
    Error,
    Join,
    Kick,
    ModeChange,
    Names,
    NickChange,
    Notice,
    Part,
    Quit,
    ServerInfo,
    Topic,
)
from chatkit.client.rooms import Room
from chatkit.protocol import Message

if TYPE_CHECKING:
    from chatkit.client.state import ClientState

__all__ = ["dispatch"]

Handler = Callable[["ClientState", Message], None]
HANDLERS: dict[str, Handler] = {}

#: Numerics that refuse a JOIN: no such room, too many rooms, full, invite-only, banned, bad key.
JOIN_ERRORS = frozenset({"403", "405", "471", "473", "474", "475", "476", "477"})
#: Numerics after which reconnecting cannot help: wrong password, banned from the server.
FATAL_ERRORS = frozenset({"464", "465"})
#: Replies whose middle parameters only repeat numbers the text already says (LUSERS).
TRAILING_ONLY = frozenset({"265", "266"})
#: Replies we use but do not show: ISUPPORT, the end of NAMES/WHO/WHOIS/LIST, topic metadata.
QUIET = frozenset({"005", "315", "318", "321", "323", "329", "333", "366", "369"})
#: How many alternative nicks registration tries (``alice_``, ``alice__``, ``alice1`` ...)
#: before giving up, so a server that rejects everything cannot keep us looping.
MAX_NICK_ATTEMPTS = 8
#: Characters a nick may contain besides letters and digits (for spotting mentions).
_NICK_CHARS = r"A-Za-z0-9_\-\[\]\\`^{}|"


def handles(*commands: str) -> Callable[[Handler], Handler]:
    """Register a handler for one or more commands (the table reads like a list of rules)."""

    def register(handler: Handler) -> Handler:
        for command in commands:
            HANDLERS[command] = handler
        return handler

    return register


def dispatch(state: ClientState, message: Message) -> None:
    """Route one server message to its handler, or to the generic numeric display."""
    handler = HANDLERS.get(message.command)
    if handler is not None:
        handler(state, message)
    elif message.command.isdigit():
        on_numeric(state, message)
    else:
        state.emit(ServerInfo(message.command, str(message)))


def sender(message: Message) -> str:
    """The nick (or server name) a message came from."""
    return (message.source or "").partition("!")[0]


def param(message: Message, index: int) -> str:
    """Parameter ``index``, or "" when the server left it out (never an IndexError)."""
    return message.params[index] if len(message.params) > index else ""


def numeric_text(message: Message) -> str:
    """A numeric's parameters without our own nick in front: the readable part."""
    return " ".join(message.params[1:])


def mentions(nick: str, text: str) -> bool:
    """True if ``nick`` appears in ``text`` as a whole word, ignoring case."""
    pattern = rf"(?<![{_NICK_CHARS}]){re.escape(nick)}(?![{_NICK_CHARS}])"
    return re.search(pattern, text, re.IGNORECASE) is not None


# --- registration and liveness --------------------------------------------------------------


# --8<-- [start:ping]
@handles("PING")
def on_ping(state: ClientState, message: Message) -> None:
    state.send(Message("PONG", message.params or ("chatkit",)))


@handles("PONG")
def on_pong(state: ClientState, message: Message) -> None:
    if message.params:
        state.pongs.add(message.params[-1])
    # --8<-- [end:ping]


@handles("CAP")
def on_cap(state: ClientState, message: Message) -> None:
    # "CAP * LS * :a b" says more lines follow; the last LS line has no "*". We request
    # nothing, so once the list is complete (or on any ACK/NAK) registration may finish.
    subcommand = param(message, 1).upper()
    more_follow = subcommand == "LS" and len(message.params) >= 4 and message.params[2] == "*"
    if not state.registered and not more_follow:
        state.send(Message("CAP", ("END",)))


@handles("001")
def on_welcome(state: ClientState, message: Message) -> None:
    state.registered = True
    state.nick = param(message, 0) or state.nick
    state.emit(ServerInfo(message.command, param(message, 1)))
    state.join_wanted_rooms()


@handles("005")
def on_isupport(state: ClientState, message: Message) -> None:
    state.features.update(list(message.params[1:-1]))


@handles("433", "432")
def on_bad_nick(state: ClientState, message: Message) -> None:
    """Nick in use (433) or invalid (432): while registering, try another one."""
    if state.registered:
        state.emit(Error(numeric_text(message), message.command))
        return
    state.nick_attempts += 1
    if state.nick_attempts > MAX_NICK_ATTEMPTS:
        state.fatal = "The server refused every nick we tried; pick another with --nick"
        state.emit(Error(state.fatal, message.command))
        state.send(Message("QUIT", ("No usable nick",)))
        return
    invalid = message.command == "432"
    state.nick = alternative_nick(state.wanted_nick, state.nick_attempts, invalid=invalid)
    state.emit(Error(f"{numeric_text(message)}; trying {state.nick}", message.command))
    state.send(Message("NICK", (state.nick,)))


def alternative_nick(nick: str, attempt: int, *, invalid: bool = False) -> str:
    """The nick to try after ``attempt`` refusals of ``nick``.

    In use (433): ``alice_``, ``alice__``, then ``alice1``, ``alice2`` ... Invalid (432):
    first the nick cut to 9 characters (the RFC 1459 limit many servers still apply), then
    ``guest1``, ``guest2`` ..., since every variant of an invalid nick may be invalid too.
    """
    if invalid:
        return nick[:9] if attempt == 1 and len(nick) > 9 else f"guest{attempt}"
    if attempt <= 2:
        return nick[:7] + "_" * attempt if len(nick) + attempt > 9 else nick + "_" * attempt
    return f"{nick[:7]}{attempt - 2}"


@handles("ERROR")
def on_error(state: ClientState, message: Message) -> None:
    text = param(message, 0) or "The server closed the link"
    # After our own QUIT the server's ERROR is just the goodbye, not a problem.
    state.emit(ServerInfo("ERROR", text) if state.quitting else Error(text))


# --- rooms ----------------------------------------------------------------------------------


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
    own = state.is_me(nick)
    room = state.room(room_name)
    if room is None:
        return
    if own:
        del state.rooms[state.fold(room_name)]
        state.unwant_room(room_name)
        state.close_window(room_name)
    else:
        room.remove(state.fold(nick))
    state.emit(Part(room.name, nick, param(message, 1), own))


@handles("KICK")
def on_kick(state: ClientState, message: Message) -> None:
    room_name, victim, reason = param(message, 0), param(message, 1), param(message, 2)
    room = state.room(room_name)
    if room is None:
        return
    own = state.is_me(victim)
    if own:
        # Being kicked is a decision about us: do not rejoin on the next reconnect.
        del state.rooms[state.fold(room_name)]
        state.unwant_room(room_name)
        state.close_window(room_name)
    else:
        room.remove(state.fold(victim))
    state.emit(Kick(room.name, victim, sender(message), reason, own))


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


@handles("332")
def on_topic_reply(state: ClientState, message: Message) -> None:
    room_name, topic = param(message, 1), param(message, 2)
    room = state.room(room_name)
    if room is not None:
        room.topic = topic
    state.emit(Topic(room_name, topic))


@handles("TOPIC")
def on_topic(state: ClientState, message: Message) -> None:
    room_name, topic = param(message, 0), param(message, 1)
    room = state.room(room_name)
    if room is not None:
        room.topic = topic
    state.emit(Topic(room_name, topic, sender(message)))


# --- messages -------------------------------------------------------------------------------


@handles("PRIVMSG")
def on_privmsg(state: ClientState, message: Message) -> None:
    nick, target, text = sender(message), param(message, 0), param(message, 1)
    private = not state.features.is_room(target)
    window = nick if private else target
    if text.startswith("\x01"):
        command, _, argument = text.strip("\x01").partition(" ")
        command = command.upper()
        if command != "ACTION":
            answer_ctcp(state, nick, command, argument)
            return
        if private:
            state.open_window(nick)
        state.emit(Action(window, nick, argument, False, private, mentions(state.nick, argument)))
        return
    if private:
        state.open_window(nick)
    state.emit(ChatMessage(window, nick, text, False, private, mentions(state.nick, text)))


def answer_ctcp(state: ClientState, nick: str, command: str, argument: str) -> None:
    """Answer the CTCP queries every client is expected to (VERSION, PING), quietly."""
    if command == "VERSION":
        reply = f"\x01VERSION chatkit {__version__}\x01"
    elif command == "PING":
        reply = f"\x01PING {argument}\x01"
    else:
        state.emit(ServerInfo("CTCP", f"{nick} sent an unknown CTCP {command}"))
        return
    state.send(Message("NOTICE", (nick, reply)))
    state.emit(ServerInfo("CTCP", f"{nick} asked for CTCP {command}"))


@handles("NOTICE")
def on_notice(state: ClientState, message: Message) -> None:
    nick, target, text = sender(message), param(message, 0), param(message, 1)
    from_user = "!" in (message.source or "")
    window = target if state.features.is_room(target) else (nick if from_user else None)
    state.emit(Notice(window, nick or "*", text.strip("\x01")))


@handles("INVITE")
def on_invite(state: ClientState, message: Message) -> None:
    room = param(message, 1)
    state.emit(ServerInfo("INVITE", f"{sender(message)} invites you to {room} (/join {room})"))


# --- numerics -------------------------------------------------------------------------------


@handles("311")
def on_whois_user(state: ClientState, message: Message) -> None:
    # :server 311 me bob ~bob host * :Bob Real
    nick, user, host, real = (param(message, i) for i in (1, 2, 3, 5))
    state.emit(ServerInfo(message.command, f"{nick} is {user}@{host} ({real})"))


@handles("352")
def on_who_reply(state: ClientState, message: Message) -> None:
    # :server 352 me #room user host server nick H@ :0 Real Name
    room, user, host, nick, flags = (param(message, i) for i in (1, 2, 3, 5, 6))
    real = param(message, 7).partition(" ")[2]
    state.emit(ServerInfo(message.command, f"{room} {nick} {flags} {user}@{host} ({real})"))


@handles("322")
def on_list_reply(state: ClientState, message: Message) -> None:
    room, users, topic = param(message, 1), param(message, 2), param(message, 3)
    state.emit(ServerInfo(message.command, f"{room} ({users} users) {topic}".rstrip()))


#: WHOIS replies worth a sentence: numeric -> format over the parameters after our nick.
WHOIS_FORMATS = {
    "312": "{0} is on {1} ({2})",
    "317": "{0} has been idle {1} s",
    "319": "{0} is in {1}",
    "330": "{0} is logged in as {1}",
}


@handles(*WHOIS_FORMATS)
def on_whois_detail(state: ClientState, message: Message) -> None:
    values = [param(message, index) for index in range(1, 4)]
    state.emit(ServerInfo(message.command, WHOIS_FORMATS[message.command].format(*values)))


@handles("301")
def on_away_reply(state: ClientState, message: Message) -> None:
    state.emit(ServerInfo(message.command, f"{param(message, 1)} is away: {param(message, 2)}"))


def on_numeric(state: ClientState, message: Message) -> None:
    """Every other numeric: quiet bookkeeping, an error, or information to show."""
    code = message.command
    if code in QUIET:
        return
    if code == "421" and param(message, 1).upper() == "CAP":
        return  # a server without IRCv3 capabilities: registration goes on without them
    if code in JOIN_ERRORS:
        state.join_settled(param(message, 1))
    if code in FATAL_ERRORS:
        state.fatal = param(message, len(message.params) - 1) or "Registration refused"
    if code[0] in "45":
        state.emit(Error(numeric_text(message), code))
    elif code in TRAILING_ONLY:
        state.emit(ServerInfo(code, param(message, len(message.params) - 1)))
    else:
        state.emit(ServerInfo(code, numeric_text(message)))
