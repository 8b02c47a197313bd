"""The protocol over real sockets, against every backend: only what a socket could change.

The IRC rules themselves are tested without sockets in ``tests/unit``. Here we check what a
backend could still get wrong with the same core: replies to pipelined commands arriving in
order, a goodbye flushed before the close, a long tagged line reassembled across reads, and
multi-line replies arriving whole, each within 512 bytes.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from ircclient import IRCClient, command_of

from backends import running_server
from chatkit.config import ServerConfig

Connect = Callable[..., IRCClient]

pytestmark = pytest.mark.timeout(20)


def test_pipelined_commands_are_answered_in_order(connect: Connect) -> None:
    client = connect("alice")
    client.send(
        "NOTICE nobody :before registration, never answered",
        "NICK alice",
        "USER alice 0 * :Alice",
        "PING :first",
        "JOIN #order",
        "PING :second",
    )
    assert command_of(client.read_line() or "") == "001"  # nothing before the welcome
    assert client.wait_for_command("PONG")[-1] == ":first"
    after_first = [client.read_line() or "" for _ in range(4)]
    assert [command_of(line) for line in after_first] == ["JOIN", "353", "366", "PONG"]
    assert after_first[-1].endswith(":second")


def test_wrong_password_gets_464_and_error_before_the_close(backend: str) -> None:
    config = ServerConfig(host="127.0.0.1", port=0, password="sesame")
    with running_server(backend, config) as address:
        client = IRCClient(address, "mallory")
        try:
            client.send("PASS wrong", "NICK mallory", "USER m 0 * :M")
            lines = client.read_until_closed()
        finally:
            client.close()
    assert [command_of(line) for line in lines] == ["464", "ERROR"]
    assert "Bad Password" in lines[-1]


def test_quit_error_line_is_flushed_before_the_close(connect: Connect) -> None:
    client = connect("leaver")
    client.register()
    client.send("QUIT")
    lines = client.read_until_closed()
    assert lines[-1] == "ERROR :Closing Link: 127.0.0.1 (Quit: )"


def test_a_long_tagged_line_is_reassembled_across_reads(connect: Connect) -> None:
    client = connect("tagger")
    client.register()
    fits = b"@" + b"t" * 4094 + b" PING :fits\r\n"
    too_long = b"@" + b"t" * 4095 + b" PING :too-long\r\n"
    for line in (fits, too_long):
        for start in range(0, len(line), 1000):  # several sends, so several reads
            client.send_raw(line[start : start + 1000])
    assert client.wait_for_command("PONG")[-1] == ":fits"
    assert client.wait_for_command("417")[2] == "tagger"
    client.send("PING :still-here")
    assert client.wait_for_command("PONG")[-1] == ":still-here"


def test_long_multi_line_replies_arrive_whole_and_within_512_bytes(connect: Connect) -> None:
    rooms = [f"#{index:02}" + "r" * 45 for index in range(30)]
    bob = connect("bob")
    bob.register()
    bob.send(*(f"JOIN {room}" for room in rooms))
    bob.wait_for(lambda line: command_of(line) == "366" and rooms[-1] in line)
    alice = connect("alice")
    alice.register()
    alice.send("WHOIS bob", "PING " + "x" * 505)
    listed: list[str] = []
    while True:
        line = alice.wait_for(lambda text: command_of(text) in ("319", "318"))
        if command_of(line) == "318":
            break
        listed += line.split(" :", 1)[1].split()
    assert listed == ["@" + room for room in rooms]
    pong = alice.wait_for(lambda text: command_of(text) == "PONG")
    assert pong.split(" :", 1)[1].startswith("x" * 400)
    assert all(len(line.encode()) <= 510 for line in alice.received + bob.received)
