"""Backends for the discovery tests, registered through fake ``chatkit.backends`` entry points.

``InstantServer`` is what a third-party package could ship: a ``Server`` subclass. It reports
ready on a made-up address and returns at once, so ``chatkit serve`` prints its banner and exits.
"""

from __future__ import annotations

from typing import ClassVar

from backends.base import ReadyCallback, Server


class InstantServer(Server):
    name: ClassVar[str] = "instant"

    def serve(self, on_ready: ReadyCallback | None = None) -> None:
        if on_ready is not None:
            on_ready(("127.0.0.1", 6667))

    def shutdown(self) -> None:
        pass


class NotAServer:
    """Registered by mistake: not a ``Server`` at all."""
