"""Fixtures for the integration suite: every test runs against every registered backend.

``server`` starts the backend in a thread on 127.0.0.1:0 with :func:`backends.running_server`,
which waits for the server's ready callback (no sleeping) and fails the test if the server does
not stop afterwards. ``connect`` makes :class:`IRCClient` connections and closes them at the
end of the test. ``serve_process`` runs ``chatkit serve`` itself, in a subprocess, for what
only a real process shows: signals, exit codes, memory.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from ircclient import IRCClient

from backends import running_server
from chatkit.config import ServerConfig
from chatkit.registry import available_backends

Address = tuple[str, int]

REPO = Path(__file__).resolve().parents[2]
#: The banner's start, which scripts wait for: "chatkit: listening on HOST:PORT ...".
READY = re.compile(r"listening on (\S+):(\d+)")


@pytest.fixture(params=available_backends())
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def server_config() -> ServerConfig:
    """The configuration ``server`` runs with; override it in a module for other limits."""
    return ServerConfig(host="127.0.0.1", port=0)


@pytest.fixture
def server(backend: str, server_config: ServerConfig) -> Iterator[Address]:
    with running_server(backend, server_config) as address:
        yield address


@pytest.fixture
def connect(server: Address) -> Iterator[Callable[..., IRCClient]]:
    """``connect("alice")`` -> a connected (not yet registered) client; all closed at the end."""
    clients: list[IRCClient] = []

    def make(nick: str = "", **options: int) -> IRCClient:
        client = IRCClient(server, nick, **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


class ServeProcess:
    """A ``chatkit serve`` subprocess and the address it announced."""

    def __init__(self, process: subprocess.Popen[str], address: Address, stderr: Path) -> None:
        self.process = process
        self.address = address
        self._stderr = stderr

    def stderr(self) -> str:
        """What the server has written to stderr so far (log lines, tracebacks)."""
        return self._stderr.read_text(errors="replace")

    def read_stdout_line(self) -> str:
        """The next line the server prints (bounded by the test's timeout)."""
        assert self.process.stdout is not None
        return self.process.stdout.readline()


@pytest.fixture
def serve_process(backend: str, tmp_path: Path) -> Iterator[ServeProcess]:
    """``chatkit serve`` in a subprocess on port 0; the port is read from its banner.

    The server gets a big send queue and no flood control, so a test can leave megabytes
    unread. Only this process is ever signalled or killed, by its PID.
    """
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    command = [sys.executable, "-m", "chatkit", "serve", "--port", "0", "--backend", backend]
    command += ["--no-flood", "--sendq", str(64 * 1024 * 1024), "--log-level", "warning"]
    stderr_path = tmp_path / "serve-stderr.txt"
    with stderr_path.open("w") as stderr:  # a file, not a pipe nobody reads and that fills up
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env, cwd=REPO
        )
    try:
        assert process.stdout is not None
        match = None
        for _ in range(20):  # the banner is the first line
            line = process.stdout.readline()
            if not line or (match := READY.search(line)):
                break
        assert match, f"no banner; stderr: {stderr_path.read_text()}"
        yield ServeProcess(process, (match.group(1), int(match.group(2))), stderr_path)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(5)
