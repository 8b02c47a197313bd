"""Connection registration and liveness: CAP, PASS, NICK, USER, PING, PONG, QUIT.

A client is *registered* once it has a nick and a user name, has finished capability
negotiation (if it started one with ``CAP LS``/``CAP REQ``), and gave the right password
(if the server has one). Only then does it get the welcome burst (001-005, LUSERS, MOTD) and
may use the other commands. The order of NICK, USER and CAP does not matter.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from chatkit import __version__
from chatkit import numerics as rpl
from chatkit.casemap import CASEMAPPING, casefold, is_valid_nick
from chatkit.commands.queries import send_lusers, send_motd
from chatkit.lines import encode_line, truncate_utf8

if TYPE_CHECKING:
    from chatkit.config import ServerConfig
    from chatkit.core import ChatCore
    from chatkit.protocol import Message
    from chatkit.session import Session

#: IRCv3 capabilities we offer. ``multi-prefix`` asks for every prefix of a member in NAMES
#: and WHO; with only ``@`` there is never more than one, so we honour it for free.
#: ``userhost-in-names`` makes NAMES list ``nick!user@host`` instead of just ``nick``.
SUPPORTED_CAPS = ("multi-prefix", "userhost-in-names")

VERSION = f"chatkit-{__version__}"

# Characters a username cannot carry: they would break ``nick!user@host`` or the line.
_USER_FORBIDDEN = str.maketrans("", "", " !@:\x00\r\n")


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
        f"NETWORK={config.network}",
        f"NICKLEN={config.nick_length}",
        "PREFIX=(o)@",
        f"TARGMAX=JOIN:,KICK:1,NOTICE:{targets},PART:,PRIVMSG:{targets},WHOIS:1",
        f"TOPICLEN={config.topic_length}",
        f"USERLEN={config.user_length}",
    ]


def try_register(core: ChatCore, session: Session) -> None:
    """Finish registration if everything it needs has arrived, and send the welcome burst."""
    if session.registered or session.nick is None or session.user is None:
        return
    if session.cap_negotiating:
        return
    expected = core.config.password
    if expected is not None and not hmac.compare_digest(
        (session.password or "").encode(), expected.encode()
    ):
        core.reply(session, rpl.ERR_PASSWDMISMATCH, "Password incorrect")
        core.close(session, "Bad Password")
        return
    session.registered = True
    session.signon = core.wall_time()
    session.idle_since = core.now
    session.update_prefix()
    core.user_count += 1
    core.max_users = max(core.max_users, core.user_count)
    _welcome(core, session)


def _welcome(core: ChatCore, session: Session) -> None:
    config = core.config
    server = core.server_name
    core.reply(
        session,
        rpl.RPL_WELCOME,
        f"Welcome to the {config.network} IRC Network, {session.prefix}",
    )
    core.reply(session, rpl.RPL_YOURHOST, f"Your host is {server}, running version {VERSION}")
    created = _format_time(core.created)
    core.reply(session, rpl.RPL_CREATED, f"This server was created {created}")
    # 004: server name, version, user modes, room modes, room modes that take a parameter.
    session.send(
        encode_line(
            server,
            rpl.RPL_MYINFO,
            session.name,
            server,
            VERSION,
            "i",
            "bklnot",
            "bklo",
            trailing=False,
        )
    )
    tokens = isupport_tokens(config)
    for start in range(0, len(tokens), 12):
        core.reply(session, rpl.RPL_ISUPPORT, *tokens[start : start + 12], _ISUPPORT_TEXT)
    send_lusers(core, session)
    send_motd(core, session)


_ISUPPORT_TEXT = "are supported by this server"


def _format_time(stamp: int) -> str:
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def cap(core: ChatCore, session: Session, message: Message) -> None:
    """CAP LS/LIST/REQ/END: IRCv3 capability negotiation (holds registration until END)."""
    sub = message.params[0].upper()
    name = session.name
    if sub == "LS":
        if not session.registered:
            session.cap_negotiating = True
        core.send_from_server(session, "CAP", name, "LS", " ".join(SUPPORTED_CAPS))
    elif sub == "LIST":
        core.send_from_server(session, "CAP", name, "LIST", " ".join(sorted(session.caps)))
    elif sub == "REQ":
        if len(message.params) < 2:
            core.reply(session, rpl.ERR_NEEDMOREPARAMS, "CAP", "Not enough parameters")
            return
        if not session.registered:
            session.cap_negotiating = True
        wanted = message.params[1]
        changes = [(not w.startswith("-"), w.lstrip("-")) for w in wanted.split()]
        if changes and all(cap_name in SUPPORTED_CAPS for _, cap_name in changes):
            for enable, cap_name in changes:
                if enable:
                    session.caps.add(cap_name)
                else:
                    session.caps.discard(cap_name)
            core.send_from_server(session, "CAP", name, "ACK", wanted)
        else:
            core.send_from_server(session, "CAP", name, "NAK", wanted)
    elif sub == "END":
        if not session.registered and session.cap_negotiating:
            session.cap_negotiating = False
            try_register(core, session)
    else:
        core.reply(session, rpl.ERR_INVALIDCAPCMD, message.params[0], "Invalid CAP command")


def pass_(core: ChatCore, session: Session, message: Message) -> None:
    """PASS <password>: remember it; it is checked when registration completes."""
    if session.registered:
        core.reply(session, rpl.ERR_ALREADYREGISTERED, "You may not reregister")
        return
    session.password = message.params[0]


def nick(core: ChatCore, session: Session, message: Message) -> None:
    """NICK <nick>: choose a nick, or change it (everyone sharing a room sees it once)."""
    if not message.params or not message.params[0]:
        core.reply(session, rpl.ERR_NONICKNAMEGIVEN, "No nickname given")
        return
    new = message.params[0]
    if not is_valid_nick(new, core.config.nick_length):
        core.reply(session, rpl.ERR_ERRONEUSNICKNAME, new, "Erroneous nickname")
        return
    key = casefold(new)
    holder = core.nicks.get(key)
    if holder is not None and holder is not session:
        core.reply(session, rpl.ERR_NICKNAMEINUSE, new, "Nickname is already in use")
        return
    if new == session.nick:
        return
    if session.registered:
        data = encode_line(session.prefix, "NICK", new)
        session.send(data)
        for peer in core.peers(session):
            peer.send(data)
    if session.key is not None:
        core.nicks.pop(session.key, None)
    core.nicks[key] = session
    session.nick = new
    session.key = key
    session.update_prefix()
    try_register(core, session)


def user(core: ChatCore, session: Session, message: Message) -> None:
    """USER <username> <mode> <unused> :<realname>: the rest of who the client is."""
    if session.registered:
        core.reply(session, rpl.ERR_ALREADYREGISTERED, "You may not reregister")
        return
    # "~" says we did not verify the name with an ident lookup, as IRC servers show it; it
    # counts towards USERLEN, so the name itself gets one character less.
    username = message.params[0].translate(_USER_FORBIDDEN)[: max(core.config.user_length - 1, 1)]
    if not username or not message.params[3]:
        # Neither may be empty (modern.ircdocs.horse); what is left after cleaning counts.
        core.reply(session, rpl.ERR_NEEDMOREPARAMS, "USER", "Not enough parameters")
        return
    session.user = "~" + username
    session.realname = message.params[3]
    session.update_prefix()
    try_register(core, session)


def ping(core: ChatCore, session: Session, message: Message) -> None:
    """PING <token>: answer ``PONG <server> :<token>`` (any line already proves liveness).

    The token may be any non-empty string; an empty one gets 409 ERR_NOORIGIN.
    """
    if not message.params[0]:
        core.reply(session, rpl.ERR_NOORIGIN, "No origin specified")
        return
    server = core.server_name
    core.send_from_server(session, "PONG", server, message.params[0])


def pong(core: ChatCore, session: Session, message: Message) -> None:
    """PONG: the answer to our PING. ``receive`` already noted that the client is alive."""


def quit_(core: ChatCore, session: Session, message: Message) -> None:
    """QUIT [:reason]: others sharing a room see ``QUIT :Quit: reason``; we close."""
    reason = message.params[0] if message.params else ""
    core.quit(session, truncate_utf8(reason, core.config.kick_length))
