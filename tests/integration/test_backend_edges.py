"""Edge cases inside one backend that real sockets only hit by chance (a race), made certain
here with a stand-in transport. The races themselves are exercised in ``test_shutdown.py``."""

from __future__ import annotations

import errno

from backends.asyncio_server import AsyncioServer, Connection
from chatkit.config import ServerConfig


class ResetTransport:
    """An ``asyncio.Transport`` whose peer has already reset: the FIN fails with ENOTCONN."""

    def __init__(self) -> None:
        self.written = b""
        self.aborted = False

    def is_closing(self) -> bool:
        return self.aborted

    def write(self, data: bytes) -> None:
        self.written += data

    def get_write_buffer_size(self) -> int:
        return 0

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        raise OSError(errno.ENOTCONN, "Transport endpoint is not connected")

    def abort(self) -> None:
        self.aborted = True


def test_asyncio_goodbye_to_a_peer_that_already_reset() -> None:
    server = AsyncioServer(ServerConfig(host="127.0.0.1", port=0))
    conn = Connection(server)
    transport = ResetTransport()
    conn.transport = transport  # type: ignore[assignment]
    conn.finish("Server shutting down", b"ERROR :Server shutting down\r\n")
    server._flush(conn)  # must not raise: that would cut the flush of every other client
    assert transport.written == b"ERROR :Server shutting down\r\n"
    assert transport.aborted
