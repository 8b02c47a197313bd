"""The ``chatkit`` command line: thin Typer commands that translate options into calls.

Domain errors are caught once, here at the edge, and become a readable message with exit code 1.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from chatkit import __version__

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


# --- chatkit bench: benchmarks ------------------------------------------------------------------


def main() -> None:
    """Entry point for the ``chatkit`` script and ``python -m chatkit``."""
    app()
