"""Graceful shutdown of a real ``chatkit serve`` process, on every backend.

Ctrl-C (SIGINT) or SIGTERM: stop accepting, send every client ``ERROR ... Server shutting
down``, and exit 0 within 2 seconds, even when one client never reads (its socket buffers full
and the server holding more) and another is stuck halfway through registering. A second Ctrl-C
during that grace period exits at once with status 130 (128 + SIGINT; 143 for SIGTERM).
"""

from __future__ import annotations

import signal
import socket
import time

import pytest
from conftest import ServeProcess
from ircclient import IRCClient, command_of

pytestmark = pytest.mark.timeout(30)

#: What the issue asks for: however stuck the clients, the process is gone within 2 s.
SHUTDOWN_LIMIT = 2.0


def clog(talker: IRCClient, stuck: IRCClient) -> None:
    """Send ``stuck`` (who never reads) more than the kernel buffers hold, so the server itself
    is holding output for it; return once the server has handled all of it."""
    text = "y" * 400
    for _ in range(20):
        talker.send(*(f"PRIVMSG {stuck.nick} :{text}" for _ in range(1000)))
    talker.send("PING :clogged")
    talker.wait_for(lambda line: line.endswith(":clogged"), timeout=15)


def start_halfway_registration(address: tuple[str, int]) -> IRCClient:
    """A client that sent NICK and half a USER line, and then never reads or writes again."""
    halfway = IRCClient(address, "halfway")
    halfway.send("NICK halfway", "PING :seen")
    halfway.wait_for(lambda line: line.endswith(":seen"))
    halfway.send_raw(b"USER halfway 0 * :Half")
    return halfway


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_says_goodbye_and_exits_zero_in_time(
    serve_process: ServeProcess, signum: signal.Signals
) -> None:
    process, address = serve_process.process, serve_process.address
    polite = IRCClient(address, "polite")
    stuck = IRCClient(address, "stuck", rcvbuf=4096)
    halfway = start_halfway_registration(address)
    try:
        polite.register()
        stuck.register()  # and then never reads again, nor closes
        clog(polite, stuck)

        started = time.monotonic()
        process.send_signal(signum)
        goodbye = polite.wait_for(lambda line: command_of(line) == "ERROR")
        assert "Server shutting down" in goodbye
        # It stopped accepting before it said goodbye.
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(address, timeout=2).close()
        code = process.wait(timeout=10)
        elapsed = time.monotonic() - started
        assert code == 0
        assert elapsed < SHUTDOWN_LIMIT, f"took {elapsed:.2f} s"
        # The client that never finished registering was told too, and then closed.
        lines = halfway.read_until_closed()
        assert lines and "Server shutting down" in lines[-1], lines
        assert polite.read_until_closed() == []
    finally:
        for client in (polite, stuck, halfway):
            client.close()


@pytest.mark.parametrize(
    ("signum", "status"),
    [(signal.SIGINT, 130), (signal.SIGTERM, 143)],
    ids=["second-SIGINT", "second-SIGTERM"],
)
def test_a_second_signal_exits_at_once(
    serve_process: ServeProcess, signum: signal.Signals, status: int
) -> None:
    process, address = serve_process.process, serve_process.address
    polite = IRCClient(address, "polite")
    stuck = IRCClient(address, "stuck", rcvbuf=4096)
    try:
        polite.register()
        stuck.register()
        clog(polite, stuck)  # so the grace period lasts its full second
        process.send_signal(signal.SIGINT)
        for _ in range(5):  # wait until the server has taken the first one
            if "shutting down" in serve_process.read_stdout_line():
                break
        process.send_signal(signum)
        # 0 would mean the first, graceful stop finished; 128 + N is the second signal's exit.
        assert process.wait(timeout=10) == status
    finally:
        polite.close()
        stuck.close()


def test_clients_resetting_during_the_goodbye(serve_process: ServeProcess) -> None:
    """Clients that reset their connections while the server is saying goodbye (their RST
    arriving between our write and our FIN) must not break the goodbye for the others, nor
    print a traceback."""
    process, address = serve_process.process, serve_process.address
    polite = IRCClient(address, "polite")
    vanishing = [IRCClient(address, f"gone{index}") for index in range(300)]
    try:
        polite.register()
        for client in vanishing:
            client.send(f"NICK {client.nick}", f"USER {client.nick} 0 * :Gone")
        for client in vanishing:
            client.wait_for_command("001")
        process.send_signal(signal.SIGTERM)
        for client in vanishing:
            client.reset()  # unread input (the welcome, maybe the ERROR): a reset
        goodbye = polite.wait_for(lambda line: command_of(line) == "ERROR")
        assert "Server shutting down" in goodbye
        assert process.wait(timeout=10) == 0
        assert "Traceback" not in serve_process.stderr(), serve_process.stderr()
    finally:
        polite.close()
