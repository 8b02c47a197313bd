"""What the user types becomes IRC messages (or a clear local error). No sockets."""

from __future__ import annotations

import pytest
from client_helpers import lines, registered

from chatkit.client.commands import COMMANDS, split_text
from chatkit.client.events import Action, ChatMessage, Error, Status
from chatkit.client.state import ClientState


@pytest.mark.parametrize(
    ("typed", "sent"),
    [
        ("/join #python", ["JOIN #python"]),
        ("/join python,#rust key1", ["JOIN #python,#rust key1"]),
        ("/part", ["PART #lobby"]),
        ("/part see you all", ["PART #lobby :see you all"]),
        ("/part #lobby bye", ["PART #lobby bye"]),
        ("/msg bob hi there", ["PRIVMSG bob :hi there"]),
        ("/notice bob fyi", ["NOTICE bob fyi"]),
        ("/me waves", ["PRIVMSG #lobby :\x01ACTION waves\x01"]),
        ("/nick alicia", ["NICK alicia"]),
        ("/topic", ["TOPIC #lobby"]),
        ("/topic new topic here", ["TOPIC #lobby :new topic here"]),
        ("/names", ["NAMES #lobby"]),
        ("/who", ["WHO #lobby"]),
        ("/whois bob", ["WHOIS bob"]),
        ("/list", ["LIST"]),
        ("/away lunch break", ["AWAY :lunch break"]),
        ("/away", ["AWAY"]),
        ("/mode #lobby +o bob", ["MODE #lobby +o bob"]),
        ("/kick bob stop that", ["KICK #lobby bob :stop that"]),
        ("/raw PRIVMSG #lobby :raw hello", ["PRIVMSG #lobby :raw hello"]),
        ("/quit", ["QUIT Leaving"]),
        ("/quit see you", ["QUIT :see you"]),
        ("hello everyone", ["PRIVMSG #lobby :hello everyone"]),
        ("//slash is not a command", ["PRIVMSG #lobby :/slash is not a command"]),
        ("   ", []),
    ],
)
def test_typed_lines_become_messages(typed: str, sent: list[str]) -> None:
    state = registered()
    state.handle_input(typed)
    assert lines(state.data_to_send()) == sent


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("/join", "Which room?. Usage: /join #room[,#other] [key]"),
        ("/msg bob", "Whom, and what?. Usage: /msg TARGET TEXT"),
        ("/whois", "Whom?. Usage: /whois NICK"),
        ("/nick", "One new nick, without spaces. Usage: /nick NEWNICK"),
        ("/window 7", "No window 7 (there are 1). Usage: /window [N]"),
        ("/switch #nowhere", "No window for #nowhere (/join it, or /query a nick). Usage: "),
        ("/frobnicate", "Unknown command /frobnicate; /help lists them"),
        ("/raw :onlysource", "Not an IRC line"),
        ("/msg bob a\x00b", "Cannot send that"),
        ("a\x00b", "Cannot send that"),
        ("/join ,", "Which room?"),
        ("/join #x \x00", "Cannot send that"),
        ("/msg " + "n" * 450 + " hi", "nnnnnnnnnnnnnnnnnnnn... is too long a name"),
    ],
)
def test_bad_usage_is_a_local_error_and_sends_nothing(typed: str, error: str) -> None:
    state = registered()
    events = state.handle_input(typed)
    assert len(events) == 1 and isinstance(events[0], Error) and events[0].local
    assert events[0].text.startswith(error)
    assert state.data_to_send() == b""


def test_own_messages_are_echoed_as_events() -> None:
    state = registered()
    assert state.handle_input("hi") == [ChatMessage("#lobby", "alice", "hi", own=True)]
    assert state.handle_input("/me waves") == [Action("#lobby", "alice", "waves", own=True)]
    assert state.handle_input("/msg bob psst") == [
        ChatMessage("bob", "alice", "psst", own=True, private=True)
    ]
    assert state.windows == ["#lobby", "bob"]


def test_join_switches_to_the_room_once_joined() -> None:
    state = registered()
    state.handle_input("/join #python")
    assert state.current == "#lobby"
    state.receive_data(b":alice!u@h JOIN #python\r\n")
    assert state.current == "#python"
    state.handle_input("/join #lobby")  # already there: switch without a JOIN
    assert state.current == "#lobby" and state.data_to_send() == b"JOIN #python\r\n"


def test_window_and_switch_and_query() -> None:
    state = registered(rooms=("#lobby", "#python"))
    assert state.current == "#lobby"
    state.handle_input("/window 2")
    assert state.current == "#python"
    state.handle_input("/switch #LOBBY")
    assert state.current == "#lobby"
    state.handle_input("/query bob")
    assert state.current == "bob"
    state.handle_input("hi bob")
    assert lines(state.data_to_send()) == ["PRIVMSG bob :hi bob"]
    assert state.handle_input("/window") == [Status("Windows: 1:#lobby  2:#python  3:bob")]


def test_text_without_a_room_or_connection_is_refused() -> None:
    state = ClientState("alice", rooms=())
    state.connection_made()
    state.receive_data(b":srv 001 alice :hi\r\n")
    state.data_to_send()
    assert state.handle_input("hello") == [
        Error("You are not in a room: /join #room first", local=True)
    ]
    offline = registered()
    offline.connection_lost("gone")
    events = offline.handle_input("/join #x")
    assert events == [Error("Not connected to the server; nothing was sent", local=True)]
    assert offline.handle_input("/window 1") == []  # local commands still work


def test_quit_while_disconnected_just_quits() -> None:
    state = registered()
    state.connection_lost("gone")
    state.handle_input("/quit")
    assert state.quitting and state.data_to_send() == b""


def test_help_lists_every_command() -> None:
    state = ClientState("alice")
    events = state.handle_input("/help")
    text = "\n".join(event.text for event in events if isinstance(event, Status))
    for name in COMMANDS:
        assert f"/{name}" in text
    assert state.handle_input("/help me")[0] == Status(
        "/me ACTION  Describe an action: /me waves -> * you waves"
    )


def test_long_text_is_split_to_fit_the_line_limit() -> None:
    state = registered()
    state.handle_input("word " * 300)
    sent = lines(state.data_to_send())
    assert len(sent) == 4
    # What the server relays: our longest possible prefix, the line, CRLF.
    prefix = ":alice!" + "u" * 10 + "@" + "h" * 63 + " "
    assert all(len(prefix) + len(line.encode()) + 2 <= 512 for line in sent)
    assert " ".join(line.partition(" :")[2] for line in sent) == "word " * 300


def test_split_text_respects_utf8_and_spaces() -> None:
    assert split_text("aaa bbb ccc", 7) == ["aaa bbb", "ccc"]
    assert split_text("ééééé", 4) == ["éé", "éé", "é"]
    assert split_text("", 10) == []


@pytest.mark.timeout(5)
def test_text_to_a_window_with_an_absurd_name_is_refused_not_looped() -> None:
    state = registered()
    state.handle_input("/query " + "n" * 450)
    [event] = state.handle_input("hello")
    assert isinstance(event, Error) and "is too long a name" in event.text
    assert state.data_to_send() == b""
    with pytest.raises(ValueError):
        split_text("abc", 3)


def test_a_join_that_could_not_be_sent_is_not_retried_on_reconnect() -> None:
    state = registered()
    state.handle_input("/join #x \x00")
    state.connection_lost("test")
    state.connection_made()
    state.data_to_send()
    state.receive_data(b":srv 001 alice :hi\r\n")
    assert lines(state.data_to_send()) == ["JOIN #lobby"]
