"""``chatkit bench`` through Typer's CliRunner."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from chatkit.bench.results import BenchReport
from chatkit.cli import app
from chatkit.registry import available_backends

runner = CliRunner()


def test_unknown_backend_is_a_readable_error() -> None:
    result = runner.invoke(app, ["bench", "--backend", "carrier-pigeon"], prog_name="chatkit")
    assert result.exit_code == 1
    assert "unknown backend carrier-pigeon" in result.output
    assert "Traceback" not in result.output


def test_out_of_range_option_is_refused() -> None:
    result = runner.invoke(app, ["bench", "--clients", "1"], prog_name="chatkit")
    assert result.exit_code == 2


@pytest.mark.timeout(20)
def test_one_tiny_run_prints_a_table_and_writes_json(tmp_path: Path) -> None:
    backend = available_backends()[0]
    out = tmp_path / "results.json"
    args = ["bench", "-b", backend, "-s", "connect", "-n", "5", "--runs", "1", "--json", str(out)]
    result = runner.invoke(app, args, prog_name="chatkit")
    assert result.exit_code == 0, result.output
    assert "connect - 5 clients (median of 1 run)" in result.output
    report = BenchReport.from_json(out.read_text())
    assert [s.backend for s in report.summaries] == [backend]
    assert report.summaries[0].metrics["joined"] == 5
    assert report.settings["runs"] == 1
