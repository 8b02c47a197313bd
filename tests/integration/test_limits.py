"""The limits that keep one client from hurting the others: send queue, flood control, line
length, maximum clients. Each runs against every backend."""

from __future__ import annotations

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
        text = "x" * 400
        started = time.monotonic()
        # Far more than the kernel buffers plus the 64 KiB send queue can hold: the server
        # must give up on "stuck" while "listener" (who reads) gets every line.
        # Batches stay well under the send queue, so only the client that stops reading
        # falls behind; we stop as soon as the listener sees it leave.
        per_batch = 40
        for batch in range(1000):
            talker.send(*(f"PRIVMSG #busy :{batch} {text}" for _ in range(per_batch)))
            for _ in range(per_batch):
                listener.wait_for(lambda line: "PRIVMSG #busy" in line)
            quits = [line for line in listener.received if command_of(line) == "QUIT"]
            if quits:
                break
        else:
            pytest.fail("the stuck client was never dropped")
        elapsed = time.monotonic() - started
        quit_line = quits[0]
        assert quit_line.startswith(":stuck!")
        assert "SendQ exceeded" in quit_line
        assert elapsed < 15, f"the listener waited for the stuck client ({elapsed:.1f} s)"
        assert listener.names("#busy") == {"talker", "listener"}


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
