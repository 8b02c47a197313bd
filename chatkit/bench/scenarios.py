"""The three benchmark scenarios: ``connect``, ``fanout`` and ``slow``.

Each one drives an already running server (a :class:`~chatkit.bench.traffic.Target`) and
returns one :class:`~chatkit.bench.results.RunResult`. Starting and stopping the server is
the suite's job, so every run meets a fresh server.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from chatkit.bench.loadgen import BenchClient, LatencyRecorder
from chatkit.bench.procinfo import cpu_seconds, own_cpu_seconds, rss_kib
from chatkit.bench.results import RunResult
from chatkit.bench.stats import percentile
from chatkit.bench.traffic import (
    Reporter,
    Target,
    open_clients,
    run_senders,
    wait_for_sync,
    wait_until_delivered,
)

__all__ = ["SCENARIOS", "Scenario", "Settings", "run_scenario"]

ROOM = "#bench"
SLOW_NICK = "slowpoke"


class Scenario(enum.StrEnum):
    """What to measure."""

    connect = "connect"
    fanout = "fanout"
    slow = "slow"


@dataclass(frozen=True, slots=True)
class Settings:
    """How hard to push. The defaults finish every scenario in a few seconds per run."""

    clients: int = 1000
    #: Seconds of sending in ``fanout``, and in each of the two phases of ``slow``.
    duration: float = 5.0
    senders: int = 10
    #: Messages per second into the room from all senders; 0 = as fast as the server takes them.
    rate: float = 0.0
    #: Unacknowledged messages per sender: bounds what piles up when the server falls behind.
    window: int = 32
    #: Bytes of filler text per message (a chat line is some 60-100 bytes on the wire).
    payload: int = 40
    #: ``connect`` puts this many clients in each room (one room of 10,000 would turn into a
    #: 50-million-line JOIN storm, which is a different benchmark).
    room_size: int = 50
    #: Connections being set up at once (keeps the listen backlog from overflowing).
    concurrency: int = 256
    #: Clients that parse every line for latency; the rest only count lines.
    probes: int = 64
    #: Messages per second into the room during ``slow``; 0 picks ~50,000 deliveries/s.
    slow_rate: float = 0.0
    #: Lines per second another client sends straight to the slow client, to fill its queue.
    #: (The kernel buffers some 3 MB for a client that does not read before the server's own
    #: queue starts to grow, so this must be well above 1 MB/s to see a drop within seconds.)
    blast_rate: float = 4000.0
    blast_payload: int = 400
    #: Seconds allowed for all clients to connect and join.
    connect_timeout: float = 60.0


async def run_scenario(
    scenario: Scenario, backend: str, target: Target, settings: Settings, reporter: Reporter
) -> RunResult:
    """Run one scenario once against ``target``."""
    runner = SCENARIOS[scenario]
    result = RunResult(backend, scenario.value, settings.clients)
    await runner(target, settings, reporter, result)
    return result


def _ms(seconds: float) -> float:
    return seconds * 1000


async def run_connect(
    target: Target, settings: Settings, reporter: Reporter, result: RunResult
) -> None:
    """N clients connect, register and join rooms of ``room_size``; measure time and memory."""
    n = settings.clients
    rss_idle = rss_kib(target.pid)
    server_cpu, own_cpu = cpu_seconds(target.pid), own_cpu_seconds()
    reporter.stage("connect: joining", n)
    started = time.monotonic()
    clients = [BenchClient(f"c{i}", f"#room{i // settings.room_size}") for i in range(n)]
    opened = await open_clients(
        target,
        clients,
        concurrency=settings.concurrency,
        timeout=settings.connect_timeout,
        reporter=reporter,
    )
    wall = time.monotonic() - started
    rss_after = rss_kib(target.pid)
    joined = len(opened.joined)
    result.metrics.update(
        joined=joined,
        joins_per_s=joined / wall if wall > 0 else math.nan,
        join_p50_ms=_ms(percentile(opened.join_times, 50)),
        join_p99_ms=_ms(percentile(opened.join_times, 99)),
        rss_idle_kib=rss_idle,
        rss_after_kib=rss_after,
        rss_per_client_kib=(rss_after - rss_idle) / joined if joined else math.nan,
        wall_s=wall,
        server_cpu_s=cpu_seconds(target.pid) - server_cpu,
        generator_cpu_s=own_cpu_seconds() - own_cpu,
    )
    result.failures.update(opened.failures)
    for client in clients:
        client.close()


async def _open_room(
    target: Target,
    settings: Settings,
    reporter: Reporter,
    result: RunResult,
    recorder: LatencyRecorder,
    on_quit: Callable[[bytes, float], None] | None = None,
) -> list[BenchClient]:
    """Fill ``ROOM`` with ``settings.clients`` clients, probes spread evenly, and sync them."""
    n = settings.clients
    token = b"SYNC%d" % random.getrandbits(48)
    probes = min(settings.probes, n)
    probe_at = {round(k * (n - 1) / max(1, probes - 1)) for k in range(probes)}
    clients = []
    for i in range(n):
        client = BenchClient(
            f"c{i}",
            ROOM,
            probe=i in probe_at,
            recorder=recorder,
            ack_source=i == n - 1,
            on_quit=on_quit,
        )
        client.sync_token = token
        clients.append(client)
    reporter.stage(f"{result.scenario}: joining", n)
    opened = await open_clients(
        target,
        clients,
        concurrency=settings.concurrency,
        timeout=settings.connect_timeout,
        reporter=reporter,
    )
    result.failures.update(opened.failures)
    if len(opened.joined) < 2:
        raise RuntimeError(f"only {len(opened.joined)} of {n} clients could join")
    await wait_for_sync(opened.joined, ROOM, token, timeout=settings.connect_timeout)
    return opened.joined


@dataclass(slots=True)
class _Phase:
    sent: int
    delivered_in_window: int
    delivered: int
    expected: int
    seconds: float
    latencies: list[float]
    server_cpu: float
    own_cpu: float


async def _measure(
    target: Target,
    settings: Settings,
    room: list[BenchClient],
    receivers: list[BenchClient],
    recorder: LatencyRecorder,
    *,
    duration: float,
    rate: float,
    drain: bool,
) -> _Phase:
    """Send into ``room`` for ``duration`` seconds; count what ``receivers`` got."""
    recorder.samples.clear()
    before = sum(c.lines for c in receivers)
    server_cpu, own_cpu = cpu_seconds(target.pid), own_cpu_seconds()
    started = time.monotonic()
    sent = await run_senders(
        room[: settings.senders],
        recorder,
        room=ROOM,
        duration=duration,
        rate=rate,
        window=settings.window,
        padding=b"x" * settings.payload,
    )
    seconds = time.monotonic() - started
    in_window = sum(c.lines for c in receivers) - before
    server_cpu, own_cpu = cpu_seconds(target.pid) - server_cpu, own_cpu_seconds() - own_cpu
    # Every message goes to every member but its sender; senders receive each other's.
    senders_in = len(set(map(id, room[: settings.senders])) & set(map(id, receivers)))
    expected = sent * len(receivers) - (sent if senders_in else 0)
    total = in_window
    if drain:
        total = await wait_until_delivered(receivers, before + expected) - before
    return _Phase(
        sent, in_window, total, expected, seconds, list(recorder.samples), server_cpu, own_cpu
    )


def _phase_metrics(phase: _Phase, prefix: str = "", other_lines: int = 0) -> dict[str, float]:
    """Latency and delivery of one phase; ``other_lines`` are non-message lines the
    receivers got meanwhile (e.g. one QUIT each), which count neither way."""
    delivered = phase.delivered - other_lines
    return {
        f"{prefix}latency_p50_ms": _ms(percentile(phase.latencies, 50)),
        f"{prefix}latency_p99_ms": _ms(percentile(phase.latencies, 99)),
        f"{prefix}delivered_per_s": (phase.delivered_in_window - other_lines) / phase.seconds,
        f"{prefix}delivered_fraction": delivered / phase.expected if phase.expected else math.nan,
    }


async def run_fanout(
    target: Target, settings: Settings, reporter: Reporter, result: RunResult
) -> None:
    """N clients in one room, S senders: delivered messages/s and end-to-end latency."""
    recorder = LatencyRecorder()
    room = await _open_room(target, settings, reporter, result, recorder)
    reporter.stage("fanout: sending", 1)
    phase = await _measure(
        target,
        settings,
        room,
        room,
        recorder,
        duration=settings.duration,
        rate=settings.rate,
        drain=True,
    )
    reporter.advance()
    result.metrics.update(
        joined=len(room),
        sent=phase.sent,
        **_phase_metrics(phase),
        server_cpu_pct=100 * phase.server_cpu / phase.seconds,
        generator_cpu_pct=100 * phase.own_cpu / phase.seconds,
    )
    for client in room:
        client.close()


async def run_slow(
    target: Target, settings: Settings, reporter: Reporter, result: RunResult
) -> None:
    """Like fanout at a fixed rate, then one member stops reading: does anyone else notice?"""
    recorder = LatencyRecorder()
    quits: list[tuple[float, str]] = []

    def on_quit(line: bytes, when: float) -> None:
        if line.startswith(b":%s!" % SLOW_NICK.encode()):
            quits.append((when, line.partition(b" QUIT :")[2].decode("utf-8", "replace")))

    room = await _open_room(target, settings, reporter, result, recorder, on_quit)
    # The slow client joins last, with a tiny receive buffer, and parses what it gets (so we
    # can read its ERROR line at the end). The blaster fills its queue with private messages.
    slow = BenchClient(SLOW_NICK, ROOM, probe=True)
    blaster = BenchClient("blaster", "#blast")
    extra = await open_clients(
        target,
        [slow, blaster],
        concurrency=2,
        timeout=settings.connect_timeout,
        reporter=reporter,
        receive_buffer=4096,
    )
    result.failures.update(extra.failures)
    if len(extra.joined) < 2:
        raise RuntimeError("the slow client or the blaster could not join")
    slow.start_counting()
    receivers = [c for c in room if not c.closed.done()]
    rate = settings.slow_rate or max(10.0, 50_000 / max(1, len(room) - 1))
    started = time.monotonic()
    samples: list[list[float]] = []
    sampler = asyncio.create_task(_sample_rss(target.pid, started, samples))
    blast = asyncio.create_task(_blast(blaster, settings, 2 * settings.duration + 1))
    try:
        # Both phases send the same way; only the slow client's reading differs.
        measure = functools.partial(
            _measure, target, settings, room, receivers, recorder,
            duration=settings.duration, rate=rate,
        )  # fmt: skip
        reporter.stage("slow: before", 1)
        before = await measure(drain=False)
        reporter.advance()
        if slow.transport is not None:
            slow.transport.pause_reading()
        paused_at = time.monotonic()
        reporter.stage("slow: with a slow client", 1)
        with_slow = await measure(drain=True)
        reporter.advance()
    finally:
        blast.cancel()
        sampler.cancel()
        await asyncio.gather(blast, sampler, return_exceptions=True)
    if slow.transport is not None:
        slow.transport.resume_reading()
    if quits:
        # Read what the server left for it (its ERROR line), then the close; bounded.
        await asyncio.wait([slow.closed], timeout=2.0)
    p99_before = percentile(before.latencies, 99)
    p99_with = percentile(with_slow.latencies, 99)
    result.metrics.update(
        joined=len(room),
        rate=rate,
        **_phase_metrics(before, "before_"),
        # Every receiver got one QUIT line for the slow client if it was dropped.
        **_phase_metrics(with_slow, "with_", len(receivers) if quits else 0),
        p99_change_pct=100 * (p99_with - p99_before) / p99_before if p99_before else math.nan,
        rss_peak_kib=max((value for _, value in samples), default=math.nan),
        server_cpu_pct=100 * with_slow.server_cpu / with_slow.seconds,
        generator_cpu_pct=100 * with_slow.own_cpu / with_slow.seconds,
    )
    result.series["rss_kib"] = samples
    if quits:
        dropped_after = quits[0][0] - paused_at
        result.metrics["slow_dropped_after_s"] = dropped_after
        result.notes["slow_client"] = f"dropped after {dropped_after:.1f} s: {quits[0][1]}"
    elif slow.closed.done():
        result.notes["slow_client"] = f"closed: {slow.closed.result()}"
    else:
        result.notes["slow_client"] = "still connected"
    if slow.error:
        result.notes["slow_client_error"] = slow.error
    for client in [*room, slow, blaster]:
        client.close()


async def _sample_rss(pid: int, started: float, samples: list[list[float]]) -> None:
    """Append ``[seconds, RSS KiB]`` every 0.1 s until cancelled (at most 10,000 points)."""
    while len(samples) < 10_000:
        samples.append([round(time.monotonic() - started, 3), float(rss_kib(pid))])
        await asyncio.sleep(0.1)


async def _blast(blaster: BenchClient, settings: Settings, duration: float) -> None:
    """Send private messages to the slow client at ``blast_rate`` lines/s for ``duration``."""
    line = b"PRIVMSG %s :%s\r\n" % (SLOW_NICK.encode(), b"y" * settings.blast_payload)
    started = time.monotonic()
    sent = 0
    while (now := time.monotonic()) - started < duration and not blaster.closed.done():
        due = int((now - started) * settings.blast_rate) - sent
        if due > 0:
            blaster.send(line * due)
            sent += due
        await asyncio.sleep(0.01)


SCENARIOS = {
    Scenario.connect: run_connect,
    Scenario.fanout: run_fanout,
    Scenario.slow: run_slow,
}
