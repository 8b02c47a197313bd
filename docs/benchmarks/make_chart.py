"""Draw the benchmark chart (an SVG of simple bar panels) from ``chatkit bench --json`` output.

Usage::

    python docs/benchmarks/make_chart.py docs/benchmarks/results.json docs/benchmarks/chart.svg \
        --markdown docs/benchmarks/tables.md

Several JSON files (e.g. one per ``chatkit bench`` command) can be given before the SVG file:
their results are drawn and tabled together, the machine and settings taken from the first.

``--markdown`` also writes the result tables (the same ones ``chatkit bench`` prints) as
Markdown, which the benchmarks page includes, so the page cannot drift from the data.

Hand-written SVG on purpose: a few rectangles and labels need no plotting library, and the
output is a small text file that diffs well in git.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from chatkit.bench.report import markdown_tables
from chatkit.bench.results import BenchReport, ScenarioSummary

#: One colour per backend, in a stable order; unknown backends get grey.
COLOURS = {"threading": "#e4572e", "selectors": "#29335c", "asyncio": "#17bebb"}
PANEL_WIDTH = 300
PANEL_HEIGHT = 230
PLOT_TOP = 50
PLOT_BOTTOM = 185
PLOT_LEFT = 20


@dataclass(frozen=True, slots=True)
class Bar:
    backend: str
    value: float


@dataclass(frozen=True, slots=True)
class Group:
    """Bars side by side above one label (e.g. one client count)."""

    label: str
    bars: list[Bar]


@dataclass(frozen=True, slots=True)
class Panel:
    title: str
    unit: str
    groups: list[Group]


def _short(value: float) -> str:
    """A label that fits above a narrow bar: 3,211,170 -> 3.2M, 4,390 -> 4.4k."""
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if value >= 10_000:
        return f"{value / 1000:,.0f}k"
    if value >= 1_000:
        return f"{value / 1000:.1f}k"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}"


def _metric_groups(
    summaries: list[ScenarioSummary], scenario: str, metric: str, label: str
) -> list[Group]:
    groups: dict[int, list[Bar]] = {}
    for s in summaries:
        value = s.metrics.get(metric, math.nan)
        if s.scenario == scenario and not math.isnan(value):
            groups.setdefault(s.clients, []).append(Bar(s.backend, value))
    order = list(COLOURS)  # the same backend in the same place in every group

    def place(bar: Bar) -> int:
        return order.index(bar.backend) if bar.backend in order else len(order)

    return [Group(label.format(n=n), sorted(bars, key=place)) for n, bars in sorted(groups.items())]


def panels_for(report: BenchReport) -> list[Panel]:
    """The panels worth drawing for what ``report`` measured (empty ones are left out)."""
    s = report.summaries
    slow_groups = _metric_groups(s, "slow", "before_latency_p99_ms", "alone, {n:,}")
    slow_groups += _metric_groups(s, "slow", "with_latency_p99_ms", "with slow, {n:,}")
    panels = [
        Panel(
            "fan-out: delivered messages/s",
            "msg/s",
            _metric_groups(s, "fanout", "delivered_per_s", "{n:,} in one room"),
        ),
        Panel(
            "server memory per client",
            "KiB, by clients connected",
            _metric_groups(s, "connect", "rss_per_client_kib", "{n:,}"),
        ),
        Panel("connect: joins/s", "joins/s", _metric_groups(s, "connect", "joins_per_s", "{n:,}")),
        Panel("others' p99 latency", "ms", slow_groups),
    ]
    return [panel for panel in panels if panel.groups]


def _panel_svg(panel: Panel, x0: float) -> list[str]:
    out = [
        f'<text x="{x0 + PANEL_WIDTH / 2}" y="22" class="title">{escape(panel.title)}</text>',
        f'<text x="{x0 + PANEL_WIDTH / 2}" y="38" class="unit">({escape(panel.unit)}, '
        "median of runs)</text>",
    ]
    top = max((bar.value for g in panel.groups for bar in g.bars), default=0) or 1
    width = PANEL_WIDTH - 2 * PLOT_LEFT
    slot = width / len(panel.groups)
    base_y = PLOT_BOTTOM
    out.append(
        f'<line x1="{x0 + PLOT_LEFT}" y1="{base_y}" x2="{x0 + PLOT_LEFT + width}" '
        f'y2="{base_y}" class="axis"/>'
    )
    for index, group in enumerate(panel.groups):
        gx = x0 + PLOT_LEFT + index * slot
        bar_width = min(40.0, (slot - 10) / max(1, len(group.bars)))
        start = gx + (slot - bar_width * len(group.bars)) / 2
        for k, bar in enumerate(group.bars):
            height = (PLOT_BOTTOM - PLOT_TOP - 14) * bar.value / top
            bx = start + k * bar_width
            colour = COLOURS.get(bar.backend, "#888888")
            out.append(
                f'<rect x="{bx:.1f}" y="{base_y - height:.1f}" width="{bar_width - 2:.1f}" '
                f'height="{height:.1f}" fill="{colour}"><title>{escape(bar.backend)}: '
                f"{bar.value:,.2f} {escape(panel.unit)}</title></rect>"
            )
            out.append(
                f'<text x="{bx + (bar_width - 2) / 2:.1f}" y="{base_y - height - 3:.1f}" '
                f'class="value">{_short(bar.value)}</text>'
            )
        out.append(
            f'<text x="{gx + slot / 2:.1f}" y="{base_y + 14}" class="label">'
            f"{escape(group.label)}</text>"
        )
    return out


def render_svg(report: BenchReport) -> str:
    """The whole chart as SVG text: one panel per measured quantity, then a legend."""
    panels = panels_for(report)
    width = max(1, len(panels)) * PANEL_WIDTH
    height = PANEL_HEIGHT + 20
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif">',
        "<style>.title{font-size:13px;font-weight:bold;text-anchor:middle}"
        ".unit,.label{font-size:10px;text-anchor:middle;fill:#555}"
        ".value{font-size:9px;text-anchor:middle}.legend{font-size:11px}"
        ".axis{stroke:#999;stroke-width:1}</style>",
        f'<rect width="{width}" height="{height}" fill="white"/>',
    ]
    for index, panel in enumerate(panels):
        parts += _panel_svg(panel, index * PANEL_WIDTH)
    backends = list(dict.fromkeys(s.backend for s in report.summaries))
    for index, backend in enumerate(backends):
        x = 20 + index * 110
        parts.append(
            f'<rect x="{x}" y="{PANEL_HEIGHT - 8}" width="12" height="12" '
            f'fill="{COLOURS.get(backend, "#888888")}"/>'
        )
        parts.append(
            f'<text x="{x + 16}" y="{PANEL_HEIGHT + 2}" class="legend">{escape(backend)}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Draw the benchmark chart from bench JSON.")
    parser.add_argument(
        "results", type=Path, nargs="+", help="JSON written by chatkit bench --json"
    )
    parser.add_argument("output", type=Path, help="SVG file to write")
    parser.add_argument("--markdown", type=Path, help="also write the tables as Markdown here")
    args = parser.parse_args(argv)
    reports = []
    for path in args.results:
        try:
            reports.append(BenchReport.from_json(path.read_text()))
        except (OSError, ValueError, KeyError) as error:
            print(f"make_chart: cannot read {path}: {error}", file=sys.stderr)
            return 1
    first = reports[0]
    summaries = [summary for report in reports for summary in report.summaries]
    report = BenchReport(first.machine, first.settings, summaries)
    args.output.write_text(render_svg(report))
    print(f"wrote {args.output}")
    if args.markdown is not None:
        args.markdown.write_text(markdown_tables(report))
        print(f"wrote {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
