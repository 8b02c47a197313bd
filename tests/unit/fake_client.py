"""A fake transport and a harness that drive :class:`chatkit.core.ChatCore` without sockets.

``server.connect("alice")`` gives a registered client in one line; ``alice.send("JOIN #a")``
feeds bytes to the core and ``alice.lines()`` returns what the core sent since the last look.
Time only moves when a test moves it (``server.advance(seconds)``).
"""

from __future__ import annotations

from chatkit.config import ServerConfig
from chatkit.core import ChatCore
from chatkit.protocol import Message, RemoteProtocolError
from chatkit.session import Session

#: The wall clock the harness pins, so timestamps in replies are predictable.
WALL_CLOCK = 1_700_000_000


#: The classic IRC limit on a line the server sends, CRLF included.
MAX_LINE = 512


class FakeTransport:
    """Records every ``send`` and the first ``close``, like a backend that never blocks.

    It also checks what no test should have to repeat: every line the core sends ends in CRLF,
    fits in 512 bytes and parses. A bad line is recorded in ``violations`` rather than raised,
    because the core logs and survives exceptions from a transport; the harness fails the test.
    """

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.close_reason: str | None = None
        self.violations: list[str] = []

    def send(self, data: bytes) -> None:
        self.sent.append(data)
        if not data.endswith(b"\r\n"):
            self.violations.append(f"no CRLF at the end: {data!r}")
        for line in data[:-2].split(b"\r\n"):
            if len(line) + 2 > MAX_LINE:
                self.violations.append(f"{len(line) + 2}-byte line: {line[:80]!r}...")
            if b"\n" in line or b"\r" in line or b"\0" in line:
                self.violations.append(f"line break or NUL inside: {line!r}")
            try:
                Message.parse(line.decode())
            except (UnicodeDecodeError, RemoteProtocolError) as error:
                self.violations.append(f"unparsable ({error}): {line!r}")

    def close(self, reason: str) -> None:
        if self.close_reason is None:
            self.close_reason = reason

    @property
    def closed(self) -> bool:
        return self.close_reason is not None


class Client:
    """One fake connection to the core."""

    def __init__(self, harness: Harness, peer: str) -> None:
        self.harness = harness
        self.transport = FakeTransport()
        self.session: Session = harness.core.connect(self.transport, peer)
        self._read = 0

    def send(self, *lines: str) -> None:
        """Send whole lines (CRLF added)."""
        self.send_bytes("".join(line + "\r\n" for line in lines).encode())

    def send_bytes(self, data: bytes) -> None:
        self.harness.core.receive(self.session, data, self.harness.now)

    def lines(self) -> list[str]:
        """Decoded lines received since the last call (without CRLF)."""
        assert not self.transport.violations, self.transport.violations
        new = self.transport.sent[self._read :]
        self._read = len(self.transport.sent)
        text = b"".join(new).decode()
        assert text == "" or text.endswith("\r\n"), text
        return text.split("\r\n")[:-1]

    def messages(self) -> list[Message]:
        return [Message.parse(line) for line in self.lines()]

    def commands(self) -> list[str]:
        """Just the command (or numeric) of each new line."""
        return [message.command for message in self.messages()]

    def register(self, nick: str, user: str | None = None) -> Client:
        self.send(f"NICK {nick}", f"USER {user or nick} 0 * :{nick} Example")
        assert any(" 001 " in line for line in self.lines()), f"{nick} did not register"
        return self

    @property
    def closed(self) -> bool:
        return self.transport.closed


class Harness:
    """A core with a controllable clock."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.core = ChatCore(config, clock=lambda: WALL_CLOCK)
        self.now = 1000.0
        self._port = 40000
        self.clients: list[Client] = []

    def client(self, peer: str | None = None) -> Client:
        """A new connection, not registered yet."""
        self._port += 1
        client = Client(self, peer or f"127.0.0.1:{self._port}")
        self.clients.append(client)
        return client

    def violations(self) -> list[str]:
        """Every bad line any client of this harness was sent (see :class:`FakeTransport`)."""
        return [bad for client in self.clients for bad in client.transport.violations]

    def connect(self, nick: str, user: str | None = None) -> Client:
        """A new registered connection with the welcome burst already read."""
        return self.client().register(nick, user)

    def joined(self, rooms: str, *nicks: str) -> list[Client]:
        """Registered clients that all joined ``rooms`` (``"#a,#b"``), replies already read."""
        clients = [self.connect(nick) for nick in nicks]
        for client in clients:
            client.send(f"JOIN {rooms}")
        for client in clients:
            client.lines()
        return clients

    def tick(self) -> None:
        self.core.tick(self.now)

    def advance(self, seconds: float, step: float = 0.25) -> None:
        """Move time forward, ticking every ``step`` seconds like a backend does."""
        end = self.now + seconds
        while self.now < end:
            self.now = min(end, self.now + step)
            self.core.tick(self.now)


def make_config(**overrides: object) -> ServerConfig:
    """Test config: flood control off unless a test turns it on, predictable MOTD."""
    values: dict[str, object] = {
        "host": "127.0.0.1",
        "port": 0,
        "server_name": "irc.test",
        "flood_control": False,
        "motd": ("Hello",),
    }
    values.update(overrides)
    return ServerConfig(**values)  # type: ignore[arg-type]
