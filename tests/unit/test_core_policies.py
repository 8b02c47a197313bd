"""Timed policies driven by tick(now): ping, ping timeout, flood control. And garbage input."""

from __future__ import annotations

import logging

import pytest
from fake_client import Harness, make_config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatkit.commands import COMMANDS, Command


def test_ping_after_silence_then_timeout_with_quit_for_others() -> None:
    harness = Harness(make_config(ping_interval=30, ping_timeout=20))
    alice = harness.connect("alice")
    bob = harness.connect("bob")
    for client in (alice, bob):
        client.send("JOIN #a")
    harness.advance(1)
    alice.lines()
    harness.advance(28)
    bob.send("PONG :keepalive")  # bob stays chatty
    assert alice.lines() == []
    harness.advance(2)
    assert alice.lines() == ["PING :irc.test"]
    harness.advance(15)
    bob.send("PING :x")
    assert not alice.closed
    harness.advance(6)
    assert alice.lines() == ["ERROR :Closing Link: 127.0.0.1 (Ping timeout: 50 seconds)"]
    assert alice.closed
    assert bob.lines()[-1] == ":alice!~alice@127.0.0.1 QUIT :Ping timeout: 50 seconds"


def test_any_line_answers_a_ping() -> None:
    harness = Harness(make_config(ping_interval=10, ping_timeout=10))
    alice = harness.connect("alice")
    harness.advance(11)
    assert alice.lines() == ["PING :irc.test"]
    alice.send("PONG :irc.test")
    harness.advance(15)
    assert not alice.closed
    assert alice.lines() == ["PING :irc.test"]  # silence again: a new PING, still alive


def test_sweep_runs_at_most_once_a_second() -> None:
    harness = Harness(make_config(ping_interval=0.1, ping_timeout=100))
    alice = harness.connect("alice")
    harness.core.tick(harness.now)  # first sweep stamps the session
    harness.now += 0.5
    harness.core.tick(harness.now)
    assert alice.lines() == []
    harness.now += 0.6
    harness.core.tick(harness.now)
    assert alice.lines() == ["PING :irc.test"]


def _flood_harness() -> Harness:
    return Harness(
        make_config(flood_control=True, flood_burst=5, flood_rate=2, flood_queue_limit=6)
    )


def test_flood_lines_past_burst_are_delayed_not_dropped() -> None:
    harness = _flood_harness()
    alice = harness.client()
    alice.send("NICK alice", "USER a 0 * :A")
    alice.lines()
    alice.send(*(f"PING :{n}" for n in range(8)))
    # 2 tokens were spent registering, 3 are left: the rest waits for refills.
    assert alice.lines() == [f":irc.test PONG irc.test :{n}" for n in range(3)]
    harness.advance(1)  # 2 tokens per second
    assert alice.lines() == [f":irc.test PONG irc.test :{n}" for n in range(3, 5)]
    harness.advance(2)
    assert alice.lines() == [f":irc.test PONG irc.test :{n}" for n in range(5, 8)]
    assert not alice.closed


def test_flood_queue_keeps_order_with_new_lines() -> None:
    harness = _flood_harness()
    alice = harness.client()
    alice.send(*(f"PING :{n}" for n in range(7)))
    assert len(alice.lines()) == 5
    harness.advance(10)
    alice.send("PING :late")
    assert alice.lines() == [
        ":irc.test PONG irc.test :5",
        ":irc.test PONG irc.test :6",
        ":irc.test PONG irc.test :late",
    ]


def test_excess_flood_disconnects() -> None:
    harness = _flood_harness()
    alice = harness.connect("alice")
    bob = harness.connect("bob")
    for client in (alice, bob):
        client.send("JOIN #a")
    bob.lines()
    alice.send(*(f"PRIVMSG #a :{n}" for n in range(20)))
    lines = alice.lines()
    assert lines[-1] == "ERROR :Closing Link: 127.0.0.1 (Excess Flood)"
    assert alice.closed
    assert bob.lines()[-1] == ":alice!~alice@127.0.0.1 QUIT :Excess Flood"
    harness.advance(5)  # nothing queued is processed after the close
    assert bob.lines() == []


def test_flood_control_off_processes_everything() -> None:
    harness = Harness(make_config(flood_control=False))
    alice = harness.connect("alice")
    alice.send(*(f"PING :{n}" for n in range(200)))
    assert len(alice.lines()) == 200


def test_garbage_lines_never_raise(server: Harness) -> None:
    alice = server.connect("alice")
    garbage = [
        b":only-a-prefix\r\n",
        b"@tags-only\r\n",
        b"\x00\x01\x02\xff\xfe\r\n",
        b"PRIVMSG #a :\x00nul\r\n",
        b"NICK :\xe2\x98\x83\r\n",
        b"   \r\n",
        b"JOIN :#a b\r\n",
        b"MODE :\r\n",
        b"PRIVMSG :x :y\r\n",
        b"USER\r\n",
        b"WHO\r\n",
        b"KICK # :\r\n",
        b"TOPIC ,\r\n",
        b"PRIVMSG ,,,, :x\r\n",
        b"JOIN ,,,\r\n",
        b"MODE #a +klo\r\n",
        b"\r\r\r\n",
        b"@a=b;c :src PING :x\r\n",
    ]
    for data in garbage:
        alice.send_bytes(data)
    lines = alice.lines()
    assert ":irc.test PONG irc.test :x" in lines
    assert all(len(line) < 512 for line in lines)
    assert not alice.closed


def test_nul_and_cr_are_stripped_before_relaying(server: Harness) -> None:
    alice = server.connect("alice")
    bob = server.connect("bob")
    alice.send_bytes(b"PRIVMSG bob :a\x00b\rc\r\n")
    assert bob.lines() == [":alice!~alice@127.0.0.1 PRIVMSG bob :abc"]


def test_a_failing_command_is_logged_not_fatal(
    server: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setitem(COMMANDS, "BOOM", Command(broken))
    alice = server.connect("alice")
    with caplog.at_level(logging.ERROR, logger="chatkit.core"):
        alice.send("BOOM", "PING :after")
    assert "error in BOOM" in caplog.text
    assert alice.lines() == [":irc.test PONG irc.test :after"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    chunks=st.lists(
        st.one_of(
            st.binary(max_size=80),
            st.sampled_from(
                [
                    b"NICK a\r\n",
                    b"USER a 0 * :A\r\n",
                    b"JOIN #x\r\n",
                    b"PRIVMSG #x :hi\r\n",
                    b"MODE #x +kl-o a 3 a\r\n",
                    b"QUIT\r\n",
                    b"\r\n",
                    b"\n",
                    b"CAP LS 302\r\n",
                ]
            ),
        ),
        max_size=25,
    )
)
def test_arbitrary_bytes_in_arbitrary_chunks_never_raise(chunks: list[bytes]) -> None:
    harness = Harness(make_config(flood_control=True, flood_burst=10))
    watcher = harness.connect("watcher")
    watcher.send("JOIN #x")
    fuzz = harness.client()
    for chunk in chunks:
        fuzz.send_bytes(chunk)
        harness.advance(0.25)
    fuzz.send_bytes(b"")
    # Whatever happened, the fuzzer is gone without a ghost, and the watcher still works.
    assert fuzz.session not in harness.core.sessions
    assert all(fuzz.session not in room.members for room in harness.core.rooms.values())
    assert watcher.session.key is not None
    assert harness.core.nicks == {watcher.session.key: watcher.session}
    watcher.send("PING :ok")
    assert watcher.lines()[-1] == ":irc.test PONG irc.test :ok"
    # And every line either of them was sent fit the limit and parsed.
    assert not harness.violations()


def test_replies_that_echo_client_words_still_fit_512_bytes(server: Harness) -> None:
    # A client may send a full 512-byte line; a reply that repeats part of it, behind the
    # server name and the nick, must be shortened, never sent over the limit (the fake
    # transport checks every line). The longest parameter is the one that gives way.
    alice = server.connect("alice")
    token = "x" * (510 - len("PING "))
    alice.send(f"PING {token}")
    (pong,) = alice.messages()
    assert pong.command == "PONG"
    assert pong.params[-1] == token[: len(pong.params[-1])]
    assert len(pong.params[-1]) > 450
    alice.send("PRIVMSG " + "n" * 480 + " :hi", "FROB" * 120, "CAP REQ :" + "z " * 240)
    assert alice.commands() == ["401", "421", "CAP"]


def test_a_long_real_name_is_cut_in_replies_that_show_it(server: Harness) -> None:
    bob = server.client()
    bob.send("NICK bob", "USER bob 0 * :" + "r" * 490)
    bob.lines()
    alice = server.connect("alice")
    alice.send("WHOIS bob", "WHO bob")
    replies = {message.command: message for message in alice.messages()}
    assert replies["311"].params[-1].startswith("rrrr")
    assert replies["352"].params[-1].startswith("0 rrrr")
