"""Who writes a client's output in the threading backend, step by step, without threads.

The thread that called the core writes the output it produced, without blocking; the
client's writer thread takes over only when the socket is full or closing. At most one of
them writes to a socket at a time (the connection's ``owner``), or lines would be reordered.
These tests drive those steps by hand on a socket pair, so the interleavings that threads
produce only now and then happen here every time.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from backends.threaded import Connection, Owner, ThreadedServer
from chatkit.config import ServerConfig

pytestmark = pytest.mark.timeout(10)


@pytest.fixture
def server() -> ThreadedServer:
    return ThreadedServer(ServerConfig(host="127.0.0.1", port=0, sendq=4 * 1024 * 1024))


@pytest.fixture
def pair(server: ThreadedServer) -> Iterator[tuple[Connection, socket.socket]]:
    """A connection (never started) and the peer's end of its socket."""
    ours, theirs = socket.socketpair()
    theirs.settimeout(5)
    yield Connection(server, ours, "peer"), theirs
    ours.close()
    theirs.close()


def read_exactly(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count and (chunk := sock.recv(count - len(data))):
        data += chunk
    return data


def test_output_queued_while_a_thread_writes_is_left_to_that_thread(
    server: ThreadedServer, pair: tuple[Connection, socket.socket]
) -> None:
    conn, peer = pair
    with server._lock:  # thread A's core call
        conn.send(b"one\r\n")
        first = server._take_dirty()
    with server._lock:  # thread B's core call, while A has not written yet
        conn.send(b"two\r\n")
        second = server._take_dirty()
    assert first == [(conn, b"one\r\n")]
    assert second == []  # B must not write "two" before A has written "one"
    server._flush(first)  # A writes "one", then goes back for "two"
    assert read_exactly(peer, 10) == b"one\r\ntwo\r\n"
    assert conn.owner is Owner.NOBODY and conn.queued == 0


def test_what_does_not_fit_goes_to_the_writer_ahead_of_newer_output(
    server: ThreadedServer, pair: tuple[Connection, socket.socket]
) -> None:
    conn, _peer = pair
    big = b"x" * (2 * 1024 * 1024 - 2) + b"\r\n"  # more than a socket pair buffers
    with server._lock:
        conn.send(big)
        taken = server._take_dirty()
    with server._lock:  # queued by another thread meanwhile
        conn.send(b"after\r\n")
    server._flush(taken)
    assert conn.owner is Owner.WRITER
    assert conn.queued > len(b"after\r\n")
    rest = conn.next_chunk()  # the writer's turn: it does not wait
    assert rest is not None and rest.endswith(b"x\r\nafter\r\n")
    sent_without_blocking = len(big) + len(b"after\r\n") - len(rest)
    assert 0 < sent_without_blocking < len(big)
    assert conn.queued == len(rest)


def test_a_closing_connection_is_left_to_the_writer(
    server: ThreadedServer, pair: tuple[Connection, socket.socket]
) -> None:
    conn, peer = pair
    with server._lock:
        conn.send(b"last\r\n")
        taken = server._take_dirty()
    with server._lock:
        conn.finish("Bye", b"ERROR :Bye\r\n")
    server._flush(taken)
    # The writer sends the rest, then the FIN: only it may block waiting for the peer.
    assert conn.owner is Owner.WRITER
    assert conn.next_chunk() == b"ERROR :Bye\r\n"
    assert read_exactly(peer, 6) == b"last\r\n"
