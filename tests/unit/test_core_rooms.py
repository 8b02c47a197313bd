"""JOIN, PART, TOPIC, NAMES, LIST and KICK."""

from __future__ import annotations

from fake_client import Harness, make_config


def test_join_creates_room_and_makes_first_member_operator(server: Harness) -> None:
    alice = server.connect("alice")
    alice.send("JOIN #chat")
    assert alice.lines() == [
        ":alice!~alice@127.0.0.1 JOIN #chat",
        ":irc.test 353 alice = #chat :@alice",
        ":irc.test 366 alice #chat :End of /NAMES list",
    ]
    bob = server.connect("bob")
    bob.send("JOIN #CHAT")
    assert alice.lines() == [":bob!~bob@127.0.0.1 JOIN #chat"]
    assert bob.lines() == [
        ":bob!~bob@127.0.0.1 JOIN #chat",
        ":irc.test 353 bob = #chat :@alice bob",
        ":irc.test 366 bob #chat :End of /NAMES list",
    ]


def test_join_shows_topic(server: Harness) -> None:
    (alice,) = server.joined("#chat", "alice")
    alice.send("TOPIC #chat :Welcome all")
    bob = server.connect("bob")
    bob.send("JOIN #chat")
    assert bob.lines()[1:3] == [
        ":irc.test 332 bob #chat :Welcome all",
        ":irc.test 333 bob #chat alice!~alice@127.0.0.1 :1700000000",
    ]


def test_join_several_with_keys_and_join_zero(server: Harness) -> None:
    (alice,) = server.joined("#locked", "alice")
    alice.send("MODE #locked +k sesame")
    bob = server.connect("bob")
    bob.send("JOIN #one,#locked,#two x,sesame")
    assert [line for line in bob.lines() if " JOIN " in line] == [
        ":bob!~bob@127.0.0.1 JOIN #one",
        ":bob!~bob@127.0.0.1 JOIN #locked",
        ":bob!~bob@127.0.0.1 JOIN #two",
    ]
    alice.lines()
    bob.send("JOIN 0")
    assert bob.lines() == [
        ":bob!~bob@127.0.0.1 PART #one",
        ":bob!~bob@127.0.0.1 PART #locked",
        ":bob!~bob@127.0.0.1 PART #two",
    ]
    assert alice.lines() == [":bob!~bob@127.0.0.1 PART #locked"]
    assert bob.session.rooms == {}
    assert set(server.core.rooms) == {"#locked"}


def test_join_errors(server: Harness) -> None:
    # modern.ircdocs.horse lists 403 (not 476) for JOIN; irctest checks a name one past
    # CHANNELLEN gets exactly that.
    alice = server.connect("alice")
    alice.send("JOIN chat,#bad:name,#", "JOIN #" + "x" * 50, "JOIN #" + "x" * 49)
    assert alice.lines()[:4] == [
        ":irc.test 403 alice chat :No such channel",
        ":irc.test 403 alice #bad:name :No such channel",
        ":irc.test 403 alice # :No such channel",
        f":irc.test 403 alice #{'x' * 50} :No such channel",
    ]
    assert alice.session.rooms.keys() == {"#" + "x" * 49}


def test_join_key_and_limit(server: Harness) -> None:
    (alice,) = server.joined("#r", "alice")
    alice.send("MODE #r +kl key 2")
    bob = server.connect("bob")
    bob.send("JOIN #r", "JOIN #r wrong")
    assert bob.lines() == [
        ":irc.test 475 bob #r :Cannot join channel (+k)",
        ":irc.test 475 bob #r :Cannot join channel (+k)",
    ]
    bob.send("JOIN #r key")
    assert bob.commands()[0] == "JOIN"
    carol = server.connect("carol")
    carol.send("JOIN #r key")
    assert carol.lines() == [":irc.test 471 carol #r :Cannot join channel (+l)"]


def test_too_many_rooms() -> None:
    harness = Harness(make_config(max_rooms_per_client=2))
    alice = harness.connect("alice")
    alice.send("JOIN #a,#b,#c")
    assert alice.lines()[-1] == ":irc.test 405 alice #c :You have joined too many channels"
    assert len(alice.session.rooms) == 2


def test_join_twice_is_silent(server: Harness) -> None:
    (alice,) = server.joined("#r", "alice")
    alice.send("JOIN #R")
    assert alice.lines() == []


def test_part_with_reason_and_errors(server: Harness) -> None:
    alice, bob = server.joined("#r", "alice", "bob")
    server.connect("carol").send("JOIN #other")
    bob.send("PART #r :see you", "PART #r", "PART #nowhere", "PART #other")
    expected = ":bob!~bob@127.0.0.1 PART #r :see you"
    assert alice.lines() == [expected]
    assert bob.lines() == [
        expected,
        ":irc.test 442 bob #r :You're not on that channel",
        ":irc.test 403 bob #nowhere :No such channel",
        ":irc.test 442 bob #other :You're not on that channel",
    ]


def test_empty_room_is_forgotten(server: Harness) -> None:
    (alice,) = server.joined("#r", "alice")
    alice.send("PART #r")
    assert server.core.rooms == {}
    bob = server.connect("bob")
    bob.send("JOIN #r")
    assert ":irc.test 353 bob = #r :@bob" in bob.lines()
