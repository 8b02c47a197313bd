"""Rich progress bars for a running bench: one bar for the runs, one for the current stage."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

__all__ = ["BenchProgress"]


class BenchProgress:
    """Implements the scenarios' ``Reporter`` and the suite's ``on_run`` with two bars."""

    def __init__(self, console: Console, *, enabled: bool = True) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not enabled,
        )
        self._runs: TaskID = self._progress.add_task("runs", total=None)
        self._stage: TaskID = self._progress.add_task("", total=None)

    def __enter__(self) -> BenchProgress:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def on_run(self, number: int, total: int, label: str) -> None:
        self._progress.update(
            self._runs, description=f"run: {label}", completed=number - 1, total=total
        )

    def stage(self, description: str, total: float) -> None:
        self._progress.reset(self._stage, description=description, total=total)

    def advance(self, amount: float = 1) -> None:
        self._progress.advance(self._stage, amount)
