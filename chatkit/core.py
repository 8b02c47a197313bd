"""The server's state machine, without any I/O: :class:`ChatCore`.

A backend owns the sockets and the clock and drives the core with five calls::

    session = core.connect(transport, "127.0.0.1:50312")
    core.receive(session, data, now)   # bytes as read; b"" means the peer closed
    core.disconnect(session, reason)   # the socket died or the backend dropped it
    core.tick(now)                     # every TICK_INTERVAL seconds: timeouts, flood queues
    core.shutdown(reason)              # ERROR to everyone, then close every transport

The core answers only through ``transport.send(bytes)`` and ``transport.close(reason)``. It
never reads a clock to measure time (``now`` comes in) and never blocks, which is what lets one
core run under threads, ``selectors`` and ``asyncio`` alike, and be tested with a fake
transport that just records bytes. The commands themselves live in :mod:`chatkit.commands`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import ClassVar

from chatkit import numerics as rpl
from chatkit.casemap import casefold
from chatkit.commands import COMMANDS
from chatkit.config import ServerConfig
from chatkit.lines import clean_text, encode_line, encode_reply
from chatkit.protocol import MAX_LINE_BYTES, LineBuffer, Message, OverlongLine, RemoteProtocolError
from chatkit.room import Room
from chatkit.session import Session, TokenBucket
from chatkit.transport import Transport

__all__ = ["TICK_INTERVAL", "ChatCore"]

log = logging.getLogger(__name__)

#: How often a backend should call :meth:`ChatCore.tick`, in seconds. Flood queues drain at
#: this granularity; the once-a-second sweep for timeouts runs inside it when due.
TICK_INTERVAL = 0.25
#: Seconds between two full sweeps over every session (ping and registration timeouts).
_SWEEP_INTERVAL = 1.0


class ChatCore:
    """Owns every session, nick and room, and turns bytes from clients into replies.

    ``clock`` gives wall-clock Unix time for the few replies that carry a timestamp (topic
    set time, room creation, sign-on); it is injectable so tests can pin it. Liveness and
    flood control use only the ``now`` the backend passes in.
    """

    TICK_INTERVAL: ClassVar[float] = TICK_INTERVAL

    def __init__(self, config: ServerConfig, *, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.server_name = config.server_name
        self.clock = clock
        #: Wall-clock start time, for 003 RPL_CREATED.
        self.created = int(clock())
        #: Every live session (registered or not), in connection order.
        self.sessions: dict[Session, None] = {}
        #: Nicks in use (including by clients still registering), by casefolded nick.
        self.nicks: dict[str, Session] = {}
        #: Rooms that have at least one member, by casefolded name.
        self.rooms: dict[str, Room] = {}
        #: Registered clients now, those of them with +i, and the most seen at once: kept
        #: as counters so LUSERS (sent to every newcomer) never walks every session.
        self.user_count = 0
        self.invisible_count = 0
        self.max_users = 0
        #: The ``now`` of the call being handled; commands read it (idle time, flood).
        self.now = 0.0
        # Sessions with lines held back by flood control; tick() drains only these.
        self._flooded: dict[Session, None] = {}
        self._next_sweep: float | None = None

    # --- the backend-facing API ---------------------------------------------------------------

    # --8<-- [start:connect]
    def connect(self, transport: Transport, peer: str) -> Session:
        """Register a new connection and return its session.

        Past ``config.max_clients`` the connection gets ``ERROR :Server is full`` and is
        closed at once; the returned session is already closed, so later calls are no-ops.
        """
        config = self.config
        session = Session(transport, peer, LineBuffer(config.max_line_bytes, config.max_tag_bytes))
        if len(self.sessions) >= config.max_clients:
            session.closed = True
            transport.send(encode_line(None, "ERROR", "Server is full"))
            transport.close("Server is full")
            return session
        if config.flood_control:
            session.bucket = TokenBucket(config.flood_burst, config.flood_rate)
        self.sessions[session] = None
        return session

    # --8<-- [end:connect]

    # --8<-- [start:receive]
    def receive(self, session: Session, data: bytes, now: float) -> None:
        """Feed bytes read from ``session``'s socket; ``b""`` means the peer closed."""
        if session.closed:
            return
        self.now = now
        if not data:
            self._drop(session, "Connection closed")
            session.transport.close("Connection closed")
            return
        session.last_seen = now
        session.ping_sent_at = None
        if session.connected_at is None:
            session.connected_at = now
        bucket = session.bucket
        if bucket is not None:
            bucket.refill(now)
        for item in session.buffer.feed(data):
            if session.closed:
                return
            if bucket is not None and (session.flood_queue or not bucket.take()):
                self._hold_back(session, item)
                continue
            self._handle(session, item)

    # --8<-- [end:receive]

    # --8<-- [start:disconnect]
    def disconnect(self, session: Session, reason: str) -> None:
        """Forget ``session`` because its connection is gone; others see it QUIT.

        Idempotent, and it does not touch the transport: the backend is already closing it
        (and may still write its own ``ERROR`` line, as for "SendQ exceeded").
        """
        self._drop(session, clean_text(reason) or "Connection closed")

    # --8<-- [end:disconnect]

    # --8<-- [start:tick]
    def tick(self, now: float) -> None:
        """Run the timed policies: drain flood queues, and once a second, check timeouts."""
        self.now = now
        if self._flooded:
            self._drain_flood_queues(now)
        if self._next_sweep is None or now >= self._next_sweep:
            self._next_sweep = now + _SWEEP_INTERVAL
            self._sweep(now)

    # --8<-- [end:tick]

    def shutdown(self, reason: str = "Server shutting down") -> None:
        """Send ``ERROR`` to every client and close every transport; the core is then empty."""
        for session in list(self.sessions):
            session.closed = True
            session.send(encode_line(None, "ERROR", f"Closing Link: {session.host} ({reason})"))
            session.transport.close(reason)
        self.sessions.clear()
        self.user_count = self.invisible_count = 0
        self.nicks.clear()
        self.rooms.clear()
        self._flooded.clear()

    # --- helpers for the command functions ----------------------------------------------------

    def reply(self, session: Session, numeric: str, *params: str) -> None:
        """Send ``:server NUMERIC <nick> params... :last`` to one client, cut to 512 bytes."""
        session.send(encode_reply(self.server_name, numeric, session.name, *params))

    def reply_list(
        self, session: Session, numeric: str, params: tuple[str, ...], words: Iterable[str]
    ) -> None:
        """Send ``words`` space-separated as the last parameter of ``numeric``, over as many
        lines as the 512-byte limit needs (353 NAMES, 319 WHOIS); nothing if there are none."""
        head = f":{self.server_name} {numeric} {session.name} {' '.join(params)} :"
        budget = MAX_LINE_BYTES - 2 - len(head.encode("utf-8", "replace"))
        line: list[str] = []
        size = -1  # the first word needs no space in front of it
        for word in words:
            length = len(word.encode("utf-8", "replace")) + 1
            if line and size + length > budget:
                self.reply(session, numeric, *params, " ".join(line))
                line, size = [], -1
            line.append(word)
            size += length
        if line:
            self.reply(session, numeric, *params, " ".join(line))

    def send_from_server(self, session: Session, command: str, *params: str) -> None:
        """Send ``:server COMMAND params...`` (PONG, CAP ...) to one client, cut to 512 bytes."""
        session.send(encode_reply(self.server_name, command, *params))

    def find_nick(self, nick: str) -> Session | None:
        """The session using ``nick`` (compared with the casemapping), if any."""
        return self.nicks.get(casefold(nick))

    def find_room(self, name: str) -> Room | None:
        """The room called ``name`` (compared with the casemapping), if it exists."""
        return self.rooms.get(casefold(name))

    def wall_time(self) -> int:
        """Unix time now, for timestamps in replies."""
        return int(self.clock())

    def registered_sessions(self) -> Iterator[Session]:
        """Every registered client, in connection order."""
        return (session for session in self.sessions if session.registered)

    def peers(self, session: Session) -> dict[Session, None]:
        """Everyone who shares at least one room with ``session`` (not ``session`` itself)."""
        seen: dict[Session, None] = {}
        for room in session.rooms.values():
            seen.update(dict.fromkeys(room.members))
        seen.pop(session, None)
        return seen

    def leave_room(self, session: Session, room: Room) -> None:
        """Take ``session`` out of ``room``, and forget the room once it is empty."""
        room.remove(session)
        session.rooms.pop(room.key, None)
        if not room.members:
            self.rooms.pop(room.key, None)

    def quit(self, session: Session, reason: str) -> None:
        """The client asked to leave (QUIT): tell the others, say goodbye, close."""
        # "Quit: " tells the others the user left on purpose; modern.ircdocs.horse asks for it
        # even when the reason is empty.
        self.close(session, f"Quit: {reason}")

    def close(self, session: Session, reason: str) -> None:
        """The server ends ``session``: others see ``QUIT :reason``; the client gets
        ``ERROR :Closing Link: host (reason)`` and its transport is closed."""
        if session.closed:
            return
        self._drop(session, reason)
        session.send(encode_line(None, "ERROR", f"Closing Link: {session.host} ({reason})"))
        session.transport.close(reason)

    # --- internals ----------------------------------------------------------------------------

    # --8<-- [start:dispatch]
    def _handle(self, session: Session, item: str | OverlongLine) -> None:
        """Run one line: parse it, check registration and parameters, call its command."""
        if isinstance(item, OverlongLine):
            self.reply(session, rpl.ERR_INPUTTOOLONG, "Input line was too long")
            return
        try:
            message = Message.parse(clean_text(item))
        except RemoteProtocolError:
            return  # nothing we could even name in an error reply (e.g. only a prefix)
        try:
            self._dispatch(session, message)
        except Exception:
            # A bug in one command must not take the server (or this client) down with it.
            log.exception("error in %s from %r", message.command, session)

    def _dispatch(self, session: Session, message: Message) -> None:
        command = COMMANDS.get(message.command)
        if not session.registered and (command is None or not command.before_registration):
            # Before registration even an unknown command gets 451 (421 is for registered
            # clients); a NOTICE gets nothing at all, as it never does.
            if command is None or not command.quiet:
                self.reply(session, rpl.ERR_NOTREGISTERED, "You have not registered")
            return
        if command is None:
            self.reply(session, rpl.ERR_UNKNOWNCOMMAND, message.command, "Unknown command")
            return
        if len(message.params) < command.min_params:
            self.reply(session, rpl.ERR_NEEDMOREPARAMS, message.command, "Not enough parameters")
            return
        command.handler(self, session, message)

    # --8<-- [end:dispatch]

    def _hold_back(self, session: Session, item: str | OverlongLine) -> None:
        # Flood control: delay the line; a client that keeps flooding is disconnected.
        session.flood_queue.append(item)
        if len(session.flood_queue) > self.config.flood_queue_limit:
            self.close(session, "Excess Flood")
        else:
            self._flooded[session] = None

    def _drain_flood_queues(self, now: float) -> None:
        for session in list(self._flooded):
            bucket = session.bucket
            queue = session.flood_queue
            if bucket is not None:
                bucket.refill(now)
                while queue and not session.closed and bucket.take():
                    self._handle(session, queue.popleft())
            if not queue or session.closed:
                self._flooded.pop(session, None)

    def _sweep(self, now: float) -> None:
        # Once a second: registration timeouts for newcomers, PING/timeout for the silent.
        config = self.config
        for session in list(self.sessions):
            if session.closed:
                continue
            if session.connected_at is None:
                session.connected_at = session.last_seen = now
                continue
            if not session.registered:
                if now - session.connected_at >= config.registration_timeout:
                    self.close(session, "Registration timed out")
                continue
            last_seen = session.last_seen if session.last_seen is not None else now
            if session.ping_sent_at is None:
                if now - last_seen >= config.ping_interval:
                    session.ping_sent_at = now
                    session.send(encode_line(None, "PING", self.server_name))
            elif now - session.ping_sent_at >= config.ping_timeout:
                self.close(session, f"Ping timeout: {int(now - last_seen)} seconds")

    def _drop(self, session: Session, reason: str) -> None:
        """Forget ``session`` everywhere; everyone sharing a room sees one QUIT."""
        if session.closed:
            return
        session.closed = True
        self.sessions.pop(session, None)
        self._flooded.pop(session, None)
        if session.registered:
            self.user_count -= 1
            if session.invisible:
                self.invisible_count -= 1
        session.flood_queue.clear()
        if session.rooms:
            data = encode_line(session.prefix, "QUIT", reason)
            told: set[Session] = {session}
            for room in list(session.rooms.values()):
                self.leave_room(session, room)
                for member, send in room.members.items():
                    if member not in told:
                        told.add(member)
                        send(data)
        if session.key is not None and self.nicks.get(session.key) is session:
            del self.nicks[session.key]
