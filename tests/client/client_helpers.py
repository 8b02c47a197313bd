"""Helpers shared by the client tests: a registered state, test options, transcripts."""

from __future__ import annotations

import asyncio
import io
import os
import re
import socket
from typing import Any

from chatkit.client.options import ClientOptions
from chatkit.client.plain import run_plain
from chatkit.client.state import ClientState


def lines(data: bytes) -> list[str]:
    return data.decode().split("\r\n")[:-1]


def registered(nick: str = "alice", rooms: tuple[str, ...] = ("#lobby",)) -> ClientState:
    """A state that is connected, registered and in ``rooms`` (with bob and carol)."""
    state = ClientState(nick, rooms=rooms)
    state.connection_made()
    state.receive_data(f":srv 001 {nick} :Welcome\r\n".encode())
    for room in rooms:
        state.receive_data(
            f":{nick}!u@h JOIN {room}\r\n:srv 353 {nick} = {room} :{nick} @bob carol\r\n"
            f":srv 366 {nick} {room} :End of /NAMES list\r\n".encode()
        )
    state.data_to_send()
    return state


def free_port() -> int:
    """A port nobody listens on (bound, then released): connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def options(nick: str, port: int, **changes: Any) -> ClientOptions:
    """Client options for tests: short delays, so a reconnect test takes a second, not a minute."""
    settings: dict[str, Any] = {"first_delay": 0.05, "max_delay": 0.2, "quit_timeout": 5.0}
    settings.update(changes)
    return ClientOptions(nick=nick, port=port, **settings)


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class Transcript(io.StringIO):
    """A text stream for a client's stdout that a test can wait on, line by line."""

    def __init__(self) -> None:
        super().__init__()
        self._changed = asyncio.Event()

    def write(self, text: str) -> int:
        self._changed.set()
        return super().write(text)

    def lines(self) -> list[str]:
        """The lines written so far, without colour codes."""
        return _ANSI.sub("", self.getvalue()).splitlines()

    async def wait_for(self, text: str, count: int = 1, timeout: float = 10.0) -> None:
        """Wait until ``text`` appears in ``count`` lines; fail with the transcript if not."""

        async def seen() -> None:
            while sum(text in line for line in self.lines()) < count:
                self._changed.clear()
                await self._changed.wait()

        try:
            await asyncio.wait_for(seen(), timeout)
        except TimeoutError:
            raise AssertionError(f"never saw {text!r} x{count} in:\n{self.getvalue()}") from None


class HeldOpenInput:
    """Stdin for a plain client that stays open until :meth:`close` (a real pipe)."""

    def __init__(self) -> None:
        read_fd, write_fd = os.pipe()
        self.reader = os.fdopen(read_fd, "r", encoding="utf-8")
        self._writer = os.fdopen(write_fd, "w", encoding="utf-8")

    def send(self, line: str) -> None:
        self._writer.write(line + "\n")
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()


class PlainClient:
    """A plain-mode client running in the test's event loop, with stdin held open."""

    def __init__(self, nick: str, port: int, **changes: Any) -> None:
        self.stdin = HeldOpenInput()
        self.out = Transcript()
        self.task = asyncio.create_task(
            run_plain(options(nick, port, **changes), self.stdin.reader, self.out)
        )

    @classmethod
    async def joined(
        cls, nick: str, port: int, room: str = "#lobby", **changes: Any
    ) -> PlainClient:
        """Start one in ``room`` and wait until it is there."""
        client = cls(nick, port, rooms=(room,), **changes)
        await client.out.wait_for(f"--> You joined {room}")
        return client

    async def finish(self) -> int:
        """End its input (it quits after delivering what it was sent); return its exit code."""
        self.stdin.close()
        return await self.task
