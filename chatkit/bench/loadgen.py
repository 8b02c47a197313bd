"""The load generator: many IRC connections in one asyncio event loop.

A benchmark that spends more CPU than the server measures itself. So each connection is an
:class:`asyncio.BufferedProtocol` that reads into one shared buffer (no allocation per read),
and once the measurement starts most connections only *count* lines with ``bytearray.count``,
which runs in C. A few evenly spread *probes* parse every line to read the send timestamp the
sender put in the text: that is where latency comes from.

A connection goes through these modes, in order:

``HANDSHAKE``   parse every line: answer PING, send JOIN after 001, note 366 (joined) or errors
``WAIT_SYNC``   joined; skip the join storm until the room's sync line arrives (fan-out only)
``COUNTING``    count lines; probes also parse them for latency, PING and QUIT
"""

from __future__ import annotations

import asyncio
import enum
import errno
import socket
import time
from collections.abc import Callable

__all__ = [
    "BenchClient",
    "LatencyRecorder",
    "Mode",
    "connect_client",
    "describe_error",
    "message_line",
]

#: One read buffer for every connection: asyncio calls get_buffer, recv_into and
#: buffer_updated back to back, so connections never see each other's bytes.
_SHARED = bytearray(256 * 1024)
_SHARED_VIEW = memoryview(_SHARED)
#: Messages carry ``T<sender>.<seq>.<send time in ns>`` at the start of their text.
_STAMP = b" :T"
#: A handshake line longer than this without a newline means the peer is not speaking IRC.
_MAX_PENDING = 64 * 1024


class Mode(enum.Enum):
    """What a connection does with the bytes it reads (see the module docstring)."""

    HANDSHAKE = "handshake"
    WAIT_SYNC = "wait-sync"
    COUNTING = "counting"


def message_line(room: bytes, sender: int, seq: int, sent_ns: int, padding: bytes) -> bytes:
    """One timestamped PRIVMSG as the senders write it (and the probes read it back)."""
    return b"PRIVMSG %s :T%d.%d.%d %s\r\n" % (room, sender, seq, sent_ns, padding)


class LatencyRecorder:
    """Collects end-to-end latencies (seconds) from the probes, up to a bounded count."""

    def __init__(self, limit: int = 1_000_000) -> None:
        self.samples: list[float] = []
        self.limit = limit
        #: Highest sequence number + 1 seen per sender by the ack probe (flow control).
        self.acked: dict[int, int] = {}
        self._ack_events: dict[int, asyncio.Event] = {}

    def ack_event(self, sender: int) -> asyncio.Event:
        """The event a sender waits on while its window of unacknowledged messages is full."""
        return self._ack_events.setdefault(sender, asyncio.Event())

    def record(self, latency: float) -> None:
        if len(self.samples) < self.limit:
            self.samples.append(latency)

    def ack(self, sender: int, seq: int) -> None:
        if seq >= self.acked.get(sender, 0):
            self.acked[sender] = seq + 1
            event = self._ack_events.get(sender)
            if event is not None:
                event.set()


class BenchClient(asyncio.BufferedProtocol):
    """One benchmark connection: registers as ``nick``, joins ``room``, then reads and counts."""

    def __init__(
        self,
        nick: str,
        room: str,
        *,
        probe: bool = False,
        recorder: LatencyRecorder | None = None,
        ack_source: bool = False,
        on_quit: Callable[[bytes, float], None] | None = None,
    ) -> None:
        self.nick = nick
        self.room = room
        self.probe = probe
        self.recorder = recorder
        self.ack_source = ack_source
        self.on_quit = on_quit
        self.mode = Mode.HANDSHAKE
        self.transport: asyncio.Transport | None = None
        loop = asyncio.get_running_loop()
        #: Resolves with the monotonic time of our 366 (end of NAMES) for ``room``.
        self.joined: asyncio.Future[float] = loop.create_future()
        #: Resolves with the reason once the connection is gone.
        self.closed: asyncio.Future[str] = loop.create_future()
        #: Lines read in COUNTING mode.
        self.lines = 0
        #: The last ERROR line the server sent us, if any (e.g. "SendQ exceeded").
        self.error: str | None = None
        self.sync_token: bytes | None = None
        self._pending = b""

    # --- asyncio protocol callbacks ------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        nick = self.nick.encode()
        transport.write(b"NICK %s\r\nUSER %s 0 * :chatkit bench\r\n" % (nick, nick))

    # --8<-- [start:hot-path]
    def get_buffer(self, sizehint: int) -> memoryview:
        return _SHARED_VIEW  # every connection reads into the same 256 KiB: no allocation

    def buffer_updated(self, nbytes: int) -> None:
        if self.mode is Mode.COUNTING and not self.probe:
            # The hot path: nearly every byte the server sends during a measurement ends here.
            self.lines += _SHARED.count(b"\n", 0, nbytes)
            return
        self._feed(bytes(_SHARED_VIEW[:nbytes]))  # probes and handshakes parse lines

    # --8<-- [end:hot-path]

    def eof_received(self) -> bool | None:
        return None  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        reason = self.error or (describe_error(exc) if exc else "closed by server")
        if not self.joined.done():
            self.joined.set_exception(ConnectionError(reason))
        if not self.closed.done():
            self.closed.set_result(reason)

    # --- control from the scenario -------------------------------------------------------------
    def send(self, data: bytes) -> None:
        """Write raw bytes (ignored once the connection is closing)."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def start_counting(self) -> None:
        """Switch to COUNTING now (for the client that sends the sync line itself)."""
        self.mode = Mode.COUNTING
        self._pending = b""

    def close(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    # --- parsing --------------------------------------------------------------------------------
    def _feed(self, data: bytes) -> None:
        if self.mode is Mode.HANDSHAKE:
            self._feed_handshake(data)
        elif self.mode is Mode.WAIT_SYNC:
            self._feed_wait_sync(data)
        else:
            self._feed_probe(data)

    def _feed_handshake(self, data: bytes) -> None:
        buffer = self._pending + data
        start = 0
        while self.mode is Mode.HANDSHAKE:
            end = buffer.find(b"\n", start)
            if end == -1:
                break
            self._handle_line(buffer[start:end].rstrip(b"\r"))
            start = end + 1
        self._pending = b""
        rest = buffer[start:]
        if self.mode is not Mode.HANDSHAKE:
            if rest:
                self._feed(rest)
        elif len(rest) > _MAX_PENDING:
            self.error = "line without end from server"
            self.close()
        else:
            self._pending = rest

    def _handle_line(self, line: bytes) -> None:
        words = line.split(b" ", 3)
        if words[0].startswith(b":") and len(words) > 1:
            command, args = words[1], words[2:]
        else:
            command, args = words[0], words[1:]
        if command == b"PING":
            self.send(b"PONG " + b" ".join(args) + b"\r\n")
        elif command == b"001":
            self.send(b"JOIN %s\r\n" % self.room.encode())
        elif command == b"366" and not self.joined.done():
            self.joined.set_result(time.monotonic())
            if self.sync_token is not None:
                self.mode = Mode.WAIT_SYNC
        elif command in (b"433", b"432", b"405", b"471", b"473", b"474", b"475"):
            self.error = f"{command.decode()} " + b" ".join(args).decode("utf-8", "replace")
            if not self.joined.done():
                self.joined.set_exception(ConnectionError(self.error))
        elif command == b"ERROR":
            self.error = "ERROR " + b" ".join(args).decode("utf-8", "replace").lstrip(":")

    def _feed_wait_sync(self, data: bytes) -> None:
        assert self.sync_token is not None
        window = self._pending + data
        found = window.find(self.sync_token)
        if found == -1:
            # Keep just enough to find a token split across two reads.
            self._pending = window[-len(self.sync_token) :]
            return
        line_end = window.find(b"\n", found)
        self.mode = Mode.COUNTING
        self._pending = b""
        if line_end == -1:
            # The rest of the sync line is still in flight: skip it, then count what follows.
            self.mode = Mode.WAIT_SYNC
            self.sync_token = b"\n"
            return
        rest = window[line_end + 1 :]
        if rest:
            self._feed(rest)

    def _feed_probe(self, data: bytes) -> None:
        now_ns = time.monotonic_ns()
        self.lines += data.count(b"\n")
        lines = (self._pending + data).split(b"\n")
        self._pending = lines.pop()
        recorder = self.recorder
        for line in lines:
            at = line.find(_STAMP)
            if at != -1 and recorder is not None:
                stamp = line[at + 3 :].split(b" ", 1)[0].split(b".")
                if len(stamp) == 3:
                    recorder.record((now_ns - int(stamp[2])) / 1e9)
                    if self.ack_source:
                        recorder.ack(int(stamp[0]), int(stamp[1]))
            elif line.startswith(b"PING"):
                self.send(b"PONG" + line[4:].rstrip(b"\r") + b"\r\n")
            elif line.startswith(b"ERROR"):
                self.error = line.rstrip(b"\r").decode("utf-8", "replace")
            elif b" QUIT " in line and self.on_quit is not None:
                self.on_quit(line.rstrip(b"\r"), now_ns / 1e9)


def describe_error(exc: BaseException) -> str:
    """A short, countable reason for a failed connection (``ECONNRESET``, ``timeout`` ...)."""
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, OSError) and exc.errno is not None:
        return errno.errorcode.get(exc.errno, str(exc.errno))
    return str(exc) or type(exc).__name__


async def connect_client(
    client: BenchClient, host: str, port: int, *, receive_buffer: int | None = None
) -> None:
    """Open ``client``'s connection to ``host:port``.

    ``receive_buffer`` shrinks SO_RCVBUF before connecting, so a client that stops reading
    fills up after a few KiB instead of the megabytes Linux would otherwise buffer for it.
    """
    loop = asyncio.get_running_loop()
    if receive_buffer is None:
        await loop.create_connection(lambda: client, host, port)
        return
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.setblocking(False)
        await loop.sock_connect(sock, (host, port))
    except BaseException:
        sock.close()
        raise
    await loop.create_connection(lambda: client, sock=sock)
