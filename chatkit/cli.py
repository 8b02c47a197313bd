"""The ``chatkit`` command line: thin Typer commands that translate options into calls.

Domain errors are caught once, here at the edge, and become a readable message with exit code 1.
"""

from __future__ import annotations

import subprocess
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from chatkit import __version__
from chatkit.bench.scenarios import Scenario, Settings
from chatkit.config import ServerConfig
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


#: Option defaults come from the config, so ``--help`` and ``ServerConfig`` cannot disagree.
_SERVER_DEFAULTS = ServerConfig()


class LogLevel(StrEnum):
    """How much the server logs: ``info`` shows every connect and disconnect."""

    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"


@app.command(rich_help_panel="Server")
def serve(
    *,
    backend: Annotated[
        str,
        typer.Option(
            help="Concurrency model that runs the server: threading, selectors, asyncio, or one"
            " a package registers (entry points 'chatkit.backends').",
            envvar="CHATKIT_BACKEND",
        ),
    ] = "asyncio",
    host: Annotated[
        str,
        typer.Option(
            help="Address to listen on; 0.0.0.0 opens it to your LAN.", envvar="CHATKIT_HOST"
        ),
    ] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option(
            help="TCP port (0 lets the OS pick one).", min=0, max=65535, envvar="CHATKIT_PORT"
        ),
    ] = 6667,
    server_name: Annotated[
        str, typer.Option(help="The server's name in replies.", envvar="CHATKIT_SERVER_NAME")
    ] = "chatkit.local",
    motd: Annotated[
        Path | None,
        typer.Option(help="Text file with the message of the day.", envvar="CHATKIT_MOTD"),
    ] = None,
    password: Annotated[
        str | None,
        typer.Option(
            help="Connection password clients must send (PASS).", envvar="CHATKIT_PASSWORD"
        ),
    ] = None,
    max_clients: Annotated[
        int,
        typer.Option(help="Connections served at once.", min=1, envvar="CHATKIT_MAX_CLIENTS"),
    ] = _SERVER_DEFAULTS.max_clients,
    sendq: Annotated[
        int,
        typer.Option(
            help="Bytes queued for one client before it is dropped (SendQ exceeded).",
            min=1024,
            envvar="CHATKIT_SENDQ",
        ),
    ] = _SERVER_DEFAULTS.sendq,
    flood: Annotated[
        bool,
        typer.Option(
            "--flood/--no-flood", help="Flood control (off for benchmarks).", envvar="CHATKIT_FLOOD"
        ),
    ] = True,
    ping_interval: Annotated[
        float,
        typer.Option(
            help="Seconds of silence before the server sends PING.",
            min=1.0,
            envvar="CHATKIT_PING_INTERVAL",
        ),
    ] = _SERVER_DEFAULTS.ping_interval,
    log_level: Annotated[
        LogLevel, typer.Option(help="How much to log.", envvar="CHATKIT_LOG_LEVEL")
    ] = LogLevel.info,
) -> None:
    """Run the chat server until Ctrl-C (or SIGTERM); clients get a goodbye, exit code 0.

    A second Ctrl-C during the goodbye exits at once, with code 130. A problem with the
    settings (port in use, unknown host or backend, unreadable MOTD file) exits with code 1.
    """
    from chatkit.config import ConfigError
    from chatkit.serve_cli import SERVE_THEME, ServeError, configure_logging, read_motd, run_server

    out = Console(theme=SERVE_THEME, highlight=False)
    configure_logging(log_level.value, Console(stderr=True, theme=SERVE_THEME))
    try:
        config = ServerConfig(
            host=host,
            port=port,
            server_name=server_name,
            password=password,
            max_clients=max_clients,
            sendq=sendq,
            flood_control=flood,
            ping_interval=ping_interval,
        )
        if motd is not None:
            config.motd = read_motd(motd)
        run_server(backend, config, out)
    except (ServeError, ConfigError) as exc:
        err_console.print(Text(f"Error: {exc}", style="bold red"), soft_wrap=True)
        raise typer.Exit(code=1) from None


# --- chatkit join: the terminal client ----------------------------------------------------------


@app.command()
def join(
    host: Annotated[
        str | None,
        typer.Argument(
            help="Server to connect to.", envvar="CHATKIT_HOST", show_default="127.0.0.1"
        ),
    ] = None,
    *,
    host_option: Annotated[
        str | None,
        typer.Option(
            "--host",
            help="The same as HOST, as in chatkit serve --host (wins if both are given).",
            show_default=False,
        ),
    ] = None,
    port: Annotated[
        int, typer.Option(help="Server port.", min=1, max=65535, envvar="CHATKIT_PORT")
    ] = 6667,
    nick: Annotated[
        str | None,
        typer.Option(help="Your nick.", envvar="CHATKIT_NICK", show_default="your login name"),
    ] = None,
    room: Annotated[
        list[str] | None,
        typer.Option(help="Room to join; repeat for more.", show_default="#lobby"),
    ] = None,
    password: Annotated[
        str | None,
        typer.Option(help="Server password (PASS).", envvar="CHATKIT_PASSWORD"),
    ] = None,
    debug: Annotated[
        bool, typer.Option(help="Show every protocol line sent (->) and received (<-).")
    ] = False,
    plain: Annotated[
        bool,
        typer.Option(help="Plain lines on stdin/stdout, no colours (automatic when piped)."),
    ] = False,
    reconnect: Annotated[
        bool, typer.Option(help="Reconnect with backoff when the connection fails or drops.")
    ] = True,
    attempts: Annotated[
        int, typer.Option(help="Connection attempts in a row before giving up.", min=1)
    ] = 6,
) -> None:
    """Chat in a terminal: join rooms on a chatkit (or any IRC) server.

    Type text to talk in the current room, /help for the commands.

    Piped input (or --plain) sends each line to the room, then quits:
    echo hi | chatkit join --nick bot
    """
    import asyncio
    import sys

    from chatkit.client.options import ClientOptions, default_nick, valid_nick

    chosen_nick = nick if nick is not None else default_nick()
    if not valid_nick(chosen_nick):
        err_console.print(
            f"Error: {chosen_nick!r} is not a valid nick: use letters, digits and _-[]{{}}|^`, "
            "starting with a letter.",
            markup=False,
        )
        raise typer.Exit(code=1)
    names = [name.strip() for entry in (room or ["#lobby"]) for name in entry.split(",")]
    names = [name for name in names if name]
    if not names or any(" " in name for name in names):
        err_console.print("Error: --room needs a room name without spaces.", markup=False)
        raise typer.Exit(code=2)
    rooms = tuple(name if name[:1] in "#&" else "#" + name for name in names)
    options = ClientOptions(
        nick=chosen_nick,
        host=host_option or host or "127.0.0.1",
        port=port,
        rooms=rooms,
        password=password,
        debug=debug,
        reconnect=reconnect,
        attempts=attempts,
    )
    try:
        if plain or not sys.stdin.isatty() or not sys.stdout.isatty():
            from chatkit.client.plain import run_plain

            code = asyncio.run(run_plain(options, sys.stdin, sys.stdout, sys.stderr))
        else:
            from chatkit.client.terminal import run_terminal

            code = asyncio.run(run_terminal(options))
    except KeyboardInterrupt:  # Ctrl-C before the client could install its own handling
        code = 0
    raise typer.Exit(code=code)


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


@app.command("bench")
def bench(
    *,
    backend: Annotated[
        list[str] | None,
        typer.Option(
            "--backend",
            "-b",
            help="Backend to measure; repeat for several. Default: every installed backend.",
            envvar="CHATKIT_BENCH_BACKEND",
        ),
    ] = None,
    scenario: Annotated[
        list[Scenario] | None,
        typer.Option(
            "--scenario",
            "-s",
            help="Scenario to run; repeat for several. Default: all three.",
            envvar="CHATKIT_BENCH_SCENARIO",
        ),
    ] = None,
    clients: Annotated[
        list[int] | None,
        typer.Option(
            "--clients",
            "-n",
            min=2,
            max=20_000,
            help="Clients per run (default 1000); repeat to measure several sizes.",
            envvar="CHATKIT_BENCH_CLIENTS",
        ),
    ] = None,
    duration: Annotated[
        float,
        typer.Option(
            min=0.2,
            max=60.0,
            help="Seconds of sending in fanout, and in each phase of slow.",
            envvar="CHATKIT_BENCH_DURATION",
        ),
    ] = 5.0,
    runs: Annotated[
        int,
        typer.Option(
            min=1,
            max=20,
            help="Runs per measurement; tables show the median.",
            envvar="CHATKIT_BENCH_RUNS",
        ),
    ] = 3,
    senders: Annotated[
        int,
        typer.Option(
            min=1,
            max=1000,
            help="Clients sending into the room in fanout and slow.",
            envvar="CHATKIT_BENCH_SENDERS",
        ),
    ] = 10,
    rate: Annotated[
        float,
        typer.Option(
            min=0.0,
            help="fanout: messages/s into the room from all senders; 0 = as fast as it goes.",
            envvar="CHATKIT_BENCH_RATE",
        ),
    ] = 0.0,
    sendq: Annotated[
        int,
        typer.Option(
            min=4096,
            help="Bytes a client may have queued before the server drops it (serve --sendq).",
            envvar="CHATKIT_BENCH_SENDQ",
        ),
    ] = 262_144,
    json_file: Annotated[
        Path | None,
        typer.Option(
            "--json",
            help="Also write every run's numbers to this JSON file.",
            envvar="CHATKIT_BENCH_JSON",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Measure the backends side by side: connect, fan-out and a slow client.

    Each run starts a fresh [bold]chatkit serve[/] on 127.0.0.1 and drives it from an
    asyncio load generator in this process.
    """
    from chatkit.bench.progress import BenchProgress
    from chatkit.bench.report import BENCH_THEME, print_report
    from chatkit.bench.suite import BenchError, Plan, run_plan
    from chatkit.registry import available_backends

    known = available_backends()
    unknown = sorted(set(backend or ()) - set(known))
    if unknown:
        err_console.print(
            f"unknown backend {', '.join(unknown)}; choose from {', '.join(known)}",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(code=1)
    plan = Plan(
        backends=tuple(dict.fromkeys(backend or known)),
        scenarios=tuple(dict.fromkeys(scenario or list(Scenario))),
        clients=tuple(dict.fromkeys(clients or [1000])),
        runs=runs,
        settings=Settings(duration=duration, senders=senders, rate=rate),
        sendq=sendq,
    )
    out = Console(theme=BENCH_THEME)
    try:
        with BenchProgress(out, enabled=out.is_terminal) as progress:
            report = run_plan(plan, reporter=progress, on_run=progress.on_run)
    except BenchError as error:
        err_console.print(f"chatkit bench: {error}", markup=False, highlight=False)
        raise typer.Exit(code=1) from None
    except KeyboardInterrupt:
        err_console.print("chatkit bench: interrupted; the server was stopped.")
        raise typer.Exit(code=130) from None
    print_report(report, out)
    if json_file is not None:
        try:
            json_file.write_text(report.to_json())
        except OSError as error:
            err_console.print(f"chatkit bench: cannot write {json_file}: {error}", markup=False)
            raise typer.Exit(code=1) from None
        out.print(f"results written to {json_file}", markup=False, highlight=False)


def main() -> None:
    """Entry point for the ``chatkit`` script and ``python -m chatkit``."""
    app()
