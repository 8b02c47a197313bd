"""Show benchmark results: one Rich table per scenario, and the targets met or missed.

Tables show the median of the runs; the JSON (:mod:`chatkit.bench.results`) keeps every run.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text
from rich.theme import Theme

from chatkit.bench.results import BenchReport, ScenarioSummary

__all__ = [
    "BENCH_THEME",
    "COLUMNS",
    "TargetCheck",
    "check_targets",
    "markdown_tables",
    "print_report",
    "scenario_notes",
    "scenario_table",
]

BENCH_THEME = Theme(
    {
        "bench.backend": "bold cyan",
        "bench.title": "bold",
        "bench.good": "green",
        "bench.bad": "bold red",
        "bench.note": "dim",
    }
)


@dataclass(frozen=True, slots=True)
class Column:
    """One table column: which metric, its header, and how to show a value."""

    metric: str
    header: str
    render: Callable[[float], str]


def _count(value: float) -> str:
    return f"{value:,.0f}"


def _one(value: float) -> str:
    return f"{value:,.1f}"


def _two(value: float) -> str:
    return f"{value:,.2f}"


def _percent(value: float) -> str:
    return f"{100 * value:.1f}%"


def _signed(value: float) -> str:
    return f"{value:+.0f}%"


def _mib(value: float) -> str:
    return f"{value / 1024:,.1f}"


#: What each scenario's table shows, in order.
COLUMNS: dict[str, list[Column]] = {
    "connect": [
        Column("joined", "joined", _count),
        Column("joins_per_s", "joins/s", _count),
        Column("join_p50_ms", "join p50 ms", _one),
        Column("join_p99_ms", "join p99 ms", _one),
        Column("rss_per_client_kib", "RSS per client KiB", _two),
        Column("rss_after_kib", "RSS MiB", _mib),
        Column("server_cpu_s", "server CPU s", _two),
        Column("generator_cpu_s", "gen CPU s", _two),
    ],
    "fanout": [
        Column("delivered_per_s", "delivered msg/s", _count),
        Column("latency_p50_ms", "p50 ms", _one),
        Column("latency_p99_ms", "p99 ms", _one),
        Column("delivered_fraction", "delivered", _percent),
        Column("server_cpu_pct", "server CPU", lambda v: f"{v:.0f}%"),
        Column("generator_cpu_pct", "gen CPU", lambda v: f"{v:.0f}%"),
    ],
    "slow": [
        Column("before_latency_p99_ms", "p99 before ms", _one),
        Column("with_latency_p99_ms", "p99 with ms", _one),
        Column("p99_change_pct", "p99 change", _signed),
        Column("with_delivered_fraction", "delivered", _percent),
        Column("rss_peak_kib", "RSS peak MiB", _mib),
        Column("server_cpu_pct", "server CPU", lambda v: f"{v:.0f}%"),
        Column("generator_cpu_pct", "gen CPU", lambda v: f"{v:.0f}%"),
    ],
}


def _cell(summary: ScenarioSummary, column: Column) -> str:
    value = summary.metrics.get(column.metric, math.nan)
    return "n/a" if math.isnan(value) else column.render(value)


def _failure_text(summary: ScenarioSummary) -> str:
    parts = [f"{count} {reason}" for reason, count in sorted(summary.failures.items())]
    return ", ".join(parts) or "none"


def _failures(summary: ScenarioSummary) -> Text:
    # Reasons may quote the server's words: never markup.
    return Text(_failure_text(summary), style="bench.bad" if summary.failures else "bench.good")


def _groups(report: BenchReport) -> dict[tuple[str, int], list[ScenarioSummary]]:
    """Summaries by (scenario, clients), in the order of ``COLUMNS`` and then of size."""
    groups: dict[tuple[str, int], list[ScenarioSummary]] = {}
    order = list(COLUMNS)
    for summary in sorted(report.summaries, key=lambda s: (order.index(s.scenario), s.clients)):
        groups.setdefault((summary.scenario, summary.clients), []).append(summary)
    return groups


def _title(scenario: str, clients: int, summaries: list[ScenarioSummary]) -> str:
    runs = max((len(s.runs) for s in summaries), default=0)
    return f"{scenario} - {clients:,} clients (median of {runs} run{'s' * (runs != 1)})"


def scenario_table(scenario: str, clients: int, summaries: list[ScenarioSummary]) -> Table:
    """The table of one scenario at one client count, one row per backend.

    Only numbers go in columns, so the table fits an 80-column terminal without cutting a
    number short (a number cut short is a wrong number); the sentences (what happened to
    the slow client, failures) are printed under it by :func:`scenario_notes`.
    """
    table = Table(
        title=_title(scenario, clients, summaries),
        title_style="bench.title",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    rows = [
        [summary.backend, *(_cell(summary, column) for column in COLUMNS[scenario])]
        for summary in summaries
    ]

    def width(index: int, header: str) -> int:
        # As wide as the widest cell (cells never wrap); headers wrap between words.
        longest_word = max(len(word) for word in header.split())
        return max([longest_word, *(len(row[index]) for row in rows)])

    table.add_column("backend", style="bench.backend", width=width(0, "backend"))
    for index, column in enumerate(COLUMNS[scenario], start=1):
        table.add_column(column.header, justify="right", width=width(index, column.header))
    for row in rows:
        table.add_row(*row)
    return table


def scenario_notes(scenario: str, summaries: list[ScenarioSummary]) -> Text:
    """One line per backend under its table: the slow client's fate and the failures."""
    notes = Text()
    for summary in summaries:
        notes.append(f"{summary.backend}: ", style="bench.backend")
        if scenario == "slow":
            # The server's words: never markup.
            notes.append(f"slow client {summary.notes.get('slow_client', 'n/a')}; ")
        notes.append("failures: ")
        notes.append_text(_failures(summary))
        notes.append("\n")
    notes.rstrip()
    return notes


@dataclass(frozen=True, slots=True)
class TargetCheck:
    """One project target against what was measured."""

    target: str
    backend: str
    measured: str
    met: bool


def check_targets(report: BenchReport) -> list[TargetCheck]:
    """Compare the results with the project's targets, for whatever was measured.

    Only measurements at the targets' sizes count: memory at 10,000 clients, threading's
    capacity at 2,000 or more, fan-out at 1,000 clients in one room.
    """
    checks: list[TargetCheck] = []
    fanout: list[ScenarioSummary] = []
    for s in report.summaries:
        m = s.metrics
        if (
            s.scenario == "connect"
            and s.backend in ("asyncio", "selectors")
            and s.clients >= 10_000
        ):
            value = m.get("rss_per_client_kib", math.nan)
            held = m.get("joined", 0) >= s.clients
            checks.append(
                TargetCheck(
                    f"holds {s.clients:,} clients at <= 8 KiB each",
                    s.backend,
                    f"{m.get('joined', 0):,.0f} joined, {value:.2f} KiB/client",
                    held and value <= 8,
                )
            )
        if s.scenario == "connect" and s.backend == "threading" and s.clients >= 2_000:
            joined = m.get("joined", 0)
            checks.append(
                TargetCheck(
                    f"holds {s.clients:,} clients",
                    s.backend,
                    f"{joined:,.0f} joined",
                    joined >= s.clients,
                )
            )
        if s.scenario == "fanout" and s.clients == 1_000:
            fanout.append(s)
        if s.scenario == "slow":
            change = m.get("p99_change_pct", math.nan)
            checks.append(
                TargetCheck(
                    "a slow client moves the others' p99 by <= 20%",
                    s.backend,
                    f"{change:+.0f}%",
                    # Only a slowdown is harm; a faster p99 "with" is noise between phases.
                    change <= 20,
                )
            )
    if fanout:
        best = max(fanout, key=lambda s: s.metrics.get("delivered_per_s", 0))
        rate = best.metrics.get("delivered_per_s", 0)
        checks.append(
            TargetCheck(
                "fastest backend fans out >= 200,000 msg/s",
                best.backend,
                f"{rate:,.0f}/s",
                rate >= 200_000,
            )
        )
        for s in fanout:
            rate = s.metrics.get("delivered_per_s", 0)
            checks.append(
                TargetCheck(
                    "fans out >= 100,000 msg/s", s.backend, f"{rate:,.0f}/s", rate >= 100_000
                )
            )
    return checks


def targets_table(checks: list[TargetCheck]) -> Table:
    table = Table(title="targets", title_style="bench.title")
    for header in ("target", "backend", "measured", "result"):
        table.add_column(header)
    for check in checks:
        verdict = Text("met", "bench.good") if check.met else Text("missed", "bench.bad")
        table.add_row(check.target, Text(check.backend, "bench.backend"), check.measured, verdict)
    return table


def print_report(report: BenchReport, console: Console) -> None:
    """Print one table per scenario and client count, then the targets, to ``console``."""
    for (scenario, clients), summaries in _groups(report).items():
        console.print(scenario_table(scenario, clients, summaries))
        console.print(scenario_notes(scenario, summaries))
        console.print()
    checks = check_targets(report)
    if checks:
        console.print(targets_table(checks))
    machine = report.machine
    console.print(
        Text(
            f"{machine.cpu_count} x {machine.cpu_model}, {machine.python}, load average "
            f"{machine.load_average[0]:.1f} at the start. "
            "gen CPU is the load generator's own CPU time: near 100% means it, "
            "not the server, was the limit.",
            style="bench.note",
        )
    )


def _md(text: str) -> str:
    """Escape what would break a Markdown table cell or turn into markup."""
    for char in "\\|*_`<>[]":
        text = text.replace(char, "\\" + char)
    return text


def markdown_tables(report: BenchReport) -> str:
    """The same tables as :func:`print_report`, as Markdown (for the documentation)."""
    lines: list[str] = []
    for (scenario, clients), summaries in _groups(report).items():
        columns = COLUMNS[scenario]
        headers = ["backend", *(c.header for c in columns)]
        if scenario == "slow":
            headers.append("slow client")
        headers.append("failures")
        lines += [f"**{_title(scenario, clients, summaries)}**", ""]
        lines.append("| " + " | ".join(headers) + " |")
        lines.append(
            "| --- |" + " ---: |" * len(columns) + " --- |" * (len(headers) - 1 - len(columns))
        )
        for summary in summaries:
            cells = [summary.backend, *(_cell(summary, c) for c in columns)]
            if scenario == "slow":
                cells.append(summary.notes.get("slow_client", "n/a"))
            cells.append(_failure_text(summary))
            lines.append("| " + " | ".join(_md(cell) for cell in cells) + " |")
        lines.append("")
    checks = check_targets(report)
    if checks:
        lines += [
            "**targets**",
            "",
            "| target | backend | measured | result |",
            "| --- | --- | --- | --- |",
        ]
        for check in checks:
            verdict = "met" if check.met else "**missed**"
            lines.append(
                f"| {_md(check.target)} | {check.backend} | {_md(check.measured)} | {verdict} |"
            )
        lines.append("")
    return "\n".join(lines)
