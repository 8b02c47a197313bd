"""CAP: IRCv3 capability negotiation (https://ircv3.net/specs/extensions/capability-negotiation).

A client that sends ``CAP LS`` or ``CAP REQ`` before it is registered holds its registration
until ``CAP END``, so it can switch features on before the welcome burst. ``CAP LS 302`` also
says the client understands version 302 of the negotiation; we remember the highest version a
client named, because 302 switches ``cap-notify`` on for good.

The capabilities we offer cost nothing to honour:

- ``multi-prefix``: NAMES and WHO show every prefix of a member. With ``@`` as the only
  prefix there is never more than one.
- ``userhost-in-names``: NAMES lists ``nick!user@host`` instead of ``nick``.
- ``cap-notify``: the server announces capabilities it adds or removes later (``CAP NEW`` /
  ``CAP DEL``). Ours never change, so there is nothing to announce, but a client may ask.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatkit import numerics as rpl
from chatkit.commands.registration import try_register

if TYPE_CHECKING:
    from chatkit.core import ChatCore
    from chatkit.protocol import Message
    from chatkit.session import Session

#: Every capability we offer, in the order ``CAP LS`` lists them.
SUPPORTED_CAPS = ("cap-notify", "multi-prefix", "userhost-in-names")

#: The negotiation version that brings cap-notify (and multi-line and valued replies, which a
#: list this short never needs).
CAP_302 = 302


def cap(core: ChatCore, session: Session, message: Message) -> None:
    """CAP LS [version] / LIST / REQ :<caps> / END."""
    sub = message.params[0].upper()
    if sub == "LS":
        _ls(core, session, message.params[1] if len(message.params) > 1 else "")
    elif sub == "LIST":
        core.send_from_server(session, "CAP", session.name, "LIST", " ".join(sorted(session.caps)))
    elif sub == "REQ":
        if len(message.params) < 2:
            core.reply(session, rpl.ERR_NEEDMOREPARAMS, "CAP", "Not enough parameters")
            return
        if not session.registered:
            session.cap_negotiating = True
        _req(core, session, message.params[1])
    elif sub == "END":
        # Ignored once registered, as the spec says; it only ever resumes registration.
        if not session.registered and session.cap_negotiating:
            session.cap_negotiating = False
            try_register(core, session)
    else:
        core.reply(session, rpl.ERR_INVALIDCAPCMD, message.params[0], "Invalid CAP command")


def _ls(core: ChatCore, session: Session, version: str) -> None:
    if not session.registered:
        session.cap_negotiating = True
    if version.isdigit() and int(version) >= CAP_302:
        # Remember the highest version ever named: a later plain "CAP LS" does not undo it.
        session.cap_version = max(session.cap_version, int(version))
        session.caps.add("cap-notify")
    core.send_from_server(session, "CAP", session.name, "LS", " ".join(SUPPORTED_CAPS))


def _req(core: ChatCore, session: Session, wanted: str) -> None:
    """Accept the whole list or none of it (NAK changes nothing)."""
    changes = [(not name.startswith("-"), name.removeprefix("-")) for name in wanted.split()]
    acceptable = bool(changes) and all(
        name in SUPPORTED_CAPS
        # A client that said 302 keeps cap-notify: the spec forbids turning it off.
        and (enable or name != "cap-notify" or session.cap_version < CAP_302)
        for enable, name in changes
    )
    if not acceptable:
        core.send_from_server(session, "CAP", session.name, "NAK", wanted)
        return
    for enable, name in changes:
        if enable:
            session.caps.add(name)
        else:
            session.caps.discard(name)
    core.send_from_server(session, "CAP", session.name, "ACK", wanted)
