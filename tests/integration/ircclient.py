"""A small blocking IRC client for the integration tests: connect, register, read with deadlines.

Every read has a deadline, so a server that misbehaves fails the test with the lines it did
send instead of hanging it.
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Callable

#: Seconds a test waits for an expected line before it fails.
DEFAULT_TIMEOUT = 5.0


class ServerClosed(AssertionError):
    """The server closed the connection while we were still waiting for a line."""


class IRCClient:
    """One blocking connection to the server under test."""

    def __init__(
        self, address: tuple[str, int], nick: str = "", *, rcvbuf: int | None = None
    ) -> None:
        self.nick = nick
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            # Must be set before connect() to shrink the window the server may fill.
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(DEFAULT_TIMEOUT)
        self.sock.connect(address)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buffer = b""
        #: Every line received so far, without CRLF (handy in failure messages).
        self.received: list[str] = []
        self.eof = False

    # --- sending ----------------------------------------------------------------------------------

    def send(self, *lines: str) -> None:
        """Send ``lines`` in one ``sendall``, each with CRLF."""
        self.send_raw("".join(line + "\r\n" for line in lines).encode())

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    # --- receiving --------------------------------------------------------------------------------

    def read_line(self, timeout: float = DEFAULT_TIMEOUT) -> str | None:
        """The next line without CRLF, or ``None`` once the server has closed."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            if self.eof:
                return None
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{self.nick}: no complete line; last: {self.received[-5:]}")
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError:
                data = b""
            if not data:
                self.eof = True
            self._buffer += data
        raw, _, self._buffer = self._buffer.partition(b"\n")
        line = raw.rstrip(b"\r").decode("utf-8", "replace")
        self.received.append(line)
        return line

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = DEFAULT_TIMEOUT) -> str:
        """Read lines until one satisfies ``predicate``; return it."""
        deadline = time.monotonic() + timeout
        while True:
            line = self.read_line(max(0.0, deadline - time.monotonic()))
            if line is None:
                raise ServerClosed(f"{self.nick}: server closed; last: {self.received[-5:]}")
            if predicate(line):
                return line

    def wait_for_command(self, command: str, timeout: float = DEFAULT_TIMEOUT) -> list[str]:
        """Wait for a line whose command (or numeric) is ``command``; return its words."""
        line = self.wait_for(lambda text: command_of(text) == command, timeout)
        return line.split(" ")

    def read_until_closed(self, timeout: float = DEFAULT_TIMEOUT) -> list[str]:
        """Every line until the server closes the connection."""
        deadline = time.monotonic() + timeout
        lines = []
        while (line := self.read_line(max(0.0, deadline - time.monotonic()))) is not None:
            lines.append(line)
        return lines

    # --- IRC conversations ------------------------------------------------------------------------

    def register(self, nick: str | None = None) -> None:
        """NICK + USER in one send, then wait for the end of the welcome (MOTD or 422)."""
        self.nick = nick or self.nick
        self.send(f"NICK {self.nick}", f"USER {self.nick} 0 * :Test {self.nick}")
        self.wait_for(lambda line: command_of(line) in ("376", "422"))

    def join(self, room: str) -> None:
        self.send(f"JOIN {room}")
        self.wait_for(lambda line: command_of(line) == "366")

    def names(self, room: str) -> set[str]:
        """The nicks NAMES lists for ``room`` (without @/+ prefixes)."""
        self.send(f"NAMES {room}")
        nicks: set[str] = set()
        while True:
            line = self.wait_for(lambda text: command_of(text) in ("353", "366"))
            if command_of(line) == "366":
                return nicks
            nicks.update(nick.lstrip("@+") for nick in line.split(" :", 1)[1].split())

    # --- closing ----------------------------------------------------------------------------------

    def reset(self) -> None:
        """Close abruptly with a TCP reset (SO_LINGER with a zero timeout)."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def close(self) -> None:
        self.sock.close()


def command_of(line: str) -> str:
    """The command or numeric of a raw line (``:src 001 nick :hi`` -> ``001``)."""
    words = line.split(" ")
    if words and words[0].startswith("@"):
        words = words[1:]
    if words and words[0].startswith(":"):
        words = words[1:]
    return words[0].upper() if words else ""
