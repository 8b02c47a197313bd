"""Server policy in one place: every limit and timeout, with the reason it exists."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

__all__ = ["DEFAULT_MOTD", "ConfigError", "ServerConfig"]

#: Shown when no MOTD file is given, so a fresh ``chatkit serve`` greets people.
DEFAULT_MOTD = (
    "Welcome to chatkit, a small IRC server for learning network programming.",
    "Try: /join #lobby, then say hello. /list shows the rooms.",
)


#: A server name is a host name (letters, digits, ``-``, ``_``) with at least one dot: in a
#: line's prefix, the dot is what tells clients "a server said this", not a nick.
_SERVER_NAME = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+")


class ConfigError(ValueError):
    """A setting the server cannot work with; the message names the setting and says why."""


@dataclass(slots=True)
class ServerConfig:
    """Everything a server needs to know. The CLI builds one; tests build their own.

    Values are checked when the config is made (:class:`ConfigError`), so a bad one is
    reported before the server starts, not by a confused client later.
    """

    #: Address to listen on. 127.0.0.1 keeps a learning server off the network by default.
    host: str = "127.0.0.1"
    #: 6667 is the traditional plain-text IRC port; tests use 0 (the OS picks a free one).
    port: int = 6667
    #: Our name in replies (prefix of numerics, PONG, 004, 312 ...).
    server_name: str = "chatkit.local"
    #: Announced in ISUPPORT as NETWORK=.
    network: str = "chatkit"
    #: Lines of the message of the day; empty means "no MOTD" (422).
    motd: tuple[str, ...] = DEFAULT_MOTD
    #: Connection password (PASS); None means no password is required.
    password: str | None = None

    # --- input limits -------------------------------------------------------------------------
    #: Classic IRC: 512 bytes per line including CRLF. Longer lines get 417, never a crash.
    max_line_bytes: int = 512
    #: IRCv3 message-tags: a client may put up to 4096 bytes of tags (``@``, 4094 bytes of tag
    #: data, a space) in front of the 512; the other half of the 8191 is for tags a server adds.
    max_tag_bytes: int = 4096
    nick_length: int = 30
    #: Longest username (from USER) we keep; announced as USERLEN.
    user_length: int = 10
    channel_length: int = 50
    topic_length: int = 390
    kick_length: int = 255
    away_length: int = 200
    #: Rooms one client may be in at once (CHANLIMIT); stops one client creating thousands.
    max_rooms_per_client: int = 50
    #: Targets one PRIVMSG/NOTICE may name (``PRIVMSG a,b,#c :hi``); announced as MAXTARGETS.
    max_targets: int = 4
    #: Ban masks one room may hold (+b); announced as MAXLIST=b:N.
    max_bans: int = 50
    #: Mode changes with a parameter one MODE line may carry (``+ooo a b c``); MODES=.
    max_modes: int = 4
    #: Connections accepted at once; the next one gets ERROR and is closed.
    max_clients: int = 20_000

    # --8<-- [start:policies]
    # --- output limits ------------------------------------------------------------------------
    #: Bytes of output queued for one client before we give up on it ("SendQ exceeded").
    #: A client that stops reading must not make the server buffer without bound.
    sendq: int = 1_048_576

    # --- liveness -----------------------------------------------------------------------------
    #: Seconds of silence from a client before we send it a PING.
    ping_interval: float = 120.0
    #: Seconds we then wait for any line (usually the PONG) before dropping it.
    ping_timeout: float = 60.0
    #: Seconds a connection may take to register (NICK + USER) before it is dropped.
    registration_timeout: float = 60.0

    # --- flood control (a token bucket per client) --------------------------------------------
    #: Off for benchmarks, which flood on purpose.
    flood_control: bool = True
    #: Lines a client may send in a burst before being slowed down.
    flood_burst: int = 20
    #: Lines per second refilled into the bucket.
    flood_rate: float = 5.0
    #: Lines held back (delayed, not dropped) before the client is disconnected: "Excess Flood".
    flood_queue_limit: int = 40
    # --8<-- [end:policies]

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        """Raise :class:`ConfigError` for the first setting that cannot work."""
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port {self.port} is not between 0 and 65535")
        if len(self.server_name) > 63 or not _SERVER_NAME.fullmatch(self.server_name):
            raise ConfigError(
                f"server name {self.server_name!r} must look like a host name with a dot "
                "(letters, digits, '-', '_'; at most 63 characters), e.g. irc.example.org"
            )
        if not self.network or not self.network.isprintable() or " " in self.network:
            raise ConfigError(f"network name {self.network!r} must be one printable word")
        if self.password is not None and (
            not self.password or any(char in self.password for char in "\r\n\0")
        ):
            raise ConfigError("the password must not be empty nor contain CR, LF or NUL")
        if any(char in line for line in self.motd for char in "\r\n\0"):
            raise ConfigError("a MOTD line must not contain CR, LF or NUL")
        at_least = {
            "max_line_bytes": 512,  # the protocol's own minimum
            "nick_length": 1,
            "user_length": 1,
            "channel_length": 2,
            "max_rooms_per_client": 1,
            "max_targets": 1,
            "max_modes": 1,
            "max_clients": 1,
            "flood_burst": 1,
            "sendq": self.max_line_bytes,  # room for at least one line
        }
        for name, least in at_least.items():
            if getattr(self, name) < least:
                raise ConfigError(f"{name} must be at least {least}, not {getattr(self, name)}")
        for name in ("ping_interval", "ping_timeout", "registration_timeout", "flood_rate"):
            value = getattr(self, name)
            if math.isnan(value) or value <= 0:
                raise ConfigError(f"{name} must be a positive number, not {value}")
