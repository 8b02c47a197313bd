"""The limits that keep one client from hurting the others: send queue, flood control, line
length, maximum clients. Each runs against every backend."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import ServeProcess
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
    @pytest.fixture
    def server_config(self) -> ServerConfig:
        # A small bucket refilled slowly, so "delayed" is easy to tell from "answered at once".
        return ServerConfig(
            host="127.0.0.1", port=0, flood_burst=5, flood_rate=10.0, flood_queue_limit=10
        )

    def test_excess_lines_are_delayed_not_dropped(self, connect: Connect) -> None:
        client = connect("chatty")
        client.register()
        # The bucket never holds more than 5 tokens, so at least 5 of these wait for refills.
        client.send(*(f"PING :{number}" for number in range(10)))
        arrivals = []
        for number in range(10):
            assert client.wait_for_command("PONG")[-1] == f":{number}"
            arrivals.append(time.monotonic())
        # Five new tokens at 10 per second take 0.5 s. A lower bound, so a slow machine
        # cannot make it fail; without flood control all ten come back at once.
        assert arrivals[-1] - arrivals[0] >= 0.4
        client.send("PING :still-connected")
        assert client.wait_for_command("PONG")[-1] == ":still-connected"

    def test_flooding_client_gets_excess_flood(self, connect: Connect) -> None:
        watcher, flooder = connect("watcher"), connect("flooder")
        for client in (watcher, flooder):
            client.register()
            client.join("#room")
        flooder.send(*(f"PRIVMSG #room :line {number}" for number in range(200)))
        lines = flooder.read_until_closed(timeout=10)
        errors = [line for line in lines if command_of(line) == "ERROR"]
        assert errors and "Excess Flood" in errors[-1]
        quit_line = watcher.wait_for_command("QUIT")
        assert quit_line[0].startswith(":flooder!") and "Excess Flood" in " ".join(quit_line)
        # Only the burst got through before the flooder was cut off.
        said = [line for line in watcher.received if "PRIVMSG #room" in line]
        assert 0 < len(said) < 200


class TestPingTimeout:
    @pytest.fixture
    def server_config(self) -> ServerConfig:
        return ServerConfig(host="127.0.0.1", port=0, ping_interval=1.0, ping_timeout=1.0)

    @pytest.mark.timeout(20)
    def test_silent_client_is_dropped_and_a_ponging_one_stays(self, connect: Connect) -> None:
        alive, silent = connect("alive"), connect("silent")
        for client in (alive, silent):
            client.register()
            client.join("#room")
        # "alive" answers every PING until it sees "silent" leave; "silent" never reads.
        deadline = time.monotonic() + 10
        pings = 0
        while time.monotonic() < deadline:
            line = alive.wait_for(lambda text: command_of(text) in ("PING", "QUIT"))
            if command_of(line) == "QUIT":
                break
            pings += 1
            alive.send("PONG " + line.split(" ", 1)[1])
        else:
            pytest.fail(f"no ping timeout; alive saw {alive.received[-5:]}")
        assert pings >= 1
        assert line.startswith(":silent!") and "Ping timeout" in line, line
        lines = silent.read_until_closed()
        assert any(command_of(text) == "PING" for text in lines)
        assert "Ping timeout" in lines[-1] and command_of(lines[-1]) == "ERROR"
        alive.send("PING :still-here")
        assert alive.wait_for_command("PONG")[-1] == ":still-here"


def test_overlong_line_gets_417_and_the_connection_survives(connect: Connect) -> None:
    client = connect("garbage")
    client.register()
    client.send_raw(b"PRIVMSG garbage :" + b"\xff" * 100_000 + b"\r\n")
    client.wait_for_command("417")
    client.send("PING :still-here")
    assert client.wait_for_command("PONG")[-1] == ":still-here"


def memory_kib(pid: int) -> tuple[int, int]:
    """(resident now, resident at its peak) of process ``pid``, in KiB (Linux /proc)."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_an_endless_line_is_discarded_as_it_arrives(serve_process: ServeProcess) -> None:
    client = IRCClient(serve_process.address, "garbage")
    try:
        client.register()
        pid = serve_process.process.pid
        _, peak_before = memory_kib(pid)
        chunk = b"\xff" * 65536
        for _ in range(512):  # 32 MiB without a newline: far past any limit
            client.send_raw(chunk)
        client.send("", "PING :after")  # the CRLF that ends it, then a normal line
        client.wait_for_command("417")
        assert client.wait_for_command("PONG")[-1] == ":after"
        _, peak_after = memory_kib(pid)
        # Buffering the line would cost at least its 32 MiB; discarding costs nothing.
        assert peak_after - peak_before < 8 * 1024, (peak_before, peak_after)
    finally:
        client.close()


@pytest.mark.timeout(20)
def test_connection_past_max_clients_is_refused(backend: str) -> None:
    config = ServerConfig(host="127.0.0.1", port=0, max_clients=2)
    with running_server(backend, config) as address:
        first, second = IRCClient(address, "first"), IRCClient(address, "second")
        try:
            for client in (first, second):
                client.register()
                client.join("#room")
            third = IRCClient(address, "third")
            try:
                lines = third.read_until_closed()
            finally:
                third.close()
            assert lines == ["ERROR :Server is full"], lines
            first.send("PING :ok")
            first.wait_for_command("PONG")
            # A slot freed by a departure (here an abrupt one) is free again.
            second.reset()
            assert first.wait_for_command("QUIT")[0].startswith(":second!")
            again = IRCClient(address, "again")
            try:
                again.register()
            finally:
                again.close()
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
