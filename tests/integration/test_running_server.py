"""The backend registry and ``running_server``, which other tests, lessons and tools rely on."""

from __future__ import annotations

import socket

import pytest

from backends import running_server
from backends.base import Server
from chatkit.config import ServerConfig
from chatkit.registry import UnknownBackendError, available_backends, load_backend

pytestmark = pytest.mark.timeout(20)


def test_the_three_builtin_backends_are_registered() -> None:
    assert available_backends()[:3] == ["threading", "selectors", "asyncio"]
    for name in available_backends():
        server_class = load_backend(name)
        assert issubclass(server_class, Server)
        assert server_class.name == name


def test_unknown_backend_names_the_available_ones() -> None:
    with pytest.raises(UnknownBackendError, match="threading, selectors, asyncio"):
        load_backend("carrier-pigeon")


def test_running_server_reraises_a_bind_error(backend: str) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        config = ServerConfig(host="127.0.0.1", port=busy.getsockname()[1])
        with pytest.raises(OSError), running_server(backend, config):
            pass


def test_running_server_yields_a_listening_address_and_stops(backend: str) -> None:
    with running_server(backend, ServerConfig(host="127.0.0.1", port=0)) as (host, port):
        assert host == "127.0.0.1" and port > 0
        socket.create_connection((host, port), timeout=5).close()
    with pytest.raises(OSError):
        socket.create_connection((host, port), timeout=5)
