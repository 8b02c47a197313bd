"""MODE: user mode +i and room modes +n +t +k +l +o, with their errors."""

from __future__ import annotations

from fake_client import Harness, make_config


def test_user_mode_query_and_invisible(server: Harness) -> None:
    alice = server.connect("alice")
    alice.send("MODE alice")
    assert alice.lines() == [":irc.test 221 alice :+"]
    alice.send("MODE Alice +i", "MODE alice +i", "MODE alice")
    assert alice.lines() == [":alice MODE alice :+i", ":irc.test 221 alice :+i"]
    alice.send("MODE alice -i+x")
    assert alice.lines() == [":alice MODE alice :-i", ":irc.test 501 alice :Unknown MODE flag"]


def test_user_mode_other_user_and_unknown(server: Harness) -> None:
    alice = server.connect("alice")
    server.connect("bob")
    alice.send("MODE bob", "MODE bob +i", "MODE ghost +i")
    assert alice.lines() == [
        ":irc.test 502 alice :Can't view modes for other users",
        ":irc.test 502 alice :Can't change mode for other users",
        ":irc.test 401 alice ghost :No such nick/channel",
    ]


def test_room_mode_query(server: Harness) -> None:
    alice, bob = server.joined("#r", "alice", "bob")
    alice.send("MODE #r +kl secret 10")
    bob.lines()
    bob.send("MODE #R")
    assert bob.lines() == [
        ":irc.test 324 bob #r +klnt secret :10",
        ":irc.test 329 bob #r :1700000000",
    ]
    carol = server.connect("carol")
    carol.send("MODE #r", "MODE #none")
    assert carol.lines() == [
        ":irc.test 324 carol #r +klnt * :10",
        ":irc.test 329 carol #r :1700000000",
        ":irc.test 403 carol #none :No such channel",
    ]


def test_room_mode_changes_are_broadcast_once(server: Harness) -> None:
    alice, bob = server.joined("#r", "alice", "bob")
    alice.send("MODE #r +o-t+k bob key")
    expected = [":alice!~alice@127.0.0.1 MODE #r +o-t+k bob key"]
    assert alice.lines() == expected
    assert bob.lines() == expected
    room = server.core.find_room("#r")
    assert room is not None
    assert bob.session in room.operators
    assert not room.topic_lock
    assert room.password == "key"
    alice.send("MODE #r -k+n", "MODE #r -o+l bob 3", "MODE #r -l")
    assert bob.lines() == [
        ":alice!~alice@127.0.0.1 MODE #r -k *",
        ":alice!~alice@127.0.0.1 MODE #r -o+l bob 3",
        ":alice!~alice@127.0.0.1 MODE #r -l",
    ]
    alice.send("MODE #r +n", "MODE #r -l")  # no change: nothing broadcast
    assert bob.lines() == []


def test_room_mode_needs_operator(server: Harness) -> None:
    _alice, bob = server.joined("#r", "alice", "bob")
    bob.send("MODE #r +o bob", "MODE #r -n")
    assert bob.lines() == [
        ":irc.test 482 bob #r :You're not channel operator",
        ":irc.test 482 bob #r :You're not channel operator",
    ]


def test_room_mode_errors(server: Harness) -> None:
    alice, _bob = server.joined("#r", "alice", "bob")
    server.connect("carol")
    alice.send("MODE #r +x", "MODE #r +k", "MODE #r +l", "MODE #r +o")
    assert alice.lines() == [
        ":irc.test 472 alice x :is unknown mode char to me",
        ":irc.test 461 alice MODE :Not enough parameters",
        ":irc.test 461 alice MODE :Not enough parameters",
        ":irc.test 461 alice MODE :Not enough parameters",
    ]
    alice.send("MODE #r +o carol", "MODE #r +o ghost", "MODE #r +l zero", "MODE #r +k a,b")
    assert alice.lines() == [
        ":irc.test 441 alice carol #r :They aren't on that channel",
        ":irc.test 401 alice ghost :No such nick/channel",
        ":irc.test 696 alice #r l zero :Invalid limit",
        ":irc.test 696 alice #r k * :Invalid key",
    ]


def test_invalid_keys_and_limits_get_696(server: Harness) -> None:
    # A rejected key is never echoed (irctest expects "*" in its place); a limit must be a
    # plain positive number that fits in nine digits.
    (alice,) = server.joined("#r", "alice")
    alice.send("MODE #r +k :passphrase with spaces", "MODE #r +k :", "MODE #r +k " + "k" * 24)
    assert alice.lines() == [":irc.test 696 alice #r k * :Invalid key"] * 3
    alice.send("MODE #r +l 0", "MODE #r +l -1", "MODE #r +l \u0663", "MODE #r +l 1234567890")
    assert alice.commands() == ["696"] * 4
    alice.send("MODE #r +kl sesame 123456789")
    assert alice.lines() == [":alice!~alice@127.0.0.1 MODE #r +kl sesame 123456789"]


def test_long_ban_masks_are_refused_and_mode_lines_are_split_to_fit(server: Harness) -> None:
    room = "#" + "r" * 49
    nick = "a" * 30
    alice, bob = server.joined(room, nick, "bob")
    alice.send(f"MODE {room} +b " + "m" * 97 + "!*@*")
    assert alice.lines() == [f":irc.test 696 {nick} {room} b * :Ban mask too long"]
    # Four 100-byte masks behind a 30-letter nick and a 50-letter room do not fit one line.
    masks = [f"{letter * 96}!*@*" for letter in "wxyz"]
    alice.send(f"MODE {room} +bbbb " + " ".join(masks))
    changes = [message.params[2:] for message in bob.messages()]
    assert [mask for args in changes for mask in args] == masks
    assert len(changes) == 2


def test_ban_list_query_when_empty(server: Harness) -> None:
    (alice,) = server.joined("#r", "alice")
    alice.send("MODE #r b", "MODE #r +b")
    assert alice.lines() == [
        ":irc.test 368 alice #r :End of channel ban list",
        ":irc.test 368 alice #r :End of channel ban list",
    ]


def test_bans_stop_join_and_speech(server: Harness) -> None:
    alice, bob = server.joined("#r", "alice", "bob")
    alice.send("MODE #r +b bob", "MODE #r +b *!*@10.*")
    assert bob.lines() == [
        ":alice!~alice@127.0.0.1 MODE #r +b bob!*@*",
        ":alice!~alice@127.0.0.1 MODE #r +b *!*@10.*",
    ]
    alice.lines()
    bob.send("PRIVMSG #r :can I talk?")
    assert bob.lines() == [":irc.test 404 bob #r :Cannot send to channel"]
    assert alice.lines() == []
    bob.send("PART #r", "JOIN #r")
    assert bob.lines()[-1] == ":irc.test 474 bob #r :Cannot join channel (+b)"
    remote = server.client("10.1.2.3:999").register("remote")
    remote.send("JOIN #r")
    assert remote.lines() == [":irc.test 474 remote #r :Cannot join channel (+b)"]
    alice.lines()
    alice.send("MODE #r b")
    assert alice.lines() == [
        ":irc.test 367 alice #r bob!*@* alice!~alice@127.0.0.1 :1700000000",
        ":irc.test 367 alice #r *!*@10.* alice!~alice@127.0.0.1 :1700000000",
        ":irc.test 368 alice #r :End of channel ban list",
    ]
    alice.send("MODE #r -b BOB!*@*", "MODE #r -b nobody")
    assert alice.lines() == [":alice!~alice@127.0.0.1 MODE #r -b bob!*@*"]
    bob.send("JOIN #r")
    assert bob.commands()[0] == "JOIN"


def test_ban_list_is_capped() -> None:
    harness = Harness(make_config(max_bans=2))
    alice = harness.connect("alice")
    alice.send("JOIN #r", "MODE #r +bbb a b c", "MODE #r +b a")
    lines = alice.lines()
    assert lines[-2:] == [
        ":irc.test 478 alice #r c!*@* :Channel ban list is full",
        ":alice!~alice@127.0.0.1 MODE #r +bb a!*@* b!*@*",
    ]


def test_non_operator_may_list_bans_but_not_set_them(server: Harness) -> None:
    _alice, bob = server.joined("#r", "alice", "bob")
    bob.send("MODE #r +b", "MODE #r +b x")
    assert bob.lines() == [
        ":irc.test 368 bob #r :End of channel ban list",
        ":irc.test 482 bob #r :You're not channel operator",
    ]


def test_mode_parameter_limit(server: Harness) -> None:
    alice, *_others = server.joined("#r", "alice", "b1", "b2", "b3", "b4", "b5")
    alice.send("MODE #r +ooooo b1 b2 b3 b4 b5")
    assert alice.lines() == [":alice!~alice@127.0.0.1 MODE #r +oooo b1 b2 b3 b4"]
