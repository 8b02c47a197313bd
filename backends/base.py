"""What every backend shares: the ``Server`` interface and the few socket chores that do not
depend on the concurrency model.

A backend answers one question: *how do we wait for many sockets at once?* Everything else (the
chat rules) lives in :class:`chatkit.core.ChatCore`, which never touches a socket. The three
backends use the same internal method names so that ``diff`` between two of them shows only
the answer to that question:

``_accept``    take a new connection and introduce it to the core (``core.connect``)
``_read``      read what a socket has and feed it to the core (``core.receive``)
``_flush``     write a connection's queued output, coalesced into as few sends as possible
``_drop``      the backend gives up on a connection: ``core.disconnect``, then close it
``_tick``      every ``TICK_INTERVAL``: ``core.tick`` (pings, flood) and overdue closes

Network errors are translated once, here at the edge (:func:`describe_error`), into a plain
reason such as ``"Connection reset by peer"`` that the core can show in a QUIT message.
"""

from __future__ import annotations

import logging
import socket
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import ClassVar, Protocol

from chatkit.config import ServerConfig
from chatkit.core import TICK_INTERVAL, ChatCore
from chatkit.session import Session

__all__ = [
    "FLUSH_TIMEOUT",
    "READ_SIZE",
    "SENDQ_EXCEEDED",
    "TICK_INTERVAL",
    "BackendConnection",
    "ReadyCallback",
    "Server",
    "bound_address",
    "describe_error",
    "error_line",
    "open_listener",
    "peer_name",
    "raise_fd_limit",
]

log = logging.getLogger("chatkit.server")

#: Called once the server is accepting connections, with the address it actually bound
#: (tests bind port 0 and learn the real port this way).
ReadyCallback = Callable[[tuple[str, int]], None]

#: Seconds a closing connection gets to take its last bytes (ERROR, a QUIT reply) before we
#: close it anyway. A client that never reads must not keep the server (or its shutdown) waiting.
FLUSH_TIMEOUT = 1.0
#: Bytes asked of ``recv`` at once. Small enough to keep per-client memory low, large enough
#: that a registration burst or a pasted paragraph arrives in one read.
READ_SIZE = 16 * 1024
#: The reason given to the core, and in the ERROR line, for a client that stopped reading.
SENDQ_EXCEEDED = "SendQ exceeded"


class BackendConnection(Protocol):
    """What :meth:`Server._drop_overflowed` needs from each backend's connection class."""

    session: Session | None

    def finish(self, reason: str, last_words: bytes = b"") -> None:
        """Stop accepting output; flush what is queued plus ``last_words``, then close."""
        ...


# --8<-- [start:server]
class Server(ABC):
    """One concurrency model driving a :class:`ChatCore`.

    ``serve`` blocks until ``shutdown`` is called (from another thread or a signal handler),
    then says goodbye to every client (``core.shutdown``), flushes for at most
    ``FLUSH_TIMEOUT`` seconds and returns. It raises ``OSError`` if it cannot listen.
    """

    #: The name used by ``chatkit serve --backend`` and the ``chatkit.backends`` entry points.
    name: ClassVar[str]

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.core = ChatCore(config)
        #: Connections whose send queue overflowed during the current core call. Their
        #: transport may not call back into the core, so ``_drop_overflowed`` drops them as
        #: soon as that call returns.
        self._overflowed: list[BackendConnection] = []

    @abstractmethod
    def serve(self, on_ready: ReadyCallback | None = None) -> None:
        """Listen, call ``on_ready(address)``, and run until :meth:`shutdown`."""

    @abstractmethod
    def shutdown(self) -> None:
        """Ask ``serve`` to stop. Safe from another thread or a signal handler; idempotent."""

    def _drop_overflowed(self) -> None:
        """Drop the clients whose outbox overflowed during the core call that just returned:
        the core forgets them (the others see a QUIT), they get a best-effort ERROR line."""
        while self._overflowed:
            conn = self._overflowed.pop()
            assert conn.session is not None
            self.core.disconnect(conn.session, SENDQ_EXCEEDED)
            conn.finish(SENDQ_EXCEEDED, error_line(SENDQ_EXCEEDED))


# --8<-- [end:server]


def open_listener(config: ServerConfig) -> socket.socket:
    """Create the listening socket for ``config.host``/``config.port``.

    ``SO_REUSEADDR`` lets a restarted server bind again while old connections sit in
    TIME_WAIT; the backlog is the system's maximum so a burst of connects is queued, not
    refused. Raises ``OSError`` (address in use, unknown host ...) for the caller to report.
    """
    infos = socket.getaddrinfo(
        config.host, config.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )
    family, kind, proto, _, address = infos[0]
    listener = socket.socket(family, kind, proto)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(socket.SOMAXCONN)
    except OSError:
        listener.close()
        raise
    return listener


def bound_address(listener: socket.socket) -> tuple[str, int]:
    """The ``(host, port)`` a listener really bound (the port is chosen by the OS for port 0)."""
    host, port = listener.getsockname()[:2]
    return str(host), int(port)


def peer_name(address: object) -> str:
    """``("127.0.0.1", 50312)`` -> ``"127.0.0.1:50312"``, the form the core and the logs use."""
    if isinstance(address, tuple) and len(address) >= 2:
        host = str(address[0])
        return f"[{host}]:{address[1]}" if ":" in host else f"{host}:{address[1]}"
    return str(address)


def describe_error(exc: BaseException) -> str:
    """Turn a network exception into the short reason a user would recognise."""
    if isinstance(exc, ConnectionResetError):
        return "Connection reset by peer"
    if isinstance(exc, BrokenPipeError):
        return "Broken pipe"
    if isinstance(exc, TimeoutError):
        return "Connection timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__


def error_line(reason: str) -> bytes:
    """The ``ERROR`` line a backend sends when it drops a client itself (e.g. SendQ exceeded)."""
    return f"ERROR :{reason}\r\n".encode()


def raise_fd_limit() -> int:
    """Raise this process's open-file limit to the hard limit; return the new soft limit.

    Every client is one file descriptor. The usual soft limit (1024) would cap a server at
    about a thousand clients; the hard limit is what an unprivileged process may ask for.
    """
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows has no RLIMIT_NOFILE
        return -1
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError) as exc:
            log.debug("could not raise RLIMIT_NOFILE: %s", exc)
    return soft
