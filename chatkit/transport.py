"""The contract between the sans-I/O core and a backend.

The core never touches a socket. A backend creates one :class:`Transport` per connection and
drives the core with these calls (see :class:`chatkit.core.ChatCore`)::

    session = core.connect(transport, peer_address)
    core.receive(session, data, now)      # bytes as read; b"" means the peer closed
    core.disconnect(session, reason)      # the socket died or the backend dropped it
    core.tick(now)                        # ping timeouts, delayed (flooded) lines
    core.shutdown()                       # the server stops: every client gets ERROR

The core answers only through the transport, in the style of asyncio's Protocol/Transport and
h11's "bring your own I/O".
"""

from __future__ import annotations

from typing import Protocol


# --8<-- [start:transport]
class Transport(Protocol):
    """What the core needs from a backend's connection. Implemented once per backend."""

    def send(self, data: bytes) -> None:
        """Queue ``data`` for the peer. Must never block.

        The backend enforces the send queue limit (``ServerConfig.sendq``): when the queued
        output would pass it, the backend tells the core via ``core.disconnect(session,
        "SendQ exceeded")`` and closes the connection; the other clients never wait.
        """
        ...

    def close(self, reason: str) -> None:
        """Flush what is queued, then close the connection. Safe to call more than once."""
        ...


# --8<-- [end:transport]
