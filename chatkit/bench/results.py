"""What one benchmark run produces, the median over runs, and the JSON form of both.

A run's numbers live in a flat ``metrics`` dict (name -> float) so that medians, tables and
JSON all treat every scenario alike; :mod:`chatkit.bench.report` knows their labels and units.
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from chatkit.bench.stats import median

__all__ = ["BenchReport", "Machine", "RunResult", "ScenarioSummary", "summarize"]

#: Bumped when the JSON layout changes, so the chart script can refuse what it cannot read.
FORMAT_VERSION = 1


@dataclass(slots=True)
class RunResult:
    """One scenario, run once against one freshly started server."""

    backend: str
    scenario: str
    clients: int
    #: Numbers by name (see ``report.METRICS``); ``nan`` where a run could not measure one.
    metrics: dict[str, float] = field(default_factory=dict)
    #: Connections that did not make it, counted by reason ("ECONNREFUSED", "timeout" ...).
    failures: dict[str, int] = field(default_factory=dict)
    #: Short facts in words, e.g. what happened to the slow client.
    notes: dict[str, str] = field(default_factory=dict)
    #: Time series as ``[seconds, value]`` pairs, e.g. server RSS over time.
    series: dict[str, list[list[float]]] = field(default_factory=dict)


@dataclass(slots=True)
class ScenarioSummary:
    """The median of several runs of one scenario on one backend."""

    backend: str
    scenario: str
    clients: int
    runs: list[RunResult]
    metrics: dict[str, float] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)


def summarize(runs: list[RunResult]) -> ScenarioSummary:
    """Median of every metric over ``runs`` (all of one backend, scenario and client count).

    Failures are summed over runs (a failure in any run is worth seeing); a note keeps its
    most common wording.
    """
    if not runs:
        raise ValueError("cannot summarize zero runs")
    first = runs[0]
    names = list(dict.fromkeys(name for run in runs for name in run.metrics))
    metrics = {name: median([run.metrics.get(name, math.nan) for run in runs]) for name in names}
    failures: Counter[str] = Counter()
    for run in runs:
        failures.update(run.failures)
    notes = {}
    for key in dict.fromkeys(key for run in runs for key in run.notes):
        values = Counter(run.notes[key] for run in runs if key in run.notes)
        notes[key] = values.most_common(1)[0][0]
    return ScenarioSummary(
        first.backend, first.scenario, first.clients, runs, metrics, dict(failures), notes
    )


@dataclass(slots=True)
class Machine:
    """Where the numbers were measured: they mean little without it."""

    cpu_model: str
    cpu_count: int
    python: str
    platform: str
    #: 1, 5 and 15 minute load averages when the bench started: other work on the machine
    #: steals CPU from both the server and the generator, so numbers taken under load are low.
    load_average: tuple[float, float, float] = (0.0, 0.0, 0.0)

    @classmethod
    def current(cls) -> Machine:
        model = "unknown"
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
        except OSError:
            pass
        return cls(
            cpu_model=model,
            cpu_count=os.cpu_count() or 1,
            python=f"{platform.python_implementation()} {sys.version.split()[0]}",
            platform=platform.platform(),
            load_average=os.getloadavg(),
        )


@dataclass(slots=True)
class BenchReport:
    """Everything one ``chatkit bench`` invocation measured, as written to ``--json``."""

    machine: Machine
    #: The options the bench ran with (clients, duration, runs, rate ...).
    settings: dict[str, Any]
    summaries: list[ScenarioSummary]

    def to_json(self) -> str:
        data = {"format": FORMAT_VERSION, **asdict(self)}
        return json.dumps(_finite(data), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> BenchReport:
        """Read what :meth:`to_json` wrote. Raises ``ValueError`` on another format."""
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("format") != FORMAT_VERSION:
            raise ValueError(f"not a chatkit bench result (format {FORMAT_VERSION})")
        summaries = []
        for item in data["summaries"]:
            runs = [_run_from(run) for run in item["runs"]]
            summaries.append(
                ScenarioSummary(
                    item["backend"],
                    item["scenario"],
                    item["clients"],
                    runs,
                    _metrics_from(item["metrics"]),
                    dict(item["failures"]),
                    dict(item["notes"]),
                )
            )
        machine = dict(data["machine"])
        machine["load_average"] = tuple(machine.get("load_average", (0.0, 0.0, 0.0)))
        return cls(Machine(**machine), dict(data["settings"]), summaries)


def _run_from(item: dict[str, Any]) -> RunResult:
    return RunResult(
        item["backend"],
        item["scenario"],
        item["clients"],
        _metrics_from(item["metrics"]),
        dict(item["failures"]),
        dict(item["notes"]),
        {key: [list(point) for point in value] for key, value in item["series"].items()},
    )


def _metrics_from(raw: dict[str, float | None]) -> dict[str, float]:
    # JSON has no NaN: a metric a run could not measure is stored as null.
    return {key: math.nan if value is None else float(value) for key, value in raw.items()}


def _finite(value: Any) -> Any:
    """Replace NaN and infinities by None, recursively, so the JSON is standard."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value
