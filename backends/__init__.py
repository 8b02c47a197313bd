"""Server backends: one module per concurrency model, each driving the same sans-I/O core.

``running_server`` starts one in a background thread, for tests, lessons and tools::

    with running_server("selectors", ServerConfig(port=0)) as (host, port):
        ...  # connect to (host, port)
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from chatkit.config import ServerConfig

__all__ = ["running_server"]

#: Seconds to wait for the server to start listening, and later to stop.
START_TIMEOUT = 5.0
STOP_TIMEOUT = 5.0


@contextmanager
def running_server(name: str, config: ServerConfig) -> Iterator[tuple[str, int]]:
    """Run backend ``name`` with ``config`` in a thread; yield the ``(host, port)`` it bound.

    Waits for the server's ready callback (never sleeps and hopes), re-raises whatever stopped
    it from starting (e.g. the port is in use), and on exit shuts it down and raises
    ``RuntimeError`` if it did not stop within ``STOP_TIMEOUT`` seconds.
    """
    from chatkit.registry import load_backend

    server = load_backend(name)(config)
    ready = threading.Event()
    address: list[tuple[str, int]] = []
    failure: list[BaseException] = []

    def on_ready(bound: tuple[str, int]) -> None:
        address.append(bound)
        ready.set()

    def run() -> None:
        try:
            server.serve(on_ready)
        except BaseException as exc:  # handed to the caller's thread below
            failure.append(exc)
        finally:
            ready.set()

    thread = threading.Thread(target=run, name=f"chatkit {name} server", daemon=True)
    thread.start()
    if not ready.wait(START_TIMEOUT):
        server.shutdown()
        raise RuntimeError(f"the {name} server did not start within {START_TIMEOUT} s")
    if failure:
        thread.join(STOP_TIMEOUT)
        raise failure[0]
    if not address:
        raise RuntimeError(f"the {name} server stopped before it was ready")
    try:
        yield address[0]
    finally:
        server.shutdown()
        thread.join(STOP_TIMEOUT)
        if thread.is_alive():
            raise RuntimeError(f"the {name} server did not stop within {STOP_TIMEOUT} s")
        if failure:
            raise failure[0]
