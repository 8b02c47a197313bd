"""The ``chatkit`` command line: thin Typer commands that translate options into calls.

Domain errors are caught once, here at the edge, and become a readable message with exit code 1.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from chatkit import __version__
from chatkit.lessons_catalog import Lesson, UnknownLessonError, all_lessons, find_lesson

app = typer.Typer(
    name="chatkit",
    help="Learn TCP network programming with a real multi-client IRC chat server.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
console = Console()
err_console = Console(stderr=True)


def _version_callback(value: bool) -> None:
    if value:
        console.print(f"chatkit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    *,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Show the version and exit.",
            callback=_version_callback,
            is_eager=True,
        ),
    ] = False,
) -> None:
    """chatkit: a sans-I/O IRC core, three server backends, a terminal client and lessons."""


# --- chatkit serve: server backends -------------------------------------------------------------


# --- chatkit join: the terminal client ----------------------------------------------------------


# --- chatkit lesson: the numbered lessons -------------------------------------------------------

lesson_app = typer.Typer(
    help="List, read and run the numbered lessons.",
    no_args_is_help=True,
)
app.add_typer(lesson_app, name="lesson")


def _lesson_or_exit(number: int) -> Lesson:
    """The lesson with this number; an unknown number is a readable error and exit code 1."""
    try:
        return find_lesson(number)
    except UnknownLessonError as error:
        err_console.print(str(error), markup=False, highlight=False)
        raise typer.Exit(code=1) from None


@lesson_app.command("list")
def lesson_list() -> None:
    """List the lessons: number, title and file."""
    table = Table(title="chatkit lessons", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("Title")
    table.add_column("File", no_wrap=True)
    for lesson in all_lessons():
        table.add_row(str(lesson.number), Text(lesson.title), Text(f"lessons/{lesson.filename}"))
    console.print(table)


@lesson_app.command("show")
def lesson_show(
    number: Annotated[int, typer.Argument(help="Lesson number, as in `chatkit lesson list`.")],
) -> None:
    """Print a lesson's source with syntax highlighting and line numbers."""
    lesson = _lesson_or_exit(number)
    console.print(Syntax(lesson.source(), "python", line_numbers=True, word_wrap=True))


@lesson_app.command(
    "run",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def lesson_run(
    ctx: typer.Context,
    number: Annotated[int, typer.Argument(help="Lesson number, as in `chatkit lesson list`.")],
) -> None:
    """Run a lesson with this Python; extra arguments (like --check) go to the lesson."""
    lesson = _lesson_or_exit(number)
    with lesson.path() as path:
        # The lesson runs as its own process, attached to this terminal, exactly as
        # `python lessons/NN_name.py ARGS` would: its demo servers can use stdin and Ctrl-C.
        try:
            returncode = subprocess.call([sys.executable, str(path), *ctx.args])
        except KeyboardInterrupt:
            returncode = 130
    raise typer.Exit(code=returncode)


# --- chatkit bench: benchmarks ------------------------------------------------------------------


def main() -> None:
    """Entry point for the ``chatkit`` script and ``python -m chatkit``."""
    app()
