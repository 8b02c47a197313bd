"""The limits that keep one client from hurting the others: send queue, flood control, line
length, maximum clients. Each runs against every backend."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import pytest
from ircclient import IRCClient, ServerClosed, command_of

from backends import running_server
from chatkit.config import ServerConfig

Connect = Callable[..., IRCClient]

pytestmark = pytest.mark.timeout(30)


class TestSlowReader:
    """A client that never reads must be dropped; the others must not wait for it."""

    @pytest.fixture
    def server_config(self) -> ServerConfig:
        return ServerConfig(host="127.0.0.1", port=0, sendq=64 * 1024, flood_control=False)

    def test_slow_reader_is_dropped_and_others_keep_receiving(self, connect: Connect) -> None:
        talker, listener = connect("talker"), connect("listener")
        stuck = connect("stuck", rcvbuf=4096)
        for client in (talker, listener, stuck):
            client.register()
            client.join("#busy")
        # Far more than the kernel buffers plus the 64 KiB send queue can hold: the server
        # must give up on "stuck" while "listener" (who reads) gets every line.
        quit_line = send_until_quit(talker, listener, "#busy")
        assert quit_line.startswith(":stuck!")
        assert "SendQ exceeded" in quit_line
        assert listener.names("#busy") == {"talker", "listener"}
        # The dropped client is told why, on a line of its own, after what it had in flight.
        stuck.sock.settimeout(5)
        lines = stuck.read_until_closed(timeout=10)
        assert lines and lines[-1] == "ERROR :SendQ exceeded", lines[-3:]
        assert all(line.startswith(":") for line in lines[:-1]), "a line was cut"


def send_until_quit(talker: IRCClient, listener: IRCClient, room: str) -> str:
    """Talk in ``room`` in batches, each read by ``listener`` before the next, until the
    listener sees someone QUIT; return that QUIT line. Lockstep keeps the talker from
    running ahead, so only a client that stops reading can fall behind."""
    text = "x" * 400
    per_batch = 40
    for batch in range(1000):
        talker.send(*(f"PRIVMSG {room} :{batch} {text}" for _ in range(per_batch)))
        for _ in range(per_batch):
            listener.wait_for(lambda line: f"PRIVMSG {room}" in line)
        quits = [line for line in listener.received if command_of(line) == "QUIT"]
        if quits:
            return quits[0]
    pytest.fail("nobody was ever dropped")


class TestNoAddedDelay:
    """While the server holds megabytes for a client that does not read, the others are
    served as fast as in a room without it. The two rooms are measured in alternate rounds,
    so a busy machine slows both alike and only the relative delay counts."""

    LINES_PER_ROUND = 10
    ROUNDS = 40
    #: More than any loopback socket pair can buffer (tcp_wmem's 4 MiB maximum plus the
    #: stuck client's tiny receive buffer), so the server itself is holding output after it.
    CLOG_BYTES = 6 * 1024 * 1024

    @pytest.fixture
    def server_config(self) -> ServerConfig:
        # A send queue big enough that "stuck" is never dropped during the test.
        return ServerConfig(host="127.0.0.1", port=0, sendq=64 * 1024 * 1024, flood_control=False)

    def round_trip(self, talker: IRCClient, listener: IRCClient, room: str, text: str) -> float:
        """Seconds from sending a round of lines to ``room`` to the listener having them all."""
        started = time.perf_counter()
        talker.send(*(f"PRIVMSG {room} :{text}" for _ in range(self.LINES_PER_ROUND)))
        for _ in range(self.LINES_PER_ROUND):
            listener.wait_for(lambda line: f"PRIVMSG {room} " in line)
        return time.perf_counter() - started

    def test_a_clogged_client_adds_no_delay_for_the_others(self, connect: Connect) -> None:
        talker, listener = connect("talker"), connect("listener")
        stuck = connect("stuck", rcvbuf=4096)
        for client in (talker, listener):
            client.register()
            client.join("#calm")
            client.join("#busy")
        stuck.register()
        stuck.join("#busy")  # ... and from now on never reads
        text = "z" * 400
        sent = 0
        fill = 100  # lines per batch while clogging: 40 KiB, read by the listener each time
        while sent < self.CLOG_BYTES:
            talker.send(*(f"PRIVMSG #busy :{text}" for _ in range(fill)))
            for _ in range(fill):
                listener.wait_for(lambda line: "PRIVMSG #busy " in line)
            sent += fill * len(text)

        calm, busy = [], []
        for _ in range(self.ROUNDS):
            calm.append(self.round_trip(talker, listener, "#calm", text))
            busy.append(self.round_trip(talker, listener, "#busy", text))
        # A server that waits for "stuck" in any way (a blocking send, even a short sleep
        # per line) slows every #busy round; the 5 ms only absorbs scheduling noise.
        calm_median, busy_median = statistics.median(calm), statistics.median(busy)
        assert busy_median <= 3 * calm_median + 0.005, (calm_median, busy_median)

        # "stuck" really was behind, yet loses nothing: it gets every line once it reads.
        stuck.send("PING :caught-up")
        expected = sent // len(text) + self.ROUNDS * self.LINES_PER_ROUND
        got = 0
        while (line := stuck.read_line(timeout=20)) is not None and "caught-up" not in line:
            got += "PRIVMSG #busy " in line
        assert got == expected


class TestFloodControl:
    def test_flooding_client_gets_excess_flood(self, connect: Connect) -> None:
        flooder = connect("flooder")
        flooder.register()
        flooder.send(*(f"PRIVMSG flooder :line {number}" for number in range(200)))
        lines = flooder.read_until_closed(timeout=10)
        errors = [line for line in lines if command_of(line) == "ERROR"]
        assert errors and "Excess Flood" in errors[-1]


def test_overlong_line_gets_417_and_the_connection_survives(connect: Connect) -> None:
    client = connect("garbage")
    client.register()
    client.send_raw(b"PRIVMSG garbage :" + b"\xff" * 100_000 + b"\r\n")
    client.wait_for_command("417")
    client.send("PING :still-here")
    assert client.wait_for_command("PONG")[-1] == ":still-here"


@pytest.mark.timeout(20)
def test_connection_past_max_clients_is_refused(backend: str) -> None:
    config = ServerConfig(host="127.0.0.1", port=0, max_clients=2)
    with running_server(backend, config) as address:
        first, second = IRCClient(address, "first"), IRCClient(address, "second")
        try:
            first.register()
            second.register()
            third = IRCClient(address, "third")
            try:
                lines = third.read_until_closed()
            finally:
                third.close()
            assert any("Server is full" in line for line in lines), lines
            first.send("PING :ok")
            first.wait_for_command("PONG")
        finally:
            first.close()
            second.close()


def test_reading_after_close_raises_server_closed(connect: Connect) -> None:
    client = connect("leaver")
    client.register()
    client.send("QUIT :bye")
    client.wait_for_command("ERROR")
    with pytest.raises(ServerClosed):
        client.wait_for_command("PRIVMSG", timeout=2)
