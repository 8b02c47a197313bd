"""What the server tells about itself: the welcome burst (001-005), ISUPPORT, LUSERS, MOTD
and VERSION.

The welcome burst is what a client waits for after NICK and USER: 001 says registration is
complete, 005 (ISUPPORT) lists the limits and features the client should adapt to, then come
the user counts (LUSERS) and the message of the day. MOTD, LUSERS and VERSION send the same
replies again on request.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from chatkit import __version__
from chatkit import numerics as rpl
from chatkit.casemap import CASEMAPPING, casefold, mask_pattern
from chatkit.lines import encode_line

if TYPE_CHECKING:
    from chatkit.config import ServerConfig
    from chatkit.core import ChatCore
    from chatkit.protocol import Message
    from chatkit.session import Session

#: Our name and version, as 002, 004 and 351 show it.
VERSION = f"chatkit-{__version__}"

#: RPL_ISUPPORT carries at most 13 tokens a line (15 parameters with the nick and the text).
_TOKENS_PER_LINE = 12
_ISUPPORT_TEXT = "are supported by this server"


def isupport_tokens(config: ServerConfig) -> list[str]:
    """The ISUPPORT (005) tokens: what this server supports, for clients to adapt to."""
    targets = config.max_targets
    return [
        f"AWAYLEN={config.away_length}",
        f"CASEMAPPING={CASEMAPPING}",
        f"CHANLIMIT=#:{config.max_rooms_per_client}",
        # Type A (lists) b; B (always a parameter) k; C (parameter when set) l; D flags n,t.
        "CHANMODES=b,k,l,nt",
        f"CHANNELLEN={config.channel_length}",
        "CHANTYPES=#",
        f"KICKLEN={config.kick_length}",
        f"MAXLIST=b:{config.max_bans}",
        f"MAXTARGETS={targets}",
        f"MODES={config.max_modes}",
        f"NETWORK={isupport_escape(config.network)}",
        f"NICKLEN={config.nick_length}",
        "PREFIX=(o)@",
        f"TARGMAX=JOIN:,KICK:{targets},NOTICE:{targets},PART:,PRIVMSG:{targets},WHOIS:1",
        f"TOPICLEN={config.topic_length}",
        f"USERLEN={config.user_length}",
    ]


def isupport_escape(value: str) -> str:
    """Escape an ISUPPORT value: a space, ``\\``, ``=`` or any byte that is not printable
    ASCII becomes ``\\xHH`` (so ``My=Net`` is sent as ``My\\x3DNet``), as the spec asks."""
    return "".join(
        char if " " < char < "\x7f" and char not in "\\=" else _hex_bytes(char) for char in value
    )


def _hex_bytes(char: str) -> str:
    return "".join(f"\\x{byte:02X}" for byte in char.encode("utf-8"))


def send_welcome(core: ChatCore, session: Session) -> None:
    """001-004, the ISUPPORT lines, LUSERS and the MOTD: what registration ends with."""
    server = core.server_name
    network = core.config.network
    core.reply(session, rpl.RPL_WELCOME, f"Welcome to the {network} IRC Network, {session.prefix}")
    core.reply(session, rpl.RPL_YOURHOST, f"Your host is {server}, running version {VERSION}")
    created = datetime.fromtimestamp(core.created, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    core.reply(session, rpl.RPL_CREATED, f"This server was created {created}")
    # 004: server name, version, user modes, room modes, room modes that take a parameter.
    myinfo = (session.name, server, VERSION, "i", "bklnot", "bklo")
    session.send(encode_line(server, rpl.RPL_MYINFO, *myinfo, trailing=False))
    send_isupport(core, session)
    send_lusers(core, session)
    send_motd(core, session)


def send_isupport(core: ChatCore, session: Session) -> None:
    """The 005 lines, 12 tokens each."""
    tokens = isupport_tokens(core.config)
    for start in range(0, len(tokens), _TOKENS_PER_LINE):
        chunk = tokens[start : start + _TOKENS_PER_LINE]
        core.reply(session, rpl.RPL_ISUPPORT, *chunk, _ISUPPORT_TEXT)


def send_lusers(core: ChatCore, session: Session) -> None:
    """251-255 and 265/266: how many users, rooms and connections there are."""
    total = core.user_count
    invisible = core.invisible_count
    unknown = len(core.sessions) - total
    most = max(core.max_users, total)
    users_text = f"There are {total - invisible} users and {invisible} invisible on 1 servers"
    core.reply(session, rpl.RPL_LUSERCLIENT, users_text)
    core.reply(session, rpl.RPL_LUSEROP, "0", "operator(s) online")
    core.reply(session, rpl.RPL_LUSERUNKNOWN, str(unknown), "unknown connection(s)")
    core.reply(session, rpl.RPL_LUSERCHANNELS, str(len(core.rooms)), "channels formed")
    core.reply(session, rpl.RPL_LUSERME, f"I have {total} clients and 0 servers")
    local_text = f"Current local users {total}, max {most}"
    core.reply(session, rpl.RPL_LOCALUSERS, str(total), str(most), local_text)
    global_text = f"Current global users {total}, max {most}"
    core.reply(session, rpl.RPL_GLOBALUSERS, str(total), str(most), global_text)


def send_motd(core: ChatCore, session: Session) -> None:
    """375/372/376 with the message of the day, or 422 when there is none."""
    lines = core.config.motd
    if not lines:
        core.reply(session, rpl.ERR_NOMOTD, "MOTD File is missing")
        return
    core.reply(session, rpl.RPL_MOTDSTART, f"- {core.server_name} Message of the day - ")
    for line in lines:
        core.reply(session, rpl.RPL_MOTD, f"- {line}")
    core.reply(session, rpl.RPL_ENDOFMOTD, "End of /MOTD command.")


def _names_this_server(core: ChatCore, session: Session, message: Message) -> bool:
    """True unless the command names another server: MOTD and VERSION take an optional
    ``<target>``, a server mask (``*.local``) or the nick of a user on that server. With one
    server, anything that matches neither us nor a user gets 402 ERR_NOSUCHSERVER."""
    if not message.params or not message.params[0]:
        return True
    target = message.params[0]
    if mask_pattern(target).fullmatch(casefold(core.server_name)):
        return True
    user = core.find_nick(target)
    if user is not None and user.registered:
        return True
    core.reply(session, rpl.ERR_NOSUCHSERVER, target, "No such server")
    return False


def motd(core: ChatCore, session: Session, message: Message) -> None:
    """MOTD [<target>]: the message of the day again."""
    if _names_this_server(core, session, message):
        send_motd(core, session)


def lusers(core: ChatCore, session: Session, message: Message) -> None:
    """LUSERS: user and room counts (the old mask and target parameters are ignored)."""
    send_lusers(core, session)


def version(core: ChatCore, session: Session, message: Message) -> None:
    """VERSION [<target>]: 351 with our version and name, then the ISUPPORT lines again."""
    if _names_this_server(core, session, message):
        core.reply(session, rpl.RPL_VERSION, VERSION, core.server_name, "sans-I/O core")
        send_isupport(core, session)
