"""``chatkit serve`` from the command line: help, and every startup error as a clean exit 1."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chatkit.cli import app

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["serve", *args], prog_name="chatkit", env={"COLUMNS": "200"})
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


def test_unknown_backend_lists_the_available_ones() -> None:
    code, output = invoke("--backend", "carrier-pigeon")
    assert code != 0
    assert "carrier-pigeon" in output
    assert "threading" in output and "asyncio" in output


def test_port_in_use_is_a_clear_error(busy_port: int) -> None:
    code, output = invoke("--port", str(busy_port), "--backend", "selectors")
    assert code == 1
    assert "already in use" in output
    assert "Traceback" not in output


def test_unknown_host_is_a_clear_error() -> None:
    code, output = invoke("--host", "no-such-host.invalid", "--port", "0")
    assert code == 1
    assert "unknown host" in output


def test_unreadable_motd_file_is_a_clear_error(tmp_path: Path) -> None:
    code, output = invoke("--motd", str(tmp_path / "missing.txt"))
    assert code == 1
    assert "MOTD" in output and "missing.txt" in output
