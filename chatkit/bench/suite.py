"""Run every requested scenario x client count x run x backend, each on a fresh server.

Runs of different backends are interleaved (run 1 of each, then run 2 of each ...) so that
whatever else the machine is doing meanwhile spreads over all backends instead of one.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from chatkit.bench import BenchError
from chatkit.bench.procinfo import ProcInfoError, raise_open_files_limit, require_linux
from chatkit.bench.results import BenchReport, Machine, RunResult, summarize
from chatkit.bench.runner import ServerProcess, ServerStartError
from chatkit.bench.scenarios import Scenario, Settings, run_scenario
from chatkit.bench.traffic import NullReporter, Reporter, Target

__all__ = ["BenchError", "Plan", "run_once", "run_plan"]


@dataclass(frozen=True, slots=True)
class Plan:
    """What ``chatkit bench`` was asked to do."""

    backends: tuple[str, ...]
    scenarios: tuple[Scenario, ...]
    #: One or more client counts; every scenario runs with each.
    clients: tuple[int, ...]
    runs: int
    settings: Settings
    #: Passed to ``chatkit serve --sendq``: what a client may have queued before it is dropped.
    sendq: int = 262_144

    @property
    def total_runs(self) -> int:
        return len(self.backends) * len(self.scenarios) * len(self.clients) * self.runs


#: Called before each run with (run number from 1, total runs, a short label).
OnRun = Callable[[int, int, str], None]


def run_plan(
    plan: Plan, *, reporter: Reporter | None = None, on_run: OnRun | None = None
) -> BenchReport:
    """Run ``plan`` and return the results. Raises :class:`ServerStartError` or
    :class:`ProcInfoError` when the bench cannot run at all."""
    require_linux()
    # Our sockets plus headroom; the server subprocess inherits the raised limit.
    raise_open_files_limit(max(plan.clients) + 1024)
    reporter = reporter or NullReporter()
    results: dict[tuple[Scenario, int, str], list[RunResult]] = {}
    number = 0
    for scenario in plan.scenarios:
        for clients in plan.clients:
            settings = dataclasses.replace(plan.settings, clients=clients)
            for run in range(plan.runs):
                for backend in plan.backends:
                    number += 1
                    if on_run is not None:
                        label = f"{scenario.value} {clients} clients, {backend}, run {run + 1}"
                        on_run(number, plan.total_runs, label)
                    result = run_once(backend, scenario, settings, plan.sendq, reporter)
                    results.setdefault((scenario, clients, backend), []).append(result)
    summaries = [summarize(runs) for runs in results.values()]
    options = dataclasses.asdict(plan.settings)
    del options["clients"]
    options.update(
        backends=list(plan.backends),
        scenarios=[s.value for s in plan.scenarios],
        clients=list(plan.clients),
        runs=plan.runs,
        sendq=plan.sendq,
    )
    return BenchReport(Machine.current(), options, summaries)


def run_once(
    backend: str, scenario: Scenario, settings: Settings, sendq: int, reporter: Reporter
) -> RunResult:
    """One run against a freshly started server, which is stopped afterwards in any case.

    A run that goes wrong (the server died, nobody could join) is recorded as a failure with
    its reason, and the bench carries on with the next one.
    """
    with ServerProcess(backend, sendq=sendq) as server:
        target = Target(server.host, server.port, server.pid)
        try:
            return asyncio.run(run_scenario(scenario, backend, target, settings, reporter))
        except (RuntimeError, TimeoutError, OSError, ProcInfoError) as exc:
            try:
                server.check_alive()
                reason = f"run failed: {exc}"
            except ServerStartError:
                reason = f"server died: {exc}"
            return RunResult(backend, scenario.value, settings.clients, failures={reason: 1})
