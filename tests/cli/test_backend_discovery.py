"""Backend discovery: the ``chatkit.backends`` entry points, and the fallback that lets a plain
checkout (nothing installed, no package metadata) find the three built-in backends."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chatkit import registry
from chatkit.cli import app
from chatkit.registry import (
    BUILTIN_BACKENDS,
    ENTRY_POINT_GROUP,
    BackendLoadError,
    available_backends,
    load_backend,
)

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


def fake_entry_points(*pairs: tuple[str, str]) -> object:
    """A stand-in for ``importlib.metadata.entry_points`` that knows only ``pairs``."""

    def entry_points(*, group: str) -> list[EntryPoint]:
        assert group == ENTRY_POINT_GROUP
        return [EntryPoint(name, value, group) for name, value in pairs]

    return entry_points


def serve(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["serve", *args], prog_name="chatkit", env={"COLUMNS": "200"})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_a_package_adds_a_backend_through_an_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    entry_points = fake_entry_points(("instant", "instant_backend:InstantServer"))
    monkeypatch.setattr(registry, "entry_points", entry_points)
    assert available_backends() == ["threading", "selectors", "asyncio", "instant"]
    assert load_backend("instant").__name__ == "InstantServer"
    code, output = serve("--backend", "instant")
    assert code == 0, output
    assert "listening on 127.0.0.1:6667 (instant backend)" in output


def test_a_builtin_name_cannot_be_taken_over(monkeypatch: pytest.MonkeyPatch) -> None:
    entry_points = fake_entry_points(("asyncio", "instant_backend:InstantServer"))
    monkeypatch.setattr(registry, "entry_points", entry_points)
    assert load_backend("asyncio").__name__ == "AsyncioServer"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("no_such_module_here:Server", "cannot be loaded"),
        ("instant_backend:Missing", "cannot be loaded"),
        ("instant_backend:NotAServer", "is not a backends.base.Server"),
    ],
)
def test_a_broken_backend_package_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, value: str, problem: str
) -> None:
    monkeypatch.setattr(registry, "entry_points", fake_entry_points(("broken", value)))
    with pytest.raises(BackendLoadError, match=problem):
        load_backend("broken")
    code, output = serve("--backend", "broken")
    assert code == 1
    assert problem in output and "Traceback" not in output


def test_without_entry_points_the_builtins_are_still_found(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(registry, "entry_points", fake_entry_points())
    assert available_backends() == ["threading", "selectors", "asyncio"]
    for name in available_backends():
        assert load_backend(name).name == name


def test_the_installed_package_registers_the_builtins_the_same_way() -> None:
    from importlib.metadata import entry_points

    installed = {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}
    if not installed:
        pytest.skip("chatkit is not installed (plain checkout): no entry points to compare")
    assert {name: installed[name] for name in BUILTIN_BACKENDS} == BUILTIN_BACKENDS


@pytest.mark.timeout(30)
def test_a_plain_checkout_finds_and_runs_the_builtins(tmp_path: Path) -> None:
    # -S: no site-packages, so no installed metadata at all; only the source tree is on the
    # path. The core and the backends use the standard library only.
    script = """
import socket
from importlib.metadata import entry_points
from backends import running_server
from chatkit.config import ServerConfig
from chatkit.registry import available_backends
assert not list(entry_points(group="chatkit.backends")), "metadata found"
print(" ".join(available_backends()))
for name in available_backends():
    with running_server(name, ServerConfig(port=0)) as address:
        with socket.create_connection(address, timeout=5) as sock:
            sock.sendall(b"NICK plain\\r\\nUSER plain 0 * :Plain\\r\\n")
            data = b""
            while b"\\r\\n" not in data and (chunk := sock.recv(4096)):
                data += chunk
            assert b" 001 plain " in data, data
print("served")
"""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-S", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=25,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["threading selectors asyncio", "served"]
