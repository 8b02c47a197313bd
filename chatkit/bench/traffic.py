"""Crowd control for the scenarios: open many clients, line them up, send timed messages.

Everything here is bounded: connection set-up by a deadline and a concurrency cap, waits by
timeouts, send loops by an end time and a window of unacknowledged messages per sender (so a
server that falls behind makes the senders wait instead of piling up data without bound).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

from chatkit.bench.loadgen import (
    BenchClient,
    LatencyRecorder,
    Mode,
    connect_client,
    describe_error,
    message_line,
)

__all__ = [
    "NullReporter",
    "Opened",
    "Reporter",
    "Target",
    "open_clients",
    "run_senders",
    "wait_for_sync",
    "wait_until_delivered",
]


@dataclass(frozen=True, slots=True)
class Target:
    """The server under test: where it listens and its process id (for RSS and CPU)."""

    host: str
    port: int
    pid: int


class Reporter(Protocol):
    """Where scenarios report progress; the CLI shows it as Rich progress bars."""

    def stage(self, description: str, total: float) -> None: ...

    def advance(self, amount: float = 1) -> None: ...


class NullReporter:
    """A reporter that shows nothing (tests, ``--json`` only runs)."""

    def stage(self, description: str, total: float) -> None:
        pass

    def advance(self, amount: float = 1) -> None:
        pass


@dataclass(slots=True)
class Opened:
    """The outcome of :func:`open_clients`."""

    #: Clients that registered and joined, in the order they were given.
    joined: list[BenchClient] = field(default_factory=list)
    #: Seconds from starting to connect to receiving our 366, per joined client.
    join_times: list[float] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)


async def open_clients(
    target: Target,
    clients: list[BenchClient],
    *,
    concurrency: int,
    timeout: float,
    reporter: Reporter,
    receive_buffer: int | None = None,
) -> Opened:
    """Connect, register and join every client, at most ``concurrency`` at a time.

    The cap keeps us from overflowing the server's listen backlog (a dropped SYN is retried
    after a full second, which would show up as a fake p99). Everything must be done within
    ``timeout`` seconds; whatever is not is counted as a "timeout" failure.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    gate = asyncio.Semaphore(concurrency)
    outcome = Opened()
    done: dict[int, float] = {}

    async def one(index: int, client: BenchClient) -> None:
        async with gate:
            started = time.monotonic()
            try:
                async with asyncio.timeout_at(deadline):
                    await connect_client(
                        client, target.host, target.port, receive_buffer=receive_buffer
                    )
                    done[index] = await client.joined - started
            except (OSError, TimeoutError) as exc:
                outcome.failures[describe_error(exc)] += 1
                client.close()
            finally:
                reporter.advance()

    await asyncio.gather(*(one(index, client) for index, client in enumerate(clients)))
    for index in sorted(done):
        outcome.joined.append(clients[index])
        outcome.join_times.append(done[index])
    return outcome


async def wait_for_sync(
    clients: list[BenchClient], room: str, token: bytes, *, timeout: float
) -> None:
    """Make every client skip the join storm: the first one says ``token`` in ``room``, the
    rest count from the line after it.

    Each client's output is a FIFO and every JOIN was broadcast before the sync line was
    sent, so a client that has seen the sync line has seen all the JOINs (and NAMES) too.
    """
    leader = clients[0]
    leader.send(b"PRIVMSG %s :%s\r\n" % (room.encode(), token))
    leader.start_counting()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(c.mode is Mode.COUNTING or c.closed.done() for c in clients):
            return
        await asyncio.sleep(0.01)
    raise TimeoutError(f"clients did not see the sync line within {timeout:g} s")


async def run_senders(
    senders: list[BenchClient],
    recorder: LatencyRecorder,
    *,
    room: str,
    duration: float,
    rate: float,
    window: int,
    padding: bytes,
) -> int:
    """Send timestamped messages to ``room`` from every sender for ``duration`` seconds.

    ``rate`` is messages per second for all senders together; 0 means as fast as the server
    takes them, limited only by ``window`` unacknowledged messages per sender. Returns how
    many messages were sent.
    """
    end = time.monotonic() + duration
    per_sender = rate / len(senders) if rate > 0 else 0.0
    counts = await asyncio.gather(
        *(
            _send_loop(client, index, recorder, room.encode(), end, per_sender, window, padding)
            for index, client in enumerate(senders)
        )
    )
    return sum(counts)


async def _send_loop(
    client: BenchClient,
    index: int,
    recorder: LatencyRecorder,
    room: bytes,
    end: float,
    rate: float,
    window: int,
    padding: bytes,
) -> int:
    seq = 0
    ack = recorder.ack_event(index)
    started = time.monotonic()
    while (now := time.monotonic()) < end and not client.closed.done():
        in_flight = seq - recorder.acked.get(index, 0)
        allowed = window - in_flight
        if rate > 0:
            allowed = min(allowed, int((now - started) * rate) + 1 - seq)
        if allowed > 0:
            sent_ns = time.monotonic_ns()
            client.send(
                b"".join(
                    message_line(room, index, seq + k, sent_ns, padding) for k in range(allowed)
                )
            )
            seq += allowed
            await asyncio.sleep(0)  # let the loop flush and read
        elif in_flight < window:
            # Ahead of the requested rate: sleep until the next message is due.
            await asyncio.sleep(min(1 / rate, end - now))
        else:
            # Window full: wait for the ack probe to see one of ours (or give up at the end).
            ack.clear()
            try:
                async with asyncio.timeout(max(0.001, min(0.1, end - now))):
                    await ack.wait()
            except TimeoutError:
                pass
    return seq


async def wait_until_delivered(
    receivers: list[BenchClient], expected: int, *, idle: float = 0.5, timeout: float = 5.0
) -> int:
    """Wait until ``receivers`` counted ``expected`` lines, or nothing arrived for ``idle``
    seconds, or ``timeout`` passed. Returns the lines counted."""
    deadline = time.monotonic() + timeout
    last = -1
    last_change = time.monotonic()
    while True:
        total = sum(client.lines for client in receivers)
        now = time.monotonic()
        if total != last:
            last, last_change = total, now
        if total >= expected or now - last_change >= idle or now >= deadline:
            return total
        await asyncio.sleep(0.02)
