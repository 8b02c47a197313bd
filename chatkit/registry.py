"""Find server backends by name.

Backends register under the ``chatkit.backends`` entry-point group, so a third-party package
can add one without touching chatkit::

    [project.entry-points."chatkit.backends"]
    threading = "backends.threaded:ThreadedServer"

The built-in three are also listed here, so a plain checkout (not installed) still finds them.
Modules are imported only when a backend is loaded: ``chatkit --help`` stays fast and a broken
third-party backend only breaks itself.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from backends.base import Server

__all__ = [
    "ENTRY_POINT_GROUP",
    "BackendError",
    "BackendLoadError",
    "UnknownBackendError",
    "available_backends",
    "load_backend",
]

ENTRY_POINT_GROUP = "chatkit.backends"

# --8<-- [start:registered]
#: The built-in backends, in the order the lessons introduce them.
BUILTIN_BACKENDS: dict[str, str] = {
    "threading": "backends.threaded:ThreadedServer",
    "selectors": "backends.selector_loop:SelectorServer",
    "asyncio": "backends.asyncio_server:AsyncioServer",
}


class BackendError(LookupError):
    """A backend cannot be had: the name is unknown, or what it names cannot be loaded."""


class UnknownBackendError(BackendError):
    """No backend is registered under the requested name."""

    def __init__(self, name: str, available: list[str]) -> None:
        self.name = name
        self.available = available
        super().__init__(f"unknown backend {name!r}; available: {', '.join(available)}")


class BackendLoadError(BackendError):
    """A backend is registered, but importing it failed or it is not a ``Server``."""


def _registered() -> dict[str, str]:
    """Name -> ``module:attribute`` for every backend: built-ins first, then entry points."""
    found = dict(BUILTIN_BACKENDS)
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(entry_point.name, entry_point.value)
    return found


# --8<-- [end:registered]


def available_backends() -> list[str]:
    """Names accepted by :func:`load_backend` (and ``chatkit serve --backend``)."""
    return list(_registered())


def load_backend(name: str) -> type[Server]:
    """Import and return the server class registered as ``name``.

    Raises :class:`UnknownBackendError` (listing the available names) for an unknown name,
    and :class:`BackendLoadError` when a registered backend (say, a broken third-party
    package) cannot be imported or is not a ``Server``.
    """
    from backends.base import Server

    registered = _registered()
    target = registered.get(name)
    if target is None:
        raise UnknownBackendError(name, list(registered))
    module_name, _, attribute = target.partition(":")
    try:
        server_class = getattr(importlib.import_module(module_name), attribute)
    except Exception as exc:  # whatever a broken package raises, it only breaks itself
        raise BackendLoadError(f"backend {name!r} ({target}) cannot be loaded: {exc}") from exc
    if not (isinstance(server_class, type) and issubclass(server_class, Server)):
        raise BackendLoadError(f"backend {name!r} ({target}) is not a backends.base.Server")
    return server_class
