"""``chatkit serve`` from the command line: help, the banner, environment variables, and every
startup error as a clear message with exit code 1 (2 for values Typer itself rejects)."""

from __future__ import annotations

import io
import logging
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from rich.console import Console
from typer.testing import CliRunner

from backends import running_server
from chatkit import serve_cli
from chatkit.cli import app
from chatkit.config import ConfigError, ServerConfig
from chatkit.serve_cli import MOTD_LINE_BYTES, ServeError, configure_logging, read_motd

runner = CliRunner()


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    environment = {"COLUMNS": "200", **(env or {})}
    result = runner.invoke(app, ["serve", *args], prog_name="chatkit", env=environment)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port on 127.0.0.1 that something is already listening on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_help_lists_the_options_and_backends() -> None:
    code, output = invoke("--help")
    assert code == 0
    for word in ("--backend", "threading", "selectors", "asyncio", "--sendq", "--no-flood"):
        assert word in output
    assert "130" in output  # the second Ctrl-C's exit code is documented


# --- the banner -------------------------------------------------------------------------------


class InstantServer:
    """Stands in for a backend: reports ready, then returns (as if stopped at once)."""

    name = "asyncio"
    seen: ClassVar[list[ServerConfig]] = []

    def __init__(self, config: ServerConfig) -> None:
        self.seen.append(config)

    def serve(self, on_ready: object) -> None:
        assert callable(on_ready)
        on_ready(("127.0.0.1", 6667))


@pytest.fixture
def instant(monkeypatch: pytest.MonkeyPatch) -> list[ServerConfig]:
    """Make ``chatkit serve`` use :class:`InstantServer`; returns the configs it was given."""
    InstantServer.seen = []
    monkeypatch.setattr(serve_cli, "load_backend", lambda name: InstantServer)
    return InstantServer.seen


def test_banner_is_one_line_with_address_backend_and_how_to_join(
    instant: list[ServerConfig],
) -> None:
    code, output = invoke()
    assert code == 0, output
    banner = output.splitlines()[0]
    assert banner.startswith("chatkit: listening on 127.0.0.1:6667 (asyncio backend)")
    assert "join 127.0.0.1 --port 6667" in banner
    assert "Ctrl-C" in banner


def test_the_join_command_in_the_banner_really_joins(monkeypatch: pytest.MonkeyPatch) -> None:
    # The banner's command must be one ``chatkit join`` accepts: HOST, then --port.
    monkeypatch.setattr(serve_cli.sys, "argv", ["/somewhere/not/on/path/chatkit"])
    assert serve_cli.program_name() == "/somewhere/not/on/path/chatkit"
    result = runner.invoke(app, ["join", "--help"], prog_name="chatkit")
    assert result.exit_code == 0 and "--port" in result.output and "HOST" in result.output


def test_options_and_environment_variables_reach_the_config(
    instant: list[ServerConfig], tmp_path: Path
) -> None:
    motd = tmp_path / "motd.txt"
    motd.write_text("Hello there\nSecond line\n", encoding="utf-8")
    code, output = invoke(
        "--server-name",
        "irc.example.org",
        "--password",
        "sesame",
        "--max-clients",
        "7",
        "--sendq",
        "4096",
        "--no-flood",
        "--ping-interval",
        "30",
        "--motd",
        str(motd),
    )
    assert code == 0, output
    config = instant[-1]
    assert (config.server_name, config.password, config.max_clients) == (
        "irc.example.org",
        "sesame",
        7,
    )
    assert (config.sendq, config.flood_control, config.ping_interval) == (4096, False, 30.0)
    assert config.motd == ("Hello there", "Second line")

    environment = {
        "CHATKIT_HOST": "localhost",
        "CHATKIT_PORT": "7000",
        "CHATKIT_SERVER_NAME": "env.example.org",
        "CHATKIT_MAX_CLIENTS": "9",
        "CHATKIT_FLOOD": "false",
        "CHATKIT_MOTD": str(motd),
    }
    code, output = invoke(env=environment)
    assert code == 0, output
    config = instant[-1]
    assert (config.host, config.port, config.server_name) == ("localhost", 7000, "env.example.org")
    assert (config.max_clients, config.flood_control) == (9, False)
    assert config.motd == ("Hello there", "Second line")


# --- errors: exit code 1, a clear message, never a traceback ----------------------------------


def assert_clear_error(code: int, output: str, *words: str) -> None:
    assert code == 1, output
    assert output.startswith("Error: "), output
    assert "Traceback" not in output
    for word in words:
        assert word in output, output


def test_unknown_backend_lists_the_available_ones() -> None:
    code, output = invoke("--backend", "carrier-pigeon")
    assert_clear_error(code, output, "carrier-pigeon", "threading, selectors, asyncio")


def test_unknown_backend_from_the_environment() -> None:
    code, output = invoke(env={"CHATKIT_BACKEND": "carrier-pigeon"})
    assert_clear_error(code, output, "carrier-pigeon", "threading, selectors, asyncio")


@pytest.mark.parametrize("backend", ["threading", "selectors", "asyncio"])
def test_port_in_use_is_a_clear_error(busy_port: int, backend: str) -> None:
    code, output = invoke("--port", str(busy_port), "--backend", backend)
    assert_clear_error(code, output, "already in use", str(busy_port))


def test_port_in_use_from_the_environment(busy_port: int) -> None:
    code, output = invoke(env={"CHATKIT_PORT": str(busy_port)})
    assert_clear_error(code, output, "already in use")


@pytest.mark.parametrize("backend", ["threading", "selectors", "asyncio"])
def test_unknown_host_is_a_clear_error(backend: str) -> None:
    code, output = invoke("--host", "no-such-host.invalid", "--port", "0", "--backend", backend)
    assert_clear_error(code, output, "unknown host", "no-such-host.invalid")


def test_host_that_is_not_ours_is_a_clear_error() -> None:
    # TEST-NET-1 (RFC 5737): a valid address that no interface of this machine has.
    code, output = invoke("--host", "192.0.2.1", "--port", "0")
    assert_clear_error(code, output, "cannot listen on 192.0.2.1")


def test_missing_motd_file(tmp_path: Path) -> None:
    code, output = invoke("--motd", str(tmp_path / "missing.txt"))
    assert_clear_error(code, output, "MOTD", "missing.txt", "No such file")


def test_motd_path_that_is_a_directory(tmp_path: Path) -> None:
    code, output = invoke("--motd", str(tmp_path))
    assert_clear_error(code, output, "MOTD", "is a directory")


def test_motd_file_that_is_not_utf8(tmp_path: Path) -> None:
    motd = tmp_path / "latin1.txt"
    motd.write_bytes("Caf\u00e9 ouvert\n".encode("latin-1"))
    code, output = invoke("--motd", str(motd))
    assert_clear_error(code, output, "MOTD", "not UTF-8", "0xe9", "offset 3")


def test_motd_file_that_is_binary(tmp_path: Path) -> None:
    motd = tmp_path / "program"
    motd.write_bytes(b"ELF\0\0\0binary")
    code, output = invoke("--motd", str(motd))
    assert_clear_error(code, output, "MOTD", "NUL")


def test_motd_file_that_is_huge(tmp_path: Path) -> None:
    motd = tmp_path / "huge.txt"
    motd.write_text(("x" * 100 + "\n") * 1000, encoding="utf-8")
    code, output = invoke("--motd", str(motd))
    assert_clear_error(code, output, "MOTD", "KiB")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--server-name", "my server"], ["server name", "my server"]),
        (["--server-name", "nodot"], ["server name", "dot"]),
        (["--password", ""], ["password"]),
    ],
)
def test_bad_values_caught_by_the_config(args: list[str], words: list[str]) -> None:
    code, output = invoke("--port", "0", *args)
    assert_clear_error(code, output, *words)


@pytest.mark.parametrize(
    "args",
    [
        ["--port", "70000"],
        ["--port", "http"],
        ["--max-clients", "0"],
        ["--sendq", "10"],
        ["--ping-interval", "nan"],
        ["--log-level", "loud"],
    ],
)
def test_bad_values_caught_by_the_option_parser(args: list[str]) -> None:
    # Typer/Click reject these before chatkit runs: the usual usage-error exit code, 2.
    code, output = invoke(*args)
    assert code == 2, output
    assert "Invalid value" in output and args[0] in output
    assert "Traceback" not in output


# --- the same rules without the CLI -----------------------------------------------------------


def test_read_motd_wraps_lines_too_long_for_one_irc_line(tmp_path: Path) -> None:
    motd = tmp_path / "motd.txt"
    motd.write_text("\ufeffshort\n" + "\u00e9 " * 600 + "\n\nlast\n", encoding="utf-8")
    lines = read_motd(motd)
    assert lines[0] == "short" and lines[-2:] == ("", "last")
    assert len(lines) > 4
    assert all(len(line.encode()) <= MOTD_LINE_BYTES for line in lines)


def test_read_motd_errors_are_serve_errors(tmp_path: Path) -> None:
    with pytest.raises(ServeError, match="missing"):
        read_motd(tmp_path / "missing")


@pytest.mark.parametrize(
    "values",
    [
        {"port": 70000},
        {"server_name": ""},
        {"server_name": "a b.c"},
        {"server_name": ":x.y"},
        {"server_name": "nick!user@host.x"},
        {"server_name": "a" * 60 + ".org"},
        {"network": "two words"},
        {"password": ""},
        {"password": "a\r\nQUIT"},
        {"motd": ("ok", "bad\nline")},
        {"max_clients": 0},
        {"sendq": 100},
        {"ping_interval": 0},
        {"ping_timeout": float("nan")},
        {"flood_rate": -1.0},
        {"flood_burst": 0},
    ],
)
def test_server_config_refuses_settings_that_cannot_work(values: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        ServerConfig(**values)  # type: ignore[arg-type]


def test_server_config_defaults_are_valid() -> None:
    ServerConfig()
    ServerConfig(server_name="irc.example.org", password="open sesame", port=0)


# --- log lines --------------------------------------------------------------------------------


@pytest.mark.timeout(20)
@pytest.mark.parametrize("backend", ["threading", "selectors", "asyncio"])
def test_connects_and_disconnects_are_logged(backend: str) -> None:
    def run_one_client(level: str) -> str:
        output = io.StringIO()
        logger = logging.getLogger("chatkit")
        saved = (logger.handlers[:], logger.level, logger.propagate)
        configure_logging(level, Console(file=output, width=120))
        config = ServerConfig(host="127.0.0.1", port=0)
        try:
            with (
                running_server(backend, config) as address,
                socket.create_connection(address, timeout=5) as sock,
            ):
                sock.sendall(b"NICK logged\r\nUSER logged 0 * :Logged\r\nQUIT :bye\r\n")
                while sock.recv(4096):  # until the server closes
                    pass
        finally:
            logger.handlers[:], logger.propagate = saved[0], saved[2]
            logger.setLevel(saved[1])  # setLevel also clears the loggers' level caches
        return output.getvalue()

    logged = run_one_client("info")
    assert re.search(r"INFO +127\.0\.0\.1:\d+ connected", logged), logged
    assert re.search(r"INFO +127\.0\.0\.1:\d+ disconnected \(Quit: bye\)", logged), logged
    assert run_one_client("warning") == ""
