"""Fixtures for the client tests that need a real server: one per available backend."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import pytest

from backends import running_server
from chatkit.config import ServerConfig
from chatkit.registry import available_backends

#: Starts a server of the test's backend on a port (0: any free one); yields (host, port).
ServerFactory = Callable[[int], AbstractContextManager[tuple[str, int]]]


@pytest.fixture(params=available_backends())
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def start_server(backend: str) -> ServerFactory:
    """A factory, so a test can stop a server and start a new one on the same port."""

    def start(port: int = 0) -> AbstractContextManager[tuple[str, int]]:
        return running_server(backend, ServerConfig(host="127.0.0.1", port=port))

    return start


@pytest.fixture
def chat_server(start_server: ServerFactory) -> Iterator[tuple[str, int]]:
    with start_server(0) as address:
        yield address
