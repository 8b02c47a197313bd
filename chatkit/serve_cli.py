"""What ``chatkit serve`` does, kept out of ``cli.py`` so the command itself stays thin.

Runs one backend in the foreground: a one-line banner (address, backend, how to join), Rich
log lines for connects, disconnects and errors, Ctrl-C or SIGTERM for a graceful stop (every
client gets ``ERROR``, exit code 0), a second Ctrl-C to leave at once (exit code 130, or
143 for a second SIGTERM).
Problems the user can fix (port in use, unknown host, unreadable MOTD file, unknown backend)
become :class:`ServeError` with a plain message; the CLI turns that into exit code 1.
"""

from __future__ import annotations

import errno
import logging
import os
import shlex
import shutil
import signal
import socket
import sys
import textwrap
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from rich.console import Console
from rich.logging import RichHandler
from rich.text import Text
from rich.theme import Theme

from backends.base import Server, describe_error
from chatkit.config import ServerConfig
from chatkit.registry import BackendError, load_backend

__all__ = ["SERVE_THEME", "ServeError", "configure_logging", "read_motd", "run_server"]

SERVE_THEME = Theme(
    {
        "serve.address": "bold cyan",
        "serve.backend": "bold magenta",
        "serve.hint": "dim",
        "serve.ready": "bold green",
        "serve.stopped": "yellow",
    }
)

#: A second signal cuts the graceful shutdown short with the shell's convention for "killed
#: by signal N", 128 + N: 130 for a second Ctrl-C (SIGINT), 143 for a second SIGTERM.
FORCED_EXIT_BASE = 128
#: A MOTD file is a few lines of text; anything bigger is a mistake (a log, /dev/zero ...).
MOTD_MAX_BYTES = 64 * 1024
#: Longest MOTD line we send as is: with ":server 372 nick :- " in front (at most ~110 bytes
#: with our name and nick limits) it still fits IRC's 512. Longer lines are wrapped.
MOTD_LINE_BYTES = 400


class ServeError(Exception):
    """A problem the user can fix; the message is shown as is, then ``chatkit`` exits with 1."""


def read_motd(path: Path) -> tuple[str, ...]:
    """The message of the day from the UTF-8 text file ``path``, one entry per line."""
    try:
        if path.is_dir():
            raise ServeError(f"the MOTD file {path} is a directory, not a text file")
        with path.open("rb") as motd_file:
            data = motd_file.read(MOTD_MAX_BYTES + 1)
    except OSError as exc:
        raise ServeError(f"cannot read the MOTD file {path}: {describe_error(exc)}") from None
    if len(data) > MOTD_MAX_BYTES:
        raise ServeError(f"the MOTD file {path} is over {MOTD_MAX_BYTES // 1024} KiB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ServeError(
            f"the MOTD file {path} is not UTF-8 text (byte {data[exc.start]:#04x} "
            f"at offset {exc.start})"
        ) from None
    if "\0" in text:
        raise ServeError(f"the MOTD file {path} contains NUL bytes: is it really text?")
    lines: list[str] = []
    for line in text.splitlines():
        if len(line.encode()) <= MOTD_LINE_BYTES:
            lines.append(line)
        else:  # 4 bytes per character at most, so each piece fits
            lines.extend(textwrap.wrap(line, MOTD_LINE_BYTES // 4))
    return tuple(lines)


def configure_logging(level: str, console: Console) -> None:
    """Send chatkit's log records (connects, disconnects, errors) to a Rich handler."""
    handler = RichHandler(console=console, show_path=False, markup=False, rich_tracebacks=False)
    handler.setFormatter(logging.Formatter("%(message)s", datefmt="[%X]"))
    logger = logging.getLogger("chatkit")
    logger.handlers[:] = [handler]
    logger.setLevel(level.upper())
    logger.propagate = False


def run_server(backend: str, config: ServerConfig, console: Console) -> None:
    """Run ``backend`` with ``config`` until Ctrl-C or SIGTERM. Raises :class:`ServeError`."""
    try:
        server_class = load_backend(backend)
    except BackendError as exc:
        raise ServeError(str(exc)) from None
    server = server_class(config)
    ready = threading.Event()

    def on_ready(address: tuple[str, int]) -> None:
        ready.set()
        _print_banner(console, server, address)

    with _graceful_signals(server, console):
        try:
            server.serve(on_ready)
        except OSError as exc:
            if ready.is_set():
                raise
            raise ServeError(_listen_error(config, exc)) from None
    console.print(Text("chatkit: server stopped", style="serve.stopped"))


def _print_banner(console: Console, server: Server, address: tuple[str, int]) -> None:
    """One line: where we listen, with which backend, and the command that joins us.

    It starts with "chatkit: listening on HOST:PORT", which scripts and tests wait for.
    """
    host, port = address
    shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    join_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    console.print(
        Text.assemble(
            ("chatkit: listening on ", "serve.ready"),
            (shown, "serve.address"),
            " (",
            (server.name, "serve.backend"),
            " backend); join with: ",
            (f"{program_name()} join {join_host} --port {port}", "serve.hint"),
            " (or any IRC client); Ctrl-C stops it",
        ),
        soft_wrap=True,
    )


def program_name() -> str:
    """How the user started chatkit, so the banner's join command works when pasted."""
    argv0 = sys.argv[0] if sys.argv else ""
    path = Path(argv0)
    if path.name == "chatkit":
        on_path = shutil.which("chatkit")
        if on_path is not None and path.exists() and Path(on_path).samefile(path):
            return "chatkit"
        return shlex.quote(argv0)  # e.g. ".venv/bin/chatkit", not on PATH
    if path.name == "__main__.py" and path.parent.name == "chatkit":
        return "python -m chatkit"
    return "chatkit"


def _listen_error(config: ServerConfig, exc: OSError) -> str:
    where = f"{config.host}:{config.port}"
    if isinstance(exc, socket.gaierror):
        return f"cannot listen on {where}: unknown host {config.host!r} ({exc.strerror})"
    if exc.errno == errno.EADDRINUSE:
        return f"cannot listen on {where}: the port is already in use (try another --port)"
    if exc.errno == errno.EACCES:
        return f"cannot listen on {where}: permission denied (ports below 1024 need privileges)"
    return f"cannot listen on {where}: {describe_error(exc)}"


@contextmanager
def _graceful_signals(server: Server, console: Console) -> Iterator[None]:
    """Ctrl-C and SIGTERM ask the server to stop; a second one exits at once.

    Signal handlers can only be installed from the main thread; elsewhere (a test running
    the CLI in a thread) this does nothing and the caller stops the server itself.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signals_seen = 0

    def handle(signum: int, frame: FrameType | None) -> None:
        nonlocal signals_seen
        signals_seen += 1
        if signals_seen > 1:
            os._exit(FORCED_EXIT_BASE + signum)
        console.print(
            Text(f"chatkit: {signal.Signals(signum).name}, shutting down", style="serve.stopped")
        )
        server.shutdown()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
