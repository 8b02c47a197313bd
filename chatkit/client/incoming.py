"""What each server line means to the client: one small handler per command, in a table.

Every handler takes the :class:`~chatkit.client.state.ClientState` and the parsed
:class:`~chatkit.protocol.Message`, updates the state (rooms, members, topic, nick) and emits
display events. Numerics without a handler become :class:`ServerInfo` (``1xx``-``3xx``) or
:class:`Error` (``4xx``/``5xx``), so nothing the server says is silently lost.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from chatkit import __version__
from chatkit.client import membership  # noqa: F401  (its handlers register on import)
from chatkit.client.events import Action, ChatMessage, Error, Notice, ServerInfo
from chatkit.client.handlers import HANDLERS, handles, last_param, numeric_text, param, sender
from chatkit.protocol import Message

if TYPE_CHECKING:
    from chatkit.client.state import ClientState

__all__ = ["dispatch"]


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


def dispatch(state: ClientState, message: Message) -> None:
    """Route one server message to its handler, or to the generic numeric display.

    The table holds this module's handlers and those of :mod:`~chatkit.client.membership`
    (rooms and members), which register themselves when it is imported.
    """
    handler = HANDLERS.get(message.command)
    if handler is not None:
        handler(state, message)
    elif message.command.isdigit():
        on_numeric(state, message)
    else:
        state.emit(ServerInfo(message.command, str(message)))


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
    token = last_param(message)
    if state.sent_ping(token):
        state.pongs.add(token)
    else:  # the answer to a PING the user typed (/raw PING hello): show it
        state.emit(ServerInfo("PONG", f"PONG from {sender(message) or 'the server'}: {token}"))
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
            if nick:  # a query from nobody (no source) cannot be answered
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
        state.fatal = last_param(message) or "Registration refused"
        if code == "464" and not state.password:
            state.fatal += " (this server wants a password: chatkit join --password ...)"
    if code[0] in "45":
        state.emit(Error(numeric_text(message), code))
    elif code in TRAILING_ONLY:
        state.emit(ServerInfo(code, last_param(message)))
    else:
        state.emit(ServerInfo(code, numeric_text(message)))
