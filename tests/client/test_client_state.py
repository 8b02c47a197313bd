"""The sans-I/O client state: server lines in, display events and bytes out. No sockets."""

from __future__ import annotations

import pytest
from client_helpers import lines, registered

from chatkit.client.events import (
    Action,
    ChatMessage,
    Error,
    Join,
    Kick,
    ModeChange,
    Names,
    NickChange,
    Notice,
    Part,
    Quit,
    Raw,
    ServerInfo,
    Topic,
)
from chatkit.client.handlers import HANDLERS
from chatkit.client.incoming import alternative_nick, mentions
from chatkit.client.render import render
from chatkit.client.state import ClientState

# --- registration -------------------------------------------------------------------------


def test_registration_sends_cap_nick_user_then_cap_end_and_join() -> None:
    state = ClientState("alice", rooms=("#lobby", "#python"))
    assert state.connection_made() == []
    assert lines(state.data_to_send()) == [
        "CAP LS 302",
        "NICK alice",
        "USER alice 0 * :chatkit user",
    ]
    state.receive_data(b":srv CAP * LS * :multi-prefix\r\n")
    assert state.data_to_send() == b""  # more capability lines follow
    state.receive_data(b":srv CAP * LS :sasl\r\n")
    assert lines(state.data_to_send()) == ["CAP END"]
    events = state.receive_data(b":srv 001 alice :Welcome to chatkit\r\n")
    assert events == [ServerInfo("001", "Welcome to chatkit")]
    assert state.registered
    assert lines(state.data_to_send()) == ["JOIN #lobby,#python"]
    assert not state.ready  # the JOINs are not answered yet


def test_password_goes_before_nick() -> None:
    state = ClientState("alice", password="s3cret")
    state.connection_made()
    assert lines(state.data_to_send())[:3] == ["CAP LS 302", "PASS s3cret", "NICK alice"]


def test_server_without_cap_support_is_fine() -> None:
    state = ClientState("alice")
    state.connection_made()
    assert state.receive_data(b":old 421 alice CAP :Unknown command\r\n") == []
    state.receive_data(b":old 001 alice :hi\r\n")
    assert state.registered


# --8<-- [start:nick-retry]
def test_nick_in_use_retries_with_suffixes() -> None:
    state = ClientState("alice")
    state.connection_made()
    state.data_to_send()
    events = state.receive_data(b":srv 433 * alice :Nickname is already in use\r\n")
    assert events == [Error("alice Nickname is already in use; trying alice_", "433")]
    assert lines(state.data_to_send()) == ["NICK alice_"]
    state.receive_data(b":srv 433 * alice_ :Nickname is already in use\r\n")
    assert lines(state.data_to_send()) == ["NICK alice__"]
    state.receive_data(b":srv 433 * alice__ :Nickname is already in use\r\n")
    assert lines(state.data_to_send()) == ["NICK alice1"]
    state.receive_data(b":srv 001 alice1 :Welcome\r\n")
    assert state.nick == "alice1"
    # --8<-- [end:nick-retry]


def test_nick_retries_are_bounded() -> None:
    state = ClientState("alice")
    state.connection_made()
    for _ in range(9):
        state.receive_data(b":srv 433 * x :Nickname is already in use\r\n")
    assert state.fatal is not None
    assert lines(state.data_to_send())[-1] == "QUIT :No usable nick"


def test_alternative_nicks() -> None:
    assert [alternative_nick("alice", n) for n in (1, 2, 3, 4)] == [
        "alice_",
        "alice__",
        "alice1",
        "alice2",
    ]
    assert alternative_nick("averylongnick", 1) == "averylo_"
    assert alternative_nick("averylongnick", 1, invalid=True) == "averylong"
    assert alternative_nick("bad!", 2, invalid=True) == "guest2"


def test_nick_in_use_after_registration_is_only_an_error() -> None:
    state = registered()
    events = state.receive_data(b":srv 433 alice bob :Nickname is already in use\r\n")
    assert events == [Error("bob Nickname is already in use", "433")]
    assert state.data_to_send() == b""


def test_wrong_password_is_fatal() -> None:
    state = ClientState("alice", password="nope")
    state.connection_made()
    state.receive_data(b":srv 464 alice :Password incorrect\r\n")
    assert state.fatal == "Password incorrect"


def test_ping_is_answered_and_pong_recorded() -> None:
    state = registered()
    assert state.receive_data(b"PING :srv.example\r\n") == []
    assert lines(state.data_to_send()) == ["PONG srv.example"]
    token = state.send_ping()
    assert lines(state.data_to_send()) == [f"PING {token}"]
    state.receive_data(f":srv PONG srv :{token}\r\n".encode())
    assert token in state.pongs


@pytest.mark.parametrize("chunk", [1, 3, 1000])
def test_lines_split_anywhere_give_the_same_events(chunk: int) -> None:
    data = b":bob!b@h PRIVMSG #lobby :hello there\r\n:carol!c@h PART #lobby :bye\r\n"
    state = registered()
    events = []
    for start in range(0, len(data), chunk):
        events += state.receive_data(data[start : start + chunk])
    assert events == [ChatMessage("#lobby", "bob", "hello there"), Part("#lobby", "carol", "bye")]


def test_debug_shows_raw_lines_both_ways() -> None:
    state = ClientState("alice", debug=True)
    assert state.connection_made()[0] == Raw("->", "CAP LS 302")
    events = state.receive_data(b"PING :x\r\n")
    assert events == [Raw("<-", "PING :x"), Raw("->", "PONG x")]


def test_garbage_from_the_server_is_reported_not_fatal() -> None:
    state = registered()
    events = state.receive_data(b":onlyasource\r\n" + b"x" * 10000 + b"\r\nPING :ok\r\n")
    assert [type(event) for event in events] == [Error, Error]
    assert lines(state.data_to_send()) == ["PONG ok"]


# --- rooms, members, topics ---------------------------------------------------------------


def test_join_tracks_room_members_and_window() -> None:
    state = registered()
    room = state.room("#LOBBY")
    assert room is not None
    assert room.nicks() == ["bob", "alice", "carol"]  # operators first
    assert room.display_names() == ("@bob", "alice", "carol")
    assert state.current == "#lobby"
    assert state.ready


def test_names_reply_becomes_one_event() -> None:
    state = ClientState("alice")
    state.connection_made()
    state.receive_data(b":srv 001 alice :hi\r\n:alice!u@h JOIN #lobby\r\n")
    events = state.receive_data(
        b":srv 353 alice = #lobby :alice @bob\r\n:srv 353 alice = #lobby :+carol\r\n"
        b":srv 366 alice #lobby :End of /NAMES list\r\n"
    )
    assert events == [Names("#lobby", ("@bob", "+carol", "alice"))]


def test_others_joining_parting_quitting() -> None:
    state = registered()
    events = state.receive_data(
        b":dave!d@h JOIN #lobby\r\n:carol!c@h PART #lobby\r\n:bob!b@h QUIT :Ping timeout\r\n"
    )
    assert events == [
        Join("#lobby", "dave"),
        Part("#lobby", "carol"),
        Quit("bob", "Ping timeout", ("#lobby",)),
    ]
    room = state.room("#lobby")
    assert room is not None and room.nicks() == ["alice", "dave"]


def test_quit_of_a_stranger_is_not_shown() -> None:
    state = registered()
    assert state.receive_data(b":zed!z@h QUIT :bye\r\n") == []


def test_nick_changes_follow_members_and_own_nick() -> None:
    state = registered()
    events = state.receive_data(b":bob!b@h NICK :robert\r\n:alice!u@h NICK alicia\r\n")
    assert events == [NickChange("bob", "robert"), NickChange("alice", "alicia", own=True)]
    assert state.nick == "alicia"
    room = state.room("#lobby")
    assert room is not None and room.display_names() == ("@robert", "alicia", "carol")


def test_kick_of_us_closes_the_room_and_stops_rejoining() -> None:
    state = registered(rooms=("#lobby", "#python"))
    events = state.receive_data(b":bob!b@h KICK #python alice :behave\r\n")
    assert events == [Kick("#python", "alice", "bob", "behave", own=True)]
    assert state.room("#python") is None
    assert state.windows == ["#lobby"]
    state.connection_lost("test")
    state.connection_made()
    state.data_to_send()
    state.receive_data(b":srv 001 alice :hi\r\n")
    assert lines(state.data_to_send()) == ["JOIN #lobby"]


def test_kick_of_someone_else() -> None:
    state = registered()
    events = state.receive_data(b":bob!b@h KICK #lobby carol\r\n")
    assert events == [Kick("#lobby", "carol", "bob")]
    room = state.room("#lobby")
    assert room is not None and "carol" not in room.nicks()


def test_mode_changes_follow_prefixes() -> None:
    state = registered()
    events = state.receive_data(b":bob!b@h MODE #lobby +ok-o carol key bob\r\n")
    assert events == [ModeChange("#lobby", "bob", "+ok-o carol key bob")]
    room = state.room("#lobby")
    assert room is not None and room.display_names() == ("@carol", "alice", "bob")


def test_topic_on_join_and_change() -> None:
    state = registered()
    assert state.receive_data(b":srv 332 alice #lobby :Welcome all\r\n") == [
        Topic("#lobby", "Welcome all")
    ]
    assert state.receive_data(b":bob!b@h TOPIC #lobby :New topic\r\n") == [
        Topic("#lobby", "New topic", "bob")
    ]
    room = state.room("#lobby")
    assert room is not None and room.topic == "New topic"


def test_join_refused_settles_the_pending_join() -> None:
    state = registered()
    state.handle_input("/join #secret")
    assert not state.ready
    events = state.receive_data(b":srv 475 alice #secret :Cannot join channel (+k)\r\n")
    assert events == [Error("#secret Cannot join channel (+k)", "475")]
    assert state.ready
    assert state.current == "#lobby"


def test_reconnect_rejoins_rooms_and_keeps_windows() -> None:
    state = registered(rooms=("#lobby", "#python"))
    state.handle_input("/window 2")
    state.connection_lost("reset")
    assert not state.connected and state.rooms == {}
    state.connection_made()
    state.data_to_send()
    state.receive_data(b":srv 001 alice :back\r\n")
    assert lines(state.data_to_send()) == ["JOIN #lobby,#python"]
    assert state.windows == ["#lobby", "#python"] and state.current == "#python"


# --- messages -----------------------------------------------------------------------------


def test_room_and_private_messages_and_mentions() -> None:
    state = registered()
    events = state.receive_data(
        b":bob!b@h PRIVMSG #lobby :hi alice!\r\n"
        b":bob!b@h PRIVMSG #lobby :malice is not a mention\r\n"
        b":carol!c@h PRIVMSG alice :psst\r\n"
    )
    assert events == [
        ChatMessage("#lobby", "bob", "hi alice!", mention=True),
        ChatMessage("#lobby", "bob", "malice is not a mention"),
        ChatMessage("carol", "carol", "psst", private=True),
    ]
    assert state.windows == ["#lobby", "carol"]


def test_mentions_ignore_case_and_need_word_boundaries() -> None:
    assert mentions("alice", "ALICE: look")
    assert mentions("[x]", "hey [x]!")
    assert not mentions("alice", "alice_bot")


def test_ctcp_action_and_version() -> None:
    state = registered()
    events = state.receive_data(b":bob!b@h PRIVMSG #lobby :\x01ACTION waves\x01\r\n")
    assert events == [Action("#lobby", "bob", "waves")]
    state.receive_data(b":bob!b@h PRIVMSG alice :\x01VERSION\x01\r\n")
    assert lines(state.data_to_send())[0].startswith("NOTICE bob :\x01VERSION chatkit ")


def test_notices_from_users_and_server() -> None:
    state = registered()
    events = state.receive_data(
        b":srv NOTICE * :*** Looking up your hostname\r\n:bob!b@h NOTICE #lobby :heads up\r\n"
    )
    assert events == [
        Notice(None, "srv", "*** Looking up your hostname"),
        Notice("#lobby", "bob", "heads up"),
    ]


def test_server_error_and_unknown_lines_are_shown() -> None:
    state = registered()
    events = state.receive_data(
        b"ERROR :Closing link\r\n:srv WALLOPS :hey\r\n:srv 999 alice :x\r\n"
    )
    assert events == [
        Error("Closing link"),
        ServerInfo("WALLOPS", ":srv WALLOPS hey"),
        ServerInfo("999", "x"),
    ]


def test_connection_closed_by_server() -> None:
    state = registered()
    events = state.receive_data(b"")
    assert [type(event).__name__ for event in events] == ["Status"]
    assert not state.connected and not state.registered


# --- robustness: whatever the server sends, the client shows something and never crashes --


SOURCES = ("", ":srv ", ":bob!b@h ", ":alice!u@h ")
PARAMS = ("", " :", " alice", " #lobby :x", " alice #lobby", " alice :\x01VERSION\x01", " * LS *")


@pytest.mark.parametrize("command", [*sorted(HANDLERS), "401", "464", "999", "WALLOPS"])
def test_any_command_with_missing_or_odd_parameters_is_survived(command: str) -> None:
    """Every handled command, from any source, with too few or odd parameters: no exception
    (an IndexError or an unsendable answer would end the connection task with a traceback)."""
    for source in SOURCES:
        for params in PARAMS:
            state = registered()
            line = f"{source}{command}{params}\r\n".encode()
            for event in state.receive_data(line):
                assert render(event, own_nick=state.nick, current=state.current) is not None or (
                    isinstance(event, ServerInfo) and not event.text
                )
            state.data_to_send()


def test_ctcp_query_without_a_sender_is_not_answered() -> None:
    state = registered()
    assert state.receive_data(b"PRIVMSG alice :\x01VERSION\x01\r\n") == []
    assert state.data_to_send() == b""


def test_error_numeric_without_text() -> None:
    state = ClientState("alice")
    state.connection_made()
    assert state.receive_data(b":srv 464\r\n") == [Error("", "464")]
    assert state.fatal is not None and state.fatal.startswith("Registration refused")


def test_wrong_password_without_one_given_says_how_to_give_it() -> None:
    state = ClientState("alice")
    state.connection_made()
    state.receive_data(b":srv 464 alice :Password incorrect\r\n")
    assert state.fatal == (
        "Password incorrect (this server wants a password: chatkit join --password ...)"
    )


def test_pong_to_a_typed_ping_is_shown_and_ours_are_not() -> None:
    state = registered()
    state.handle_input("/raw PING hello")
    assert state.receive_data(b":srv PONG srv :hello\r\n") == [
        ServerInfo("PONG", "PONG from srv: hello")
    ]
    token = state.send_ping()
    assert state.receive_data(f":srv PONG srv :{token}\r\n".encode()) == []
    assert token in state.pongs
    # A token that merely looks like ours, but was never sent, is the user's too.
    assert state.receive_data(b":srv PONG srv :chatkit-99\r\n") == [
        ServerInfo("PONG", "PONG from srv: chatkit-99")
    ]
