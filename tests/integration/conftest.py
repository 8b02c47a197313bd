"""Fixtures for the integration suite: every test runs against every registered backend.

``server`` starts the backend in a thread on 127.0.0.1:0 with :func:`backends.running_server`,
which waits for the server's ready callback (no sleeping) and fails the test if the server does
not stop afterwards. ``connect`` makes :class:`IRCClient` connections and closes them at the
end of the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from ircclient import IRCClient

from backends import running_server
from chatkit.config import ServerConfig
from chatkit.registry import available_backends

Address = tuple[str, int]


@pytest.fixture(params=available_backends())
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def server_config() -> ServerConfig:
    """The configuration ``server`` runs with; override it in a module for other limits."""
    return ServerConfig(host="127.0.0.1", port=0)


@pytest.fixture
def server(backend: str, server_config: ServerConfig) -> Iterator[Address]:
    with running_server(backend, server_config) as address:
        yield address


@pytest.fixture
def connect(server: Address) -> Iterator[Callable[..., IRCClient]]:
    """``connect("alice")`` -> a connected (not yet registered) client; all closed at the end."""
    clients: list[IRCClient] = []

    def make(nick: str = "", **options: int) -> IRCClient:
        client = IRCClient(server, nick, **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
