"""Results, medians, Rich tables, JSON and the chart, on hand-made results (no server)."""

from __future__ import annotations

import importlib.util
import io
import math
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from types import ModuleType

import pytest
from rich.console import Console

from chatkit.bench.report import BENCH_THEME, check_targets, print_report
from chatkit.bench.results import BenchReport, Machine, RunResult, summarize

ROOT = Path(__file__).resolve().parents[2]


def _load_chart_script() -> ModuleType:
    path = ROOT / "docs" / "benchmarks" / "make_chart.py"
    spec = importlib.util.spec_from_file_location("make_chart", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Dataclasses look their module up in sys.modules while the class is being built.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _run(backend: str, scenario: str, clients: int, **metrics: float) -> RunResult:
    return RunResult(backend, scenario, clients, dict(metrics))


def _report() -> BenchReport:
    summaries = [
        summarize(
            [
                _run("selectors", "connect", 10_000, joined=10_000, rss_per_client_kib=v)
                for v in (5.0, 6.0, 9.0)
            ]
        ),
        summarize([_run("threading", "connect", 10_000, joined=2_500, rss_per_client_kib=30.0)]),
        summarize(
            [
                _run(
                    "asyncio",
                    "fanout",
                    1_000,
                    delivered_per_s=250_000.0,
                    latency_p99_ms=12.0,
                    delivered_fraction=1.0,
                )
            ]
        ),
        summarize(
            [
                _run(
                    "threading",
                    "fanout",
                    1_000,
                    delivered_per_s=90_000.0,
                    latency_p99_ms=40.0,
                    delivered_fraction=0.99,
                )
            ]
        ),
        summarize(
            [
                _run(
                    "asyncio",
                    "slow",
                    1_000,
                    before_latency_p99_ms=10.0,
                    with_latency_p99_ms=11.0,
                    p99_change_pct=10.0,
                )
            ]
        ),
    ]
    summaries[-1].notes["slow_client"] = "dropped after 1.5 s: SendQ exceeded"
    summaries[1].failures["ERROR Server [bold]is full"] = 3
    machine = Machine("Test CPU", 2, "CPython 3.11.7", "Linux", (0.5, 0.25, 0.125))
    return BenchReport(machine, {"runs": 3, "duration": 5.0}, summaries)


def test_summarize_takes_medians_and_adds_up_failures() -> None:
    runs = [_run("asyncio", "fanout", 10, delivered_per_s=v) for v in (3.0, 1.0, 2.0)]
    runs[0].failures["timeout"] = 1
    runs[2].failures["timeout"] = 2
    runs[1].notes["slow_client"] = "still connected"
    summary = summarize(runs)
    assert summary.metrics == {"delivered_per_s": 2.0}
    assert summary.failures == {"timeout": 3}
    assert summary.notes == {"slow_client": "still connected"}
    with pytest.raises(ValueError):
        summarize([])


def test_json_round_trip_keeps_every_run_and_missing_values() -> None:
    report = _report()
    report.summaries[0].runs[0].metrics["join_p99_ms"] = math.nan
    report.summaries[0].runs[0].series["rss_kib"] = [[0.0, 100.0], [0.1, 120.0]]
    again = BenchReport.from_json(report.to_json())
    assert again.machine == report.machine
    assert again.settings == report.settings
    assert len(again.summaries) == len(report.summaries)
    first = again.summaries[0]
    assert [r.metrics["rss_per_client_kib"] for r in first.runs] == [5.0, 6.0, 9.0]
    assert math.isnan(first.runs[0].metrics["join_p99_ms"])
    assert first.runs[0].series == {"rss_kib": [[0.0, 100.0], [0.1, 120.0]]}
    assert again.summaries[1].failures == {"ERROR Server [bold]is full": 3}


def test_json_of_something_else_is_refused() -> None:
    with pytest.raises(ValueError, match="not a chatkit bench result"):
        BenchReport.from_json('{"format": 99}')


def test_tables_render_medians_targets_and_failures_as_plain_text() -> None:
    out = io.StringIO()
    console = Console(file=out, width=200, force_terminal=True, theme=BENCH_THEME)
    print_report(_report(), console)
    text = out.getvalue()
    assert "connect - 10,000 clients (median of 3 runs)" in text
    assert "6.00" in text  # median RSS per client of 5, 6 and 9
    assert "250,000" in text
    assert "dropped after 1.5 s: SendQ exceeded" in text
    # A server's words are never markup: the brackets are printed as they are.
    assert "Server [bold]is full" in text
    assert "missed" in text and "met" in text


def test_tables_fit_an_80_column_terminal_without_cutting_a_number() -> None:
    out = io.StringIO()
    console = Console(file=out, width=80, force_terminal=False, theme=BENCH_THEME)
    print_report(_report(), console)
    text = out.getvalue()
    assert all(len(line) <= 80 for line in text.splitlines())
    assert "…" not in text
    for number in ("10,000", "250,000", "90,000", "6.00", "+10%", "99.0%"):
        assert number in text
    assert "asyncio: slow client dropped after 1.5 s: SendQ exceeded; failures: none" in text


def test_targets_are_checked_only_where_measured() -> None:
    checks = {(c.target, c.backend): c.met for c in check_targets(_report())}
    assert checks[("holds 10,000 clients at <= 8 KiB each", "selectors")] is True
    assert checks[("holds 10,000 clients", "threading")] is False
    assert checks[("fastest backend fans out >= 200,000 msg/s", "asyncio")] is True
    assert checks[("fans out >= 100,000 msg/s", "threading")] is False
    assert checks[("a slow client moves the others' p99 by <= 20%", "asyncio")] is True
    assert not any(backend == "asyncio" and "KiB" in target for target, backend in checks)


def test_chart_script_writes_valid_svg(tmp_path: Path) -> None:
    chart = _load_chart_script()
    source = tmp_path / "results.json"
    source.write_text(_report().to_json())
    target = tmp_path / "chart.svg"
    tables = tmp_path / "tables.md"
    assert chart.main([str(source), str(target), "--markdown", str(tables)]) == 0
    markdown = tables.read_text()
    assert "| selectors | 10,000 |" in markdown
    # Table cells are escaped: a server's words cannot break the table or become markup.
    assert "ERROR Server \\[bold\\]is full" in markdown
    assert "| fans out \\>= 100,000 msg/s | threading | 90,000/s | **missed** |" in markdown
    root = ET.fromstring(target.read_text())
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    titles = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "fan-out: delivered messages/s" in titles
    assert "server memory per client" in titles
    bars = list(root.iter("{http://www.w3.org/2000/svg}rect"))
    assert len(bars) > 5


def test_chart_script_refuses_a_bad_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    chart = _load_chart_script()
    source = tmp_path / "results.json"
    source.write_text("[]")
    assert chart.main([str(source), str(tmp_path / "chart.svg")]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_chart_script_draws_several_result_files_together(tmp_path: Path) -> None:
    chart = _load_chart_script()
    whole = _report()
    first, second = tmp_path / "one.json", tmp_path / "two.json"
    first.write_text(BenchReport(whole.machine, whole.settings, whole.summaries[:2]).to_json())
    second.write_text(BenchReport(whole.machine, {}, whole.summaries[2:]).to_json())
    tables = tmp_path / "tables.md"
    args = [str(first), str(second), str(tmp_path / "chart.svg"), "--markdown", str(tables)]
    assert chart.main(args) == 0
    markdown = tables.read_text()
    assert "| selectors | 10,000 |" in markdown  # from the first file
    assert "| fans out \\>= 100,000 msg/s | threading | 90,000/s | **missed** |" in markdown
