"""Every IRC command the server understands, in one table.

Each command is one small function ``handler(core, session, message)`` in a module of its
theme. The table says, next to it, whether the command works before registration and how many
parameters it needs; :meth:`chatkit.core.ChatCore` checks both (replying 451 or 461) before
calling the function, so the functions only hold the command's own logic. To add a command:
write the function, add a row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chatkit.commands import (
    capabilities,
    messaging,
    modes,
    queries,
    registration,
    rooms,
    server_info,
)

if TYPE_CHECKING:
    from chatkit.core import ChatCore
    from chatkit.protocol import Message
    from chatkit.session import Session

__all__ = ["COMMANDS", "Command", "Handler"]

Handler = Callable[["ChatCore", "Session", "Message"], None]


@dataclass(frozen=True, slots=True)
class Command:
    """A row of the table: the function, and what the core checks before calling it."""

    handler: Handler
    #: Fewer parameters than this get 461 ERR_NEEDMOREPARAMS.
    min_params: int = 0
    #: Usable before registration completes (otherwise 451 ERR_NOTREGISTERED).
    before_registration: bool = False
    #: Never answered with an error, not even 451: NOTICE, which must cause no automatic reply.
    quiet: bool = False


# --8<-- [start:table]
COMMANDS: dict[str, Command] = {
    # registration and liveness
    "CAP": Command(capabilities.cap, 1, before_registration=True),
    "PASS": Command(registration.pass_, 1, before_registration=True),
    "NICK": Command(registration.nick, 0, before_registration=True),
    "USER": Command(registration.user, 4, before_registration=True),
    "PING": Command(registration.ping, 1, before_registration=True),
    "PONG": Command(registration.pong, 0, before_registration=True),
    "QUIT": Command(registration.quit_, 0, before_registration=True),
    # talking
    "PRIVMSG": Command(messaging.privmsg),
    "NOTICE": Command(messaging.notice, quiet=True),
    "AWAY": Command(messaging.away),
    # rooms
    "JOIN": Command(rooms.join, 1),
    "PART": Command(rooms.part, 1),
    "TOPIC": Command(rooms.topic, 1),
    "NAMES": Command(rooms.names),
    "LIST": Command(rooms.list_),
    "KICK": Command(rooms.kick, 2),
    "MODE": Command(modes.mode, 1),
    # questions
    "WHO": Command(queries.who),
    "WHOIS": Command(queries.whois),
    "WHOWAS": Command(queries.whowas),
    "LUSERS": Command(server_info.lusers),
    "MOTD": Command(server_info.motd),
    "VERSION": Command(server_info.version),
    "USERHOST": Command(queries.userhost, 1),
    "ISON": Command(queries.ison, 1),
}
# --8<-- [end:table]
