"""Leaving and changing names: QUIT, peer close, disconnect, NICK changes; no ghosts."""

from __future__ import annotations

from fake_client import Harness, make_config


def test_quit_tells_others_once_and_closes(server: Harness) -> None:
    alice, bob = server.joined("#a,#b", "alice", "bob")
    bob.send("QUIT :gone home")
    assert alice.lines() == [":bob!~bob@127.0.0.1 QUIT :Quit: gone home"]  # once for 2 rooms
    assert bob.lines() == ["ERROR :Closing Link: 127.0.0.1 (Quit: gone home)"]
    assert bob.transport.close_reason == "Quit: gone home"
    assert server.core.find_nick("bob") is None
    assert all(bob.session not in room.members for room in server.core.rooms.values())
    # The backend's later disconnect is a no-op: no second QUIT.
    server.core.disconnect(bob.session, "Connection reset")
    bob.send("PRIVMSG #a :ghost")
    assert alice.lines() == []


def test_quit_without_reason(server: Harness) -> None:
    # modern.ircdocs.horse: prefix "Quit: " even when the reason is empty.
    alice, bob = server.joined("#a", "alice", "bob")
    bob.send("QUIT")
    assert alice.lines() == [":bob!~bob@127.0.0.1 QUIT :Quit: "]
    assert bob.lines() == ["ERROR :Closing Link: 127.0.0.1 (Quit: )"]


def test_peer_close_makes_one_quit(server: Harness) -> None:
    alice, bob = server.joined("#a", "alice", "bob")
    bob.send_bytes(b"")
    assert alice.lines() == [":bob!~bob@127.0.0.1 QUIT :Connection closed"]
    assert bob.closed
    server.core.disconnect(bob.session, "again")
    bob.send_bytes(b"")
    assert alice.lines() == []
    assert len(server.core.sessions) == 1


def test_disconnect_is_idempotent_and_leaves_transport_alone(server: Harness) -> None:
    alice, bob = server.joined("#a", "alice", "bob")
    server.core.disconnect(bob.session, "SendQ exceeded")
    server.core.disconnect(bob.session, "SendQ exceeded")
    assert alice.lines() == [":bob!~bob@127.0.0.1 QUIT :SendQ exceeded"]
    assert bob.lines() == []
    assert not bob.closed  # the backend closes it
    alice.send("PRIVMSG #a :still here?")
    assert bob.lines() == []
    alice.send("NAMES #a")
    assert ":irc.test 353 alice = #a :@alice" in alice.lines()


def test_nick_is_free_again_after_quit(server: Harness) -> None:
    bob = server.connect("bob")
    bob.send("QUIT")
    again = server.connect("BOB")
    assert again.session.registered


def test_unregistered_quit(server: Harness) -> None:
    alice = server.client()
    alice.send("NICK alice", "QUIT :nope")
    assert alice.lines() == ["ERROR :Closing Link: 127.0.0.1 (Quit: nope)"]
    assert server.core.nicks == {}


def test_nick_change_seen_once_by_everyone_sharing_a_room(server: Harness) -> None:
    alice, bob, carol = server.joined("#a,#b", "alice", "bob", "carol")
    loner = server.connect("loner")
    bob.send("NICK robert")
    expected = [":bob!~bob@127.0.0.1 NICK :robert"]
    assert alice.lines() == expected
    assert carol.lines() == expected
    assert bob.lines() == expected
    assert loner.lines() == []
    assert bob.session.prefix == "robert!~bob@127.0.0.1"
    assert server.core.find_nick("bob") is None
    assert server.core.find_nick("ROBERT") is bob.session
    alice.send("PRIVMSG robert :hi")
    assert bob.lines() == [":alice!~alice@127.0.0.1 PRIVMSG robert :hi"]


def test_nick_change_alone_is_echoed(server: Harness) -> None:
    alice = server.connect("alice")
    alice.send("NICK Alice")  # case change of your own nick is allowed
    assert alice.lines() == [":alice!~alice@127.0.0.1 NICK :Alice"]
    alice.send("NICK Alice")
    assert alice.lines() == []


def test_nick_errors(server: Harness) -> None:
    server.connect("bob")
    alice = server.connect("alice")
    alice.send("NICK", "NICK :", "NICK BOB", "NICK 9lives", "NICK -dash", "NICK a.b", "NICK a*b")
    alice.send("NICK " + "n" * 31, "NICK :has space")
    assert alice.lines() == [
        ":irc.test 431 alice :No nickname given",
        ":irc.test 431 alice :No nickname given",
        ":irc.test 433 alice BOB :Nickname is already in use",
        ":irc.test 432 alice 9lives :Erroneous nickname",
        ":irc.test 432 alice -dash :Erroneous nickname",
        ":irc.test 432 alice a.b :Erroneous nickname",
        ":irc.test 432 alice a*b :Erroneous nickname",
        f":irc.test 432 alice {'n' * 31} :Erroneous nickname",
        ":irc.test 432 alice has_space :Erroneous nickname",
    ]


def test_nick_in_use_before_registration_and_rfc1459_folding(server: Harness) -> None:
    server.connect("nick[a]")
    other = server.client()
    other.send("NICK NICK{A}")
    assert other.lines() == [":irc.test 433 * NICK{A} :Nickname is already in use"]
    other.send("NICK nick_a", "USER x 0 * :X")
    assert other.commands()[0] == "001"


def test_unregistered_nick_is_reserved(server: Harness) -> None:
    first = server.client()
    first.send("NICK taken")
    second = server.client()
    second.send("NICK Taken")
    assert second.commands() == ["433"]


def test_shutdown_sends_error_to_everyone(server: Harness) -> None:
    alice, bob = server.joined("#a", "alice", "bob")
    pending = server.client()
    server.core.shutdown()
    for client in (alice, bob, pending):
        assert client.lines() == ["ERROR :Closing Link: 127.0.0.1 (Server shutting down)"]
        assert client.transport.close_reason == "Server shutting down"
    assert not server.core.sessions
    assert not server.core.rooms


def test_disconnect_before_registration_frees_the_nick(server: Harness) -> None:
    pending = server.client()
    pending.send("NICK early")
    server.core.disconnect(pending.session, "Connection reset by peer")
    assert server.core.nicks == {}
    assert server.connect("early").session.registered


def test_quit_reason_is_capped() -> None:
    harness = Harness(make_config(kick_length=4))
    alice, bob = harness.joined("#a", "alice", "bob")
    bob.send("QUIT :abcdefgh")
    assert alice.lines() == [":bob!~bob@127.0.0.1 QUIT :Quit: abcd"]


def test_cap_after_registration_does_not_hold_anything(server: Harness) -> None:
    alice = server.connect("alice")
    alice.send("CAP LS", "CAP REQ :userhost-in-names", "JOIN #a")
    lines = alice.lines()
    assert lines[:2] == [
        ":irc.test CAP alice LS :cap-notify multi-prefix userhost-in-names",
        ":irc.test CAP alice ACK :userhost-in-names",
    ]
    assert lines[3] == ":irc.test 353 alice = #a :@alice!~alice@127.0.0.1"
    assert alice.session.registered


def test_message_to_yourself(server: Harness) -> None:
    alice = server.connect("alice")
    alice.send("PRIVMSG alice :note to self")
    assert alice.lines() == [":alice!~alice@127.0.0.1 PRIVMSG alice :note to self"]
