"""The load generator's connection logic, fed bytes by hand: no sockets, no server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from chatkit.bench.loadgen import BenchClient, LatencyRecorder, Mode, message_line


class RecordingTransport(asyncio.Transport):
    """Collects what the client writes."""

    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += data

    def is_closing(self) -> bool:
        return self.closed

    def abort(self) -> None:
        self.closed = True


def feed(client: BenchClient, data: bytes) -> None:
    """Deliver ``data`` the way asyncio does: into get_buffer, then buffer_updated."""
    buffer = client.get_buffer(len(data))
    buffer[: len(data)] = data
    client.buffer_updated(len(data))


def run(test: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), timeout=5))


def connected(client: BenchClient) -> RecordingTransport:
    transport = RecordingTransport()
    client.connection_made(transport)
    return transport


def test_registers_answers_ping_joins_after_welcome_and_notes_the_join() -> None:
    async def scenario() -> None:
        client = BenchClient("c1", "#bench")
        transport = connected(client)
        assert transport.written == b"NICK c1\r\nUSER c1 0 * :chatkit bench\r\n"
        transport.written.clear()
        # Split in awkward places, as TCP may deliver it.
        for chunk in (b"PING :tok", b"en\r\n:srv 001 c1 :Welcome\r", b"\n"):
            feed(client, chunk)
        assert transport.written == b"PONG :token\r\nJOIN #bench\r\n"
        assert not client.joined.done()
        feed(client, b":srv 353 c1 = #bench :c1\r\n:srv 366 c1 #bench :End of /NAMES list.\r\n")
        assert client.joined.result() <= time.monotonic()

    run(scenario)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b":srv 433 * c1 :Nickname is already in use\r\n", "433 * c1 :Nickname is already in use"),
        (b"ERROR :Server is full\r\n", "ERROR Server is full"),
    ],
)
def test_failures_are_recorded_with_a_countable_reason(line: bytes, reason: str) -> None:
    async def scenario() -> None:
        client = BenchClient("c1", "#bench")
        connected(client)
        feed(client, line)
        client.connection_lost(None)
        assert client.closed.result() == reason
        with pytest.raises(ConnectionError):
            client.joined.result()

    run(scenario)


def test_join_storm_is_skipped_until_the_sync_line_even_when_split() -> None:
    async def scenario() -> None:
        client = BenchClient("c1", "#bench")
        client.sync_token = b"SYNC42"
        connected(client)
        feed(client, b":srv 001 c1 :hi\r\n:srv 366 c1 #bench :End\r\n:c2!u@h JOIN #bench\r\n")
        assert client.mode is Mode.WAIT_SYNC
        feed(client, b":c3!u@h JOIN #bench\r\n:c0!u@h PRIVMSG #bench :SY")
        assert client.mode is Mode.WAIT_SYNC
        feed(client, b"NC42\r\n:c0!u@h PRIVMSG #bench :one\r\n:c0!u@h PRIVMSG #bench :tw")
        assert client.mode is Mode.COUNTING
        # Counting only counts complete lines; the JOINs before the sync are not counted.
        assert client.lines == 1
        feed(client, b"o\r\n" * 3)
        assert client.lines == 4

    run(scenario)


def test_probe_reads_latency_and_acks_the_sender() -> None:
    async def scenario() -> None:
        recorder = LatencyRecorder()
        client = BenchClient("c9", "#bench", probe=True, recorder=recorder, ack_source=True)
        transport = connected(client)
        client.start_counting()
        sent = time.monotonic_ns() - 2_000_000  # 2 ms ago
        line = b":c0!c0@h " + message_line(b"#bench", 3, 7, sent, b"xx")
        feed(client, line[:20])
        feed(client, line[20:] + b"PING :x\r\n")
        assert client.lines == 2
        assert len(recorder.samples) == 1
        assert 0.002 <= recorder.samples[0] < 1.0
        assert recorder.acked == {3: 8}
        assert transport.written.endswith(b"PONG :x\r\n")

    run(scenario)


def test_recorder_keeps_a_bounded_number_of_samples() -> None:
    recorder = LatencyRecorder(limit=3)
    for value in range(10):
        recorder.record(float(value))
    assert recorder.samples == [0.0, 1.0, 2.0]
