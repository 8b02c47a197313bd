"""Connection registration and liveness: PASS, NICK, USER, PING, PONG, QUIT.

A client is *registered* once it has a nick and a user name, has finished capability
negotiation (if it started one with ``CAP LS``/``CAP REQ``), and gave the right password
(if the server has one). Only then does it get the welcome burst (001-005, LUSERS, MOTD) and
may use the other commands. The order of NICK, USER and CAP does not matter. CAP itself is in
:mod:`chatkit.commands.capabilities`, the welcome burst in :mod:`chatkit.commands.server_info`.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from chatkit import numerics as rpl
from chatkit.casemap import casefold, is_valid_nick
from chatkit.commands.server_info import send_welcome
from chatkit.lines import encode_line, truncate_utf8

if TYPE_CHECKING:
    from chatkit.core import ChatCore
    from chatkit.protocol import Message
    from chatkit.session import Session

# Characters a username cannot carry: they would break ``nick!user@host`` or the line.
_USER_FORBIDDEN = str.maketrans("", "", " !@:\x00\r\n")


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
    send_welcome(core, session)


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
