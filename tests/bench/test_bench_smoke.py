"""A tiny run of every scenario against every backend, through a real ``chatkit serve``.

These check that the bench works end to end (server subprocess, generator, numbers), not how
fast anything is: speed is measured with ``chatkit bench``, never asserted in tests.
"""

from __future__ import annotations

import math

import pytest

from chatkit.bench.scenarios import Scenario, Settings
from chatkit.bench.suite import run_once
from chatkit.bench.traffic import NullReporter
from chatkit.registry import available_backends

TINY = Settings(
    clients=10,
    duration=0.3,
    senders=2,
    probes=4,
    concurrency=10,
    blast_rate=200.0,
    connect_timeout=10.0,
)

pytestmark = pytest.mark.parametrize("backend", available_backends())


@pytest.mark.timeout(20)
def test_connect(backend: str) -> None:
    result = run_once(backend, Scenario.connect, TINY, 262_144, NullReporter())
    assert result.failures == {}
    assert result.metrics["joined"] == 10
    assert result.metrics["joins_per_s"] > 0
    assert result.metrics["join_p50_ms"] <= result.metrics["join_p99_ms"]
    assert result.metrics["rss_after_kib"] > 0


@pytest.mark.timeout(20)
def test_fanout(backend: str) -> None:
    result = run_once(backend, Scenario.fanout, TINY, 262_144, NullReporter())
    assert result.failures == {}
    assert result.metrics["sent"] > 0
    # Nothing is lost on loopback with ten clients and a generous send queue.
    assert result.metrics["delivered_fraction"] == 1.0
    assert result.metrics["delivered_per_s"] > 0
    assert 0 < result.metrics["latency_p50_ms"] <= result.metrics["latency_p99_ms"]


@pytest.mark.timeout(20)
def test_slow(backend: str) -> None:
    result = run_once(backend, Scenario.slow, TINY, 262_144, NullReporter())
    assert result.failures == {}
    assert not math.isnan(result.metrics["before_latency_p99_ms"])
    assert not math.isnan(result.metrics["with_latency_p99_ms"])
    assert result.metrics["rss_peak_kib"] > 0
    assert result.series["rss_kib"]
    assert "slow_client" in result.notes
