"""Run ``chatkit serve`` in a subprocess for one benchmark run, and always end it.

A fresh process per backend and per run means no run inherits another's memory or sockets,
and the server's RSS and CPU time are its own (a server in our own process would share both
with the load generator). The process is ended by its PID: SIGTERM (a graceful shutdown),
then SIGKILL after a deadline, even when the benchmark fails or is interrupted.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import threading
from collections import deque
from types import TracebackType

from chatkit.bench import BenchError

__all__ = ["READY_PATTERN", "ServerProcess", "ServerStartError"]

#: The serve command prints the address it bound once it accepts connections; we only rely
#: on the ``host:port`` in that line.
READY_PATTERN = re.compile(r"(?P<host>127\.0\.0\.1|localhost|\[::1\]):(?P<port>\d{1,5})\b")


class ServerStartError(BenchError):
    """The server subprocess did not start, or died during the benchmark."""


class ServerProcess:
    """``chatkit serve --backend NAME`` on 127.0.0.1, a free port, no flood control.

    Use as a context manager; ``port`` and ``pid`` are set once the server is ready::

        with ServerProcess("selectors", sendq=262144) as server:
            ...  # connect to 127.0.0.1:server.port, read /proc/server.pid
    """

    def __init__(
        self,
        backend: str,
        *,
        sendq: int,
        start_timeout: float = 20.0,
        stop_timeout: float = 10.0,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.backend = backend
        self.command = [
            sys.executable, "-m", "chatkit", "serve",
            "--backend", backend,
            "--host", "127.0.0.1",
            "--port", "0",
            "--no-flood",
            "--sendq", str(sendq),
            # Logging every connect and disconnect would be part of what we measure.
            "--log-level", "warning",
            *extra_args,
        ]  # fmt: skip
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.host = "127.0.0.1"
        self.port = 0
        self._process: subprocess.Popen[str] | None = None
        #: The server's last lines of output, for error messages.
        self.output: deque[str] = deque(maxlen=40)
        self._ready = threading.Event()
        self._reader: threading.Thread | None = None

    @property
    def pid(self) -> int:
        if self._process is None:
            raise ServerStartError("the server is not running")
        return self._process.pid

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start the server and wait (bounded) for the line that says where it listens."""
        env = dict(os.environ, COLUMNS="200", NO_COLOR="1", PYTHONUNBUFFERED="1")
        self._process = subprocess.Popen(
            self.command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            env=env,
            # Its own session: Ctrl-C in the terminal reaches us, and we stop the server
            # ourselves, in order, instead of both racing to shut down.
            start_new_session=True,
        )
        # Keep draining its output for as long as it runs: a full pipe would block the
        # server in the middle of the benchmark.
        self._reader = threading.Thread(target=self._read_output, daemon=True)
        self._reader.start()
        try:
            if not self._ready.wait(self.start_timeout) or not self.port:
                raise ServerStartError(self._describe_failure())
        except BaseException:
            self.stop()
            raise

    def check_alive(self) -> None:
        """Raise :class:`ServerStartError` if the server has exited."""
        if self._process is None or self._process.poll() is not None:
            raise ServerStartError(self._describe_failure())

    def stop(self) -> int | None:
        """End the server by PID: SIGTERM, then SIGKILL after ``stop_timeout``. Idempotent."""
        process = self._process
        if process is None:
            return None
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(self.stop_timeout)
        if self._reader is not None:
            self._reader.join(self.stop_timeout)
        return process.returncode

    def _read_output(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        for line in self._process.stdout:
            self.output.append(line.rstrip("\n"))
            if not self._ready.is_set():
                match = READY_PATTERN.search(line)
                if match and int(match["port"]):
                    self.port = int(match["port"])
                    self._ready.set()
        self._ready.set()  # exited before (or after) becoming ready: wake the waiter

    def _describe_failure(self) -> str:
        process = self._process
        assert process is not None
        if self._reader is not None:
            # Output ends when the process exits: then its exit code is moments away.
            self._reader.join(1.0)
            if not self._reader.is_alive():
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(2.0)
        state = (
            f"exited with code {process.returncode}"
            if process.poll() is not None
            else f"did not say where it listens within {self.start_timeout:g} s"
        )
        tail = "\n".join(f"  | {line}" for line in list(self.output)[-15:])
        return f"the {self.backend} server ({' '.join(self.command[1:])}) {state}" + (
            f":\n{tail}" if tail else ""
        )
