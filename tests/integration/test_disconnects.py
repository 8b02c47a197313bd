"""Endings, clean and otherwise: abrupt disconnects must leave no ghost nicks, and a SIGTERM
must say goodbye to every client and exit 0 quickly, even with clients that never read."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from ircclient import IRCClient, command_of

from chatkit.config import ServerConfig

Connect = Callable[..., IRCClient]

REPO = Path(__file__).resolve().parents[2]
READY = re.compile(r"listening on (\S+):(\d+)")


class TestAbruptDisconnects:
    @pytest.fixture
    def server_config(self) -> ServerConfig:
        # The watcher asks NAMES/LUSERS repeatedly; flood control is not what this tests.
        return ServerConfig(host="127.0.0.1", port=0, flood_control=False)

    @pytest.mark.timeout(40)
    def test_two_hundred_abrupt_disconnects_leave_no_ghosts(self, connect: Connect) -> None:
        watcher = connect("watcher")
        watcher.register()
        watcher.join("#room")
        leavers = [connect(f"leaver{index}") for index in range(200)]
        for leaver in leavers:
            leaver.register()
            leaver.send("JOIN #room")
        for leaver in leavers:
            leaver.wait_for_command("366")
        assert len(watcher.names("#room")) == 201
        for index, leaver in enumerate(leavers):
            if index % 4 == 0:
                leaver.reset()  # RST: the server's next recv or send fails
            elif index % 4 == 1:
                leaver.sock.shutdown(1)  # half-close: FIN, but still able to read
            elif index % 4 == 2:
                leaver.send_raw(b"PRIVMSG #room :half a li")  # FIN in the middle of a line
                leaver.close()
            else:
                leaver.close()
        for _ in leavers:
            watcher.wait_for_command("QUIT", timeout=10)
        assert watcher.names("#room") == {"watcher"}
        watcher.send("LUSERS")
        luserclient = watcher.wait_for_command("251")
        assert " ".join(luserclient[3:]).startswith(":There are 1 users"), luserclient


@pytest.fixture
def serve_process(backend: str) -> Iterator[tuple[subprocess.Popen[str], tuple[str, int]]]:
    """``chatkit serve`` in a subprocess on port 0; the port is read from its ready line."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    command = [sys.executable, "-m", "chatkit", "serve", "--port", "0", "--backend", backend]
    # A big send queue and no flood control, so a test can leave megabytes unread.
    command += ["--no-flood", "--sendq", str(64 * 1024 * 1024), "--log-level", "warning"]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO
    )
    try:
        assert process.stdout is not None
        match = None
        for _ in range(20):  # the ready line is among the first few lines
            line = process.stdout.readline()
            if not line or (match := READY.search(line)):
                break
        assert match, f"no ready line; stderr: {process.stderr.read() if process.stderr else ''}"
        yield process, (match.group(1), int(match.group(2)))
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(5)


@pytest.mark.timeout(20)
def test_sigterm_says_goodbye_and_exits_zero_quickly(
    serve_process: tuple[subprocess.Popen[str], tuple[str, int]],
) -> None:
    process, address = serve_process
    polite, stuck = IRCClient(address, "polite"), IRCClient(address, "stuck", rcvbuf=4096)
    try:
        polite.register()
        stuck.register()  # and then never reads again, nor closes
        # Queue more for "stuck" than the kernel buffers hold, so the server itself is left
        # holding output it cannot deliver when the signal comes.
        text = "y" * 400
        for _ in range(20):
            polite.send(*(f"PRIVMSG stuck :{text}" for _ in range(500)))
        polite.send("PING :sent")
        polite.wait_for_command("PONG")
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        goodbye = polite.wait_for(lambda line: command_of(line) == "ERROR")
        assert "Server shutting down" in goodbye
        assert process.wait(timeout=5) == 0
        # The server gives stuck clients FLUSH_TIMEOUT (1 s), then cuts them off; the margin
        # is for a busy test machine, the point is that it does not wait for "stuck" forever.
        assert time.monotonic() - started < 5
    finally:
        polite.close()
        stuck.close()
