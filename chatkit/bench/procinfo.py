"""Memory and CPU time of processes, from ``/proc`` (so the bench needs Linux).

Why not psutil: these are three numbers, and ``/proc/PID/status`` and ``/proc/PID/stat`` give
them directly. The server's CPU time tells whether *it* was the bottleneck; the generator's own
CPU time (:func:`own_cpu_seconds`) tells whether we were measuring the generator instead.
"""

from __future__ import annotations

import os
import resource
import sys
from pathlib import Path

from chatkit.bench import BenchError

__all__ = [
    "ProcInfoError",
    "cpu_seconds",
    "own_cpu_seconds",
    "raise_open_files_limit",
    "require_linux",
    "rss_kib",
]

_PROC = Path("/proc")


class ProcInfoError(BenchError):
    """A process's memory or CPU time could not be read (not Linux, or the process is gone)."""


def require_linux() -> None:
    """Fail early with a readable message where ``/proc`` does not exist."""
    if not sys.platform.startswith("linux") or not (_PROC / "self" / "stat").exists():
        raise ProcInfoError(
            "chatkit bench reads server memory and CPU time from /proc, which needs Linux "
            f"(this is {sys.platform})"
        )


def rss_kib(pid: int) -> int:
    """Resident set size of process ``pid`` in KiB (``VmRSS`` in ``/proc/PID/status``)."""
    try:
        text = (_PROC / str(pid) / "status").read_text()
    except OSError as exc:
        raise ProcInfoError(f"cannot read memory of process {pid}: {exc}") from exc
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise ProcInfoError(f"process {pid} has no VmRSS (a zombie?)")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by all threads of process ``pid``."""
    try:
        text = (_PROC / str(pid) / "stat").read_text()
    except OSError as exc:
        raise ProcInfoError(f"cannot read CPU time of process {pid}: {exc}") from exc
    # The command name (field 2) is in parentheses and may contain spaces: split after it.
    fields = text[text.rindex(")") + 2 :].split()
    # Fields 14 and 15 of the man page (utime, stime) are 11 and 12 after the name and state.
    ticks = int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """User + system CPU seconds of this process (the load generator), all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def raise_open_files_limit(wanted: int) -> int:
    """Raise this process's soft ``RLIMIT_NOFILE`` towards ``wanted``; return the new limit.

    Each benchmark client is one socket, and the default soft limit (often 1024) is far below
    10,000. The server subprocess inherits the raised limit, which it needs just as much.
    The hard limit cannot be raised without privileges, so we stop there.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return soft
