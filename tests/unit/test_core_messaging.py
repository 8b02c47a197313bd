"""PRIVMSG, NOTICE and AWAY: fan-out, private messages, every error numeric."""

from __future__ import annotations

from fake_client import Harness, make_config


# --8<-- [start:fan-out]
def test_room_message_reaches_everyone_but_sender_as_same_bytes(server: Harness) -> None:
    alice, bob, carol = server.joined("#room", "alice", "bob", "carol")
    alice.send("PRIVMSG #room :hello there")
    assert alice.lines() == []
    expected = ":alice!~alice@127.0.0.1 PRIVMSG #room :hello there"
    assert bob.lines() == [expected]
    assert carol.lines() == [expected]
    # Encoded once: the very same bytes object went to both transports.
    assert bob.transport.sent[-1] is carol.transport.sent[-1]


# --8<-- [end:fan-out]


def test_room_target_uses_casemapping_and_canonical_name(server: Harness) -> None:
    alice, bob = server.joined("#room", "alice", "bob")
    alice.send("PRIVMSG #ROOM :hi")
    assert bob.lines() == [":alice!~alice@127.0.0.1 PRIVMSG #room :hi"]


def test_private_message_and_notice(server: Harness) -> None:
    alice = server.connect("alice")
    bob = server.connect("Bob[1]")
    alice.send("PRIVMSG bob{1} :psst", "NOTICE BOB[1] :note")
    assert bob.lines() == [
        ":alice!~alice@127.0.0.1 PRIVMSG Bob[1] :psst",
        ":alice!~alice@127.0.0.1 NOTICE Bob[1] :note",
    ]


def test_several_targets_up_to_maxtargets(server: Harness) -> None:
    alice, bob = server.joined("#room", "alice", "bob")
    carol = server.connect("carol")
    alice.send("PRIVMSG #room,carol,CAROL :hey")
    assert bob.lines() == [":alice!~alice@127.0.0.1 PRIVMSG #room :hey"]
    assert carol.lines() == [":alice!~alice@127.0.0.1 PRIVMSG carol :hey"]  # once, not twice
    alice.send("PRIVMSG a,b,c,carol,e :x")
    assert alice.lines() == [
        ":irc.test 401 alice a :No such nick/channel",
        ":irc.test 401 alice b :No such nick/channel",
        ":irc.test 401 alice c :No such nick/channel",
        ":irc.test 407 alice e :Too many targets",
    ]
    assert carol.lines() == [":alice!~alice@127.0.0.1 PRIVMSG carol :x"]


def test_privmsg_errors(server: Harness) -> None:
    alice = server.connect("alice")
    server.connect("bob").send("JOIN #closed")
    alice.send(
        "PRIVMSG",
        "PRIVMSG bob",
        "PRIVMSG bob :",
        "PRIVMSG nobody :hi",
        "PRIVMSG #nowhere :hi",
        "PRIVMSG #closed :hi",
    )
    assert alice.lines() == [
        ":irc.test 411 alice :No recipient given (PRIVMSG)",
        ":irc.test 412 alice :No text to send",
        ":irc.test 412 alice :No text to send",
        ":irc.test 401 alice nobody :No such nick/channel",
        ":irc.test 403 alice #nowhere :No such channel",
        ":irc.test 404 alice #closed :Cannot send to channel",
    ]


def test_notice_never_gets_error_replies(server: Harness) -> None:
    alice = server.connect("alice")
    server.connect("bob").send("JOIN #closed")
    alice.send(
        "NOTICE", "NOTICE bob", "NOTICE nobody :x", "NOTICE #nowhere :x", "NOTICE #closed :x"
    )
    alice.send("NOTICE a,b,c,d,e,f :x")
    assert alice.lines() == []


def test_outside_message_allowed_when_room_is_not_n(server: Harness) -> None:
    bob = server.connect("bob")
    bob.send("JOIN #open", "MODE #open -n")
    bob.lines()
    server.connect("alice").send("PRIVMSG #open :from outside")
    assert bob.lines() == [":alice!~alice@127.0.0.1 PRIVMSG #open :from outside"]


# --8<-- [start:away]
def test_away(server: Harness) -> None:
    alice = server.connect("alice")
    bob = server.connect("bob")
    bob.send("AWAY :gone fishing")
    assert bob.lines() == [":irc.test 306 bob :You have been marked as being away"]
    alice.send("PRIVMSG bob :hi", "NOTICE bob :hi")
    assert alice.lines() == [":irc.test 301 alice bob :gone fishing"]  # not for NOTICE
    bob.send("AWAY")
    assert bob.lines()[-1] == ":irc.test 305 bob :You are no longer marked as being away"
    alice.send("PRIVMSG bob :hi")
    assert alice.lines() == []


# --8<-- [end:away]


def test_away_message_is_capped() -> None:
    harness = Harness(make_config(away_length=5))
    bob = harness.connect("bob")
    bob.send("AWAY :abcdefgh")
    assert bob.session.away == "abcde"


def test_relayed_line_never_exceeds_512_bytes(server: Harness) -> None:
    alice, bob = server.joined("#room", "alice", "bob")
    text = "é" * 240  # 480 bytes: the input fits, the relay with the prefix would not
    alice.send(f"PRIVMSG #room :{text}")
    (line,) = bob.transport.sent[-1:]
    assert len(line) <= 512
    assert line.decode().startswith(":alice!~alice@127.0.0.1 PRIVMSG #room :éé")
