"""What the user types: ``/commands`` and plain text, turned into IRC messages.

Each command is a small function registered in :data:`COMMANDS` with its usage line and help;
``/help`` and tab completion read the same table. Bad usage raises :class:`UsageError`, which
becomes a local :class:`~chatkit.client.events.Error` event: nothing is sent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chatkit.client.events import Action, ChatMessage, Error, Status
from chatkit.protocol import LocalProtocolError, Message, RemoteProtocolError

if TYPE_CHECKING:
    from chatkit.client.state import ClientState

__all__ = ["COMMANDS", "Command", "UsageError", "run_input", "split_text"]

#: Bytes a relayed line may spend on the sender's ``nick!user@host`` that we cannot see:
#: a 10-byte user name and a 63-byte host name, plus punctuation. Keeping our text this much
#: shorter means the server never has to cut it when it adds our prefix.
PREFIX_ALLOWANCE = 1 + 1 + 10 + 1 + 63 + 1
#: The least room for text a message line must leave; a longer target name is refused.
MIN_TEXT_BYTES = 64


class UsageError(Exception):
    """The user typed a command wrong; the message says how to type it right."""


@dataclass(frozen=True, slots=True)
class Command:
    """One ``/command``: how to use it, what it does, and the function that runs it."""

    name: str
    usage: str
    help: str
    run: Callable[[ClientState, list[str]], None]
    #: Local commands work while disconnected (switching windows, help, quitting).
    local: bool = False
    #: How many words are arguments; the rest of the line is one final argument (a text).
    words: int = 99


COMMANDS: dict[str, Command] = {}


def command(
    name: str, usage: str, help: str, *, local: bool = False, words: int = 99
) -> Callable[[Callable[[ClientState, list[str]], None]], Callable[[ClientState, list[str]], None]]:
    """Register a command function in :data:`COMMANDS`."""

    def register(
        run: Callable[[ClientState, list[str]], None],
    ) -> Callable[[ClientState, list[str]], None]:
        COMMANDS[name] = Command(name, usage, help, run, local, words)
        return run

    return register


def run_input(state: ClientState, text: str) -> None:
    """Run one typed line. ``//text`` sends ``/text`` literally."""
    text = text.rstrip("\r\n")
    if not text.strip():
        return
    if not text.startswith("/") or text.startswith("//"):
        try:
            say(state, text[1:] if text.startswith("//") else text)
        except UsageError as exc:
            state.emit(Error(str(exc), local=True))
        except LocalProtocolError as exc:
            state.emit(Error(f"Cannot send that: {exc}", local=True))
        return
    name, _, rest = text[1:].partition(" ")
    entry = COMMANDS.get(name.lower())
    if entry is None:
        state.emit(Error(f"Unknown command /{name}; /help lists them", local=True))
        return
    if not entry.local and not state.connected:
        state.emit(Error("Not connected to the server; nothing was sent", local=True))
        return
    args = rest.split(None, entry.words - 1) if entry.words > 1 else [rest.strip()]
    args = [arg for arg in args if arg]
    try:
        entry.run(state, args)
    except UsageError as exc:
        state.emit(Error(f"{exc}. Usage: {entry.usage}", local=True))
    except LocalProtocolError as exc:
        state.emit(Error(f"Cannot send that: {exc}", local=True))


def split_text(text: str, max_bytes: int) -> list[str]:
    """Cut ``text`` into pieces of at most ``max_bytes`` UTF-8 bytes, at spaces when possible."""
    if max_bytes < 4:  # less than one UTF-8 character: no piece could ever be cut
        raise ValueError(f"cannot split text into pieces of {max_bytes} bytes")
    pieces: list[str] = []
    while len(text.encode()) > max_bytes:
        cut = len(text.encode()[:max_bytes].decode("utf-8", "ignore"))
        space = text.rfind(" ", 0, cut + 1)
        if space > 0:
            cut = space
        pieces.append(text[:cut])
        text = text[cut:].lstrip(" ")
    if text:
        pieces.append(text)
    return pieces


def send_text(state: ClientState, target: str, text: str, *, action: bool = False) -> None:
    """Send PRIVMSGs (split to fit) and show them as our own message in that window."""
    private = not state.features.is_room(target)
    overhead = len(f"PRIVMSG {target} :".encode()) + len(state.nick) + PREFIX_ALLOWANCE + 2
    if action:
        overhead += len("\x01ACTION \x01")
    if 512 - overhead < MIN_TEXT_BYTES:
        raise UsageError(f"{target[:20]}... is too long a name: no text would fit in a line")
    for piece in split_text(text, 512 - overhead):
        wire = f"\x01ACTION {piece}\x01" if action else piece
        state.send(Message("PRIVMSG", (target, wire)))
        event_type = Action if action else ChatMessage
        state.emit(event_type(target, state.nick, piece, own=True, private=private))
    if private:
        state.open_window(target)


def say(state: ClientState, text: str) -> None:
    """Plain text goes to the current window."""
    if state.current is None:
        state.emit(Error("You are not in a room: /join #room first", local=True))
    elif not state.connected:
        state.emit(Error("Not connected to the server; nothing was sent", local=True))
    else:
        send_text(state, state.current, text)


def current_room(state: ClientState, args: list[str]) -> str:
    """The room named first in ``args`` (popped), else the current window if it is a room."""
    if args and state.features.is_room(args[0]):
        return args.pop(0)
    if state.current is not None and state.features.is_room(state.current):
        return state.current
    raise UsageError("Name a room (the current window is not one)")


# --- the commands -----------------------------------------------------------------------------


@command("join", "/join #room[,#other] [key]", "Join rooms and switch to the first one.", words=2)
def cmd_join(state: ClientState, args: list[str]) -> None:
    if not args:
        raise UsageError("Which room?")
    names = [name for name in args[0].split(",") if name]
    if not names:
        raise UsageError("Which room?")
    rooms = [name if state.features.is_room(name) else "#" + name for name in names]
    keys = args[1].split(",") if len(args) > 1 else []
    first = rooms[0]
    if state.room(first) is not None and len(rooms) == 1:
        state.open_window(first, switch=True)  # already there: just switch
        return
    state.send_join(rooms, keys)  # first: a JOIN that cannot be sent changes nothing
    state.switch_on_join = state.fold(first)
    for index, room in enumerate(rooms):
        state.want_room(room, keys[index] if index < len(keys) else "")


@command("part", "/part [#room] [reason]", "Leave a room (the current one by default).", words=2)
def cmd_part(state: ClientState, args: list[str]) -> None:
    room = current_room(state, args)
    reason = " ".join(args)
    state.send(Message("PART", (room, reason) if reason else (room,)))


@command("msg", "/msg TARGET TEXT", "Send a private message to a nick (or to a room).", words=2)
def cmd_msg(state: ClientState, args: list[str]) -> None:
    if len(args) < 2:
        raise UsageError("Whom, and what?")
    send_text(state, args[0], args[1])


@command("notice", "/notice TARGET TEXT", "Send a notice (clients never auto-reply).", words=2)
def cmd_notice(state: ClientState, args: list[str]) -> None:
    if len(args) < 2:
        raise UsageError("Whom, and what?")
    state.send(Message("NOTICE", (args[0], args[1])))


@command("me", "/me ACTION", "Describe an action: /me waves -> * you waves", words=1)
def cmd_me(state: ClientState, args: list[str]) -> None:
    if not args:
        raise UsageError("What are you doing?")
    if state.current is None:
        raise UsageError("You are not in a room")
    send_text(state, state.current, args[0], action=True)


@command("nick", "/nick NEWNICK", "Change your nick.", words=1)
def cmd_nick(state: ClientState, args: list[str]) -> None:
    if not args or " " in args[0]:
        raise UsageError("One new nick, without spaces")
    state.send(Message("NICK", (args[0],)))


@command("topic", "/topic [#room] [new topic]", "Show or set the topic of a room.", words=2)
def cmd_topic(state: ClientState, args: list[str]) -> None:
    room = current_room(state, args)
    state.send(Message("TOPIC", (room, " ".join(args)) if args else (room,)))


@command("names", "/names [#room]", "List the members of a room.", words=1)
def cmd_names(state: ClientState, args: list[str]) -> None:
    state.send(Message("NAMES", (current_room(state, args),)))


@command("who", "/who [#room|nick]", "Who is in a room, with user and host.", words=1)
def cmd_who(state: ClientState, args: list[str]) -> None:
    state.send(Message("WHO", (args[0] if args else current_room(state, args),)))


@command("whois", "/whois NICK", "Details about one user.", words=1)
def cmd_whois(state: ClientState, args: list[str]) -> None:
    if not args:
        raise UsageError("Whom?")
    state.send(Message("WHOIS", (args[0],)))


@command("list", "/list", "List the rooms on the server.")
def cmd_list(state: ClientState, args: list[str]) -> None:
    state.send(Message("LIST", tuple(args[:1])))


@command("away", "/away [message]", "Mark yourself away (no message: back again).", words=1)
def cmd_away(state: ClientState, args: list[str]) -> None:
    state.send(Message("AWAY", tuple(args)))


@command("mode", "/mode TARGET MODES [ARGS]", "Show or change modes: /mode #room +o bob")
def cmd_mode(state: ClientState, args: list[str]) -> None:
    if not args:
        raise UsageError("Which target?")
    state.send(Message("MODE", tuple(args)))


@command("kick", "/kick [#room] NICK [reason]", "Remove someone from a room (operators).", words=3)
def cmd_kick(state: ClientState, args: list[str]) -> None:
    room = current_room(state, args)
    if not args:
        raise UsageError("Whom?")
    nick, _, reason = " ".join(args).partition(" ")
    state.send(Message("KICK", (room, nick, reason) if reason else (room, nick)))


@command("raw", "/raw LINE", "Send a protocol line as typed: /raw PING hello", words=1)
def cmd_raw(state: ClientState, args: list[str]) -> None:
    if not args:
        raise UsageError("Which line?")
    try:
        state.send(Message.parse(args[0]))
    except RemoteProtocolError as exc:
        raise UsageError(f"Not an IRC line ({exc})") from exc


@command("quit", "/quit [reason]", "Leave the server and exit.", local=True, words=1)
def cmd_quit(state: ClientState, args: list[str]) -> None:
    state.quitting = True
    if state.connected:
        state.send(Message("QUIT", (args[0] if args else "Leaving",)))


@command("window", "/window [N]", "Switch to window N (no N: list the windows).", local=True)
def cmd_window(state: ClientState, args: list[str]) -> None:
    if not args:
        listing = "  ".join(f"{i}:{name}" for i, name in enumerate(state.windows, start=1))
        state.emit(Status(f"Windows: {listing or 'none yet'}"))
        return
    if not args[0].isdigit() or not 1 <= int(args[0]) <= len(state.windows):
        raise UsageError(f"No window {args[0]} (there are {len(state.windows)})")
    state.current = state.windows[int(args[0]) - 1]


@command("switch", "/switch #room|nick", "Switch to a room or private chat.", local=True, words=1)
def cmd_switch(state: ClientState, args: list[str]) -> None:
    if not args:
        raise UsageError("Where to?")
    index = state.find_window(args[0])
    if index is None:
        raise UsageError(f"No window for {args[0]} (/join it, or /query a nick)")
    state.current = state.windows[index]


@command("query", "/query NICK", "Open a private chat with someone and switch to it.", local=True)
def cmd_query(state: ClientState, args: list[str]) -> None:
    if len(args) != 1 or state.features.is_room(args[0]):
        raise UsageError("One nick")
    state.open_window(args[0], switch=True)


@command("help", "/help [command]", "List the commands, or explain one.", local=True)
def cmd_help(state: ClientState, args: list[str]) -> None:
    if args:
        entry = COMMANDS.get(args[0].lstrip("/").lower())
        if entry is None:
            raise UsageError(f"No command /{args[0].lstrip('/')}")
        state.emit(Status(f"{entry.usage}  {entry.help}"))
        return
    for entry in COMMANDS.values():
        state.emit(Status(f"{entry.usage:<28} {entry.help}"))
    state.emit(Status("Anything else you type goes to the current window; //text sends /text."))
