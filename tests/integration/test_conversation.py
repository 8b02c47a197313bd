"""Everyday chat over real sockets, against every backend: registration, rooms, messages,
and TCP's habit of delivering a line in pieces."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from ircclient import IRCClient, command_of

from chatkit.config import ServerConfig

Connect = Callable[..., IRCClient]

pytestmark = pytest.mark.timeout(20)


def test_registration_burst_in_one_send(connect: Connect) -> None:
    client = connect("alice")
    client.send_raw(b"CAP LS 302\r\nNICK alice\r\nUSER alice 0 * :Alice\r\nCAP END\r\n")
    welcome = client.wait_for_command("001")
    assert welcome[2] == "alice"
    client.wait_for(lambda line: command_of(line) in ("376", "422"))


def test_private_message(connect: Connect) -> None:
    alice, bob = connect("alice"), connect("bob")
    alice.register()
    bob.register()
    alice.send("PRIVMSG bob :psst, bob")
    line = bob.wait_for_command("PRIVMSG")
    assert line[0].startswith(":alice!")
    assert " ".join(line[2:]) == "bob :psst, bob"


def test_nick_change_is_seen_by_the_room(connect: Connect) -> None:
    alice, bob = connect("alice"), connect("bob")
    for client in (alice, bob):
        client.register()
        client.join("#room")
    alice.send("NICK alicia")
    line = bob.wait_for_command("NICK")
    assert line[0].startswith(":alice!")
    assert line[-1].lstrip(":") == "alicia"
    assert bob.names("#room") == {"alicia", "bob"}


def test_byte_at_a_time_client(connect: Connect) -> None:
    client = connect("slowpoke")
    for byte in b"NICK slowpoke\r\nUSER slowpoke 0 * :One byte at a time\r\n":
        client.send_raw(bytes([byte]))
    assert client.wait_for_command("001")[2] == "slowpoke"


def test_crlf_split_across_reads(connect: Connect) -> None:
    alice, bob = connect("alice"), connect("bob")
    for client in (alice, bob):
        client.register()
        client.join("#room")
    alice.send_raw(b"PRIVMSG #room :split\r")
    alice.send_raw(b"\nPRIVMSG #room :second\r\nPRIV")
    alice.send_raw(b"MSG #room :third\r\n")
    texts = [bob.wait_for_command("PRIVMSG")[-1] for _ in range(3)]
    assert texts == [":split", ":second", ":third"]


class TestWithoutFloodControl:
    """Many messages from one sender: flood control would (rightly) slow these down."""

    @pytest.fixture
    def server_config(self) -> ServerConfig:
        return ServerConfig(host="127.0.0.1", port=0, flood_control=False)

    def test_fan_out_keeps_each_senders_order(self, connect: Connect) -> None:
        members = [connect(f"m{index}") for index in range(4)]
        for member in members:
            member.register()
            member.join("#order")
        sender, *listeners = members
        count = 300
        sender.send(*(f"PRIVMSG #order :message {number}" for number in range(count)))
        for listener in listeners:
            received = [int(listener.wait_for_command("PRIVMSG")[-1]) for _ in range(count)]
            assert received == list(range(count))

    def test_concurrent_senders_keep_their_order_for_every_listener(self, connect: Connect) -> None:
        # Several senders at once: in the threading backend their reader threads fan out
        # (and write) concurrently to the same listeners, which must still see each sender's
        # lines complete and in order. Small receive buffers make the listeners' sockets fill
        # up, so that writing moves between threads while the lines flow.
        senders = [connect(f"s{index}") for index in range(4)]
        listeners = [connect(f"l{index}", rcvbuf=4096) for index in range(4)]
        for client in senders + listeners:
            client.register()
            client.join("#busy")
        count = 1000
        for sender in senders:
            sender.send(*(f"PRIVMSG #busy :{sender.nick} {n}" for n in range(count)))
        for listener in listeners:
            received: dict[str, list[int]] = {sender.nick: [] for sender in senders}
            for _ in range(count * len(senders)):
                *_, nick, number = listener.wait_for_command("PRIVMSG")
                received[nick.lstrip(":")].append(int(number))
            assert all(numbers == list(range(count)) for numbers in received.values())

    def test_hundred_clients_all_receive_a_broadcast(self, connect: Connect) -> None:
        clients = [connect(f"c{index}") for index in range(100)]
        for client in clients:
            client.register()
            client.send("JOIN #big")
        for client in clients:
            client.wait_for_command("366")
        clients[0].send("PRIVMSG #big :hello everyone")
        for client in clients[1:]:
            line = client.wait_for(lambda text: "PRIVMSG #big" in text)
            assert line.endswith(":hello everyone")
