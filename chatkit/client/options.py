"""The client's settings and policy (retries, delays, timeouts), in one place with reasons."""

from __future__ import annotations

import getpass
import re
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["ClientOptions", "backoff_delays", "default_nick", "valid_nick"]

# A nick starts with a letter or one of []\`_^{|} and goes on with those, digits and "-"
# (modern.ircdocs.horse, and what chatkit's server accepts).
_NICK = re.compile(r"[A-Za-z\[\]\\`_^{|}][A-Za-z0-9\[\]\\`_^{|}\-]*")
_NOT_NICK_CHARS = re.compile(r"[^A-Za-z0-9\[\]\\`_^{|}\-]")


@dataclass(frozen=True, slots=True)
class ClientOptions:
    """Everything ``chatkit join`` needs to know; the CLI builds one, tests build their own."""

    nick: str
    #: A local ``chatkit serve`` by default, on the traditional IRC port.
    host: str = "127.0.0.1"
    port: int = 6667
    rooms: tuple[str, ...] = ("#lobby",)
    password: str | None = None
    #: Show every protocol line sent (``->``) and received (``<-``).
    debug: bool = False
    #: Reconnect (and rejoin) after the connection fails or drops.
    reconnect: bool = True
    #: Connection attempts in a row before giving up (exit code 1). With the delays below,
    #: 6 attempts wait 1 + 2 + 4 + 8 + 16 s: long enough for a server restart, short enough
    #: that a client started with no server at all tells you so within a minute.
    attempts: int = 6
    #: The first wait before reconnecting; it doubles after every failed attempt ...
    first_delay: float = 1.0
    #: ... up to this cap, so a long outage is retried every half minute, not every hour.
    max_delay: float = 30.0
    #: How long a TCP connect may take before we count it as failed.
    connect_timeout: float = 10.0
    #: Seconds of silence from the server before we PING it ...
    ping_interval: float = 90.0
    #: ... and how long we then wait for any answer before treating the link as dead.
    ping_timeout: float = 60.0
    #: After QUIT, how long we wait for the server to close the connection.
    quit_timeout: float = 5.0


def backoff_delays(first: float, cap: float) -> Iterator[float]:
    """1, 2, 4, 8 ... seconds, never more than ``cap``: the waits between reconnect attempts."""
    delay = first
    while True:
        yield min(delay, cap)
        delay *= 2


def valid_nick(nick: str) -> bool:
    """True if ``nick`` is a syntactically valid IRC nick."""
    return _NICK.fullmatch(nick) is not None


def default_nick(user: str | None = None) -> str:
    """A nick made from the login name: ``Jane Doe`` -> ``JaneDoe``, ``1337`` -> ``u1337``.

    Characters a nick cannot hold are dropped, a leading digit or dash gets a ``u`` in front,
    and an empty result falls back to ``guest``; at most 16 characters are kept.
    """
    if user is None:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):  # no $USER and no passwd entry (some containers)
            user = ""
    nick = _NOT_NICK_CHARS.sub("", user)[:16]
    if not nick:
        return "guest"
    return nick if valid_nick(nick) else ("u" + nick)[:16]
