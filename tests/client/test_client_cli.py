"""``chatkit join`` through Typer's CliRunner: options, clear errors, exit codes."""

from __future__ import annotations

import pytest
from client_helpers import free_port
from typer.testing import CliRunner

from chatkit.cli import app
from chatkit.client.options import default_nick, valid_nick

runner = CliRunner()


def test_help_lists_the_options() -> None:
    result = runner.invoke(app, ["join", "--help"], prog_name="chatkit")
    assert result.exit_code == 0
    for option in ("--port", "--nick", "--room", "--password", "--debug", "--plain"):
        assert option in result.output


def test_invalid_nick_is_refused_before_connecting() -> None:
    result = runner.invoke(app, ["join", "--nick", "9lives"], prog_name="chatkit")
    assert result.exit_code == 1
    assert "'9lives' is not a valid nick" in result.output


@pytest.mark.timeout(10)
def test_no_server_and_no_reconnect_is_exit_1_with_a_hint() -> None:
    port = free_port()
    args = ["join", "--port", str(port), "--nick", "bob", "--no-reconnect"]
    result = runner.invoke(app, args, input="hi\n", prog_name="chatkit")
    assert result.exit_code == 1
    # On stderr, so a script that saves the chat to a file still shows why it failed.
    assert f"Cannot connect to 127.0.0.1:{port}: connection refused" in result.stderr
    assert "start one with: chatkit serve" in result.stderr
    assert result.stdout == f"-*- Connecting to 127.0.0.1:{port} ...\n"


@pytest.mark.timeout(20)
@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--frobnicate"], 2, "No such option: --frobnicate"),
        (["--port", "99999"], 2, "Invalid value for '--port'"),
        (["--port", "six"], 2, "Invalid value for '--port'"),
        (["--attempts", "0"], 2, "Invalid value for '--attempts'"),
        (["one", "two"], 2, "unexpected extra argument"),
        (["--room", ""], 2, "--room needs a room name without spaces"),
        (["--room", "a b"], 2, "--room needs a room name without spaces"),
        (["--nick", "9lives"], 1, "'9lives' is not a valid nick"),
        (["nosuchhost.invalid", "--no-reconnect"], 1, "Cannot connect to nosuchhost.invalid"),
        (["--host", "::1", "--port", "1", "--no-reconnect"], 1, "Cannot connect to [::1]:1"),
    ],
)
def test_bad_input_is_a_clear_message_and_a_nonzero_exit(
    args: list[str], code: int, message: str
) -> None:
    result = runner.invoke(app, ["join", "--nick", "bob", *args], input="", prog_name="chatkit")
    assert result.exit_code == code, result.output
    assert message in " ".join(result.output.replace("│", " ").split())
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output


@pytest.mark.timeout(20)
def test_piped_lines_go_to_the_room_with_debug(chat_server: tuple[str, int]) -> None:
    host, port = chat_server
    args = ["join", "--host", host, "--port", str(port), "--nick", "bot", "--room", "bots"]
    args.append("--debug")
    result = runner.invoke(app, args, input="beep\n", prog_name="chatkit")
    assert result.exit_code == 0, result.output
    assert "-> JOIN #bots" in result.output
    assert "-> PRIVMSG #bots beep" in result.output
    assert "[#bots] <bot> beep" in result.output
    assert "-> QUIT :End of input" in result.output


@pytest.mark.parametrize(
    ("login", "nick"),
    [("alice", "alice"), ("Jane Doe", "JaneDoe"), ("1337", "u1337"), ("", "guest"), ("é", "guest")],
)
def test_default_nick_from_the_login_name(login: str, nick: str) -> None:
    assert default_nick(login) == nick
    assert valid_nick(nick)
