"""One connection's state: who it is, where it is, and how fast it may talk.

A :class:`Session` is plain data that :class:`chatkit.core.ChatCore` and the command
functions read and change. It is hashed by identity, so rooms can keep their members in a
dict keyed by session and a nick change never has to touch them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from chatkit.protocol import LineBuffer, OverlongLine

if TYPE_CHECKING:
    from chatkit.room import Room
    from chatkit.transport import Transport

__all__ = ["Session", "TokenBucket", "host_from_peer"]


def host_from_peer(peer: str) -> str:
    """Turn a peer address (``"127.0.0.1:50312"``, ``"[::1]:50312"``) into the host part.

    An IPv6 address that starts with ``:`` (``::1``) gets a leading ``0``, as IRC servers
    do, because a parameter starting with ``:`` would mean "the rest of the line".
    """
    host = peer
    if peer.startswith("["):
        host = peer[1:].partition("]")[0]
    elif peer.count(":") == 1:
        host = peer.partition(":")[0]
    host = host.replace(" ", "") or "unknown"
    return "0" + host if host.startswith(":") else host


class TokenBucket:
    """Flood control: each line costs one token; tokens come back at ``rate`` per second.

    A client may send ``burst`` lines at once; after that its lines wait in a queue until
    tokens refill (the server slows it down instead of dropping what it said).
    """

    __slots__ = ("burst", "rate", "stamp", "tokens")

    def __init__(self, burst: int, rate: float) -> None:
        self.burst = float(burst)
        self.rate = rate
        self.tokens = float(burst)
        #: The ``now`` of the last refill; ``None`` until the first line arrives.
        self.stamp: float | None = None

    def refill(self, now: float) -> None:
        """Add the tokens earned since the last refill, up to ``burst``."""
        if self.stamp is not None and now > self.stamp:
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        if self.stamp is None or now > self.stamp:
            self.stamp = now

    def take(self) -> bool:
        """Spend one token if there is one."""
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class Session:
    """One client connection, registered or not."""

    __slots__ = (
        "away",
        "bucket",
        "buffer",
        "cap_negotiating",
        "cap_version",
        "caps",
        "closed",
        "connected_at",
        "flood_queue",
        "host",
        "idle_since",
        "invisible",
        "key",
        "last_seen",
        "nick",
        "password",
        "peer",
        "ping_sent_at",
        "prefix",
        "realname",
        "registered",
        "rooms",
        "send",
        "signon",
        "transport",
        "user",
    )

    def __init__(self, transport: Transport, peer: str, buffer: LineBuffer) -> None:
        self.transport = transport
        # --8<-- [start:send]
        #: The transport's bound ``send``, looked up once for the fan-out loop.
        self.send: Callable[[bytes], None] = transport.send
        # --8<-- [end:send]
        self.peer = peer
        self.host = host_from_peer(peer)
        self.buffer = buffer
        #: The current nick (``None`` until NICK) and its casefolded form, the dict key.
        self.nick: str | None = None
        self.key: str | None = None
        #: From USER; the username gets a ``~`` because we do not run ident lookups.
        self.user: str | None = None
        self.realname = ""
        #: ``nick!user@host``, recomputed on every nick change, used as the source of
        #: everything this client says (so the fan-out loop never formats it).
        self.prefix = ""
        self.registered = False
        #: True between ``CAP LS``/``CAP REQ`` and ``CAP END``: registration waits for it.
        self.cap_negotiating = False
        #: The highest CAP LS version the client named (0 for none); 302 turns on cap-notify.
        self.cap_version = 0
        self.caps: set[str] = set()
        #: What PASS said, checked when registration completes.
        self.password: str | None = None
        #: Rooms this client is in, by casefolded name.
        self.rooms: dict[str, Room] = {}
        #: The away message, or ``None`` when present.
        self.away: str | None = None
        #: User mode +i: hidden from WHO and NAMES for people who share no room with it.
        self.invisible = False
        #: Wall-clock time of registration (WHOIS 317), and ``now`` of the last chat line.
        self.signon = 0
        self.idle_since: float | None = None
        #: ``now`` of the first sign of life (registration timeout counts from here).
        self.connected_at: float | None = None
        #: ``now`` of the last line from the peer; ``None`` until the core first sees it.
        self.last_seen: float | None = None
        #: ``now`` when we sent a PING that is still unanswered.
        self.ping_sent_at: float | None = None
        self.bucket: TokenBucket | None = None
        #: Lines held back by flood control, oldest first.
        self.flood_queue: deque[str | OverlongLine] = deque()
        #: Set once the core has let go of this session; every later call is a no-op.
        self.closed = False

    @property
    def name(self) -> str:
        """The nick for replies: ``*`` before the client has chosen one."""
        return self.nick or "*"

    def update_prefix(self) -> None:
        """Recompute ``nick!user@host`` after a NICK or USER."""
        self.prefix = f"{self.nick or '*'}!{self.user or '*'}@{self.host}"

    def __repr__(self) -> str:
        return f"<Session {self.name} {self.peer}{' closed' if self.closed else ''}>"
