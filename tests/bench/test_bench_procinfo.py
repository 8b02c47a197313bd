"""Reading memory and CPU time from /proc, and the server subprocess's start and stop."""

from __future__ import annotations

import os
import resource

import pytest

from chatkit.bench.procinfo import (
    ProcInfoError,
    cpu_seconds,
    own_cpu_seconds,
    raise_open_files_limit,
    rss_kib,
)
from chatkit.bench.runner import READY_PATTERN, ServerProcess, ServerStartError


def test_memory_and_cpu_of_this_process() -> None:
    assert 1_000 < rss_kib(os.getpid()) < 10_000_000
    assert cpu_seconds(os.getpid()) >= 0
    assert own_cpu_seconds() > 0


def test_a_process_that_does_not_exist_is_a_readable_error() -> None:
    with pytest.raises(ProcInfoError, match="cannot read memory of process"):
        rss_kib(2**22 + 1)  # above the kernel's pid_max, so never a real process
    with pytest.raises(ProcInfoError, match="cannot read CPU time of process"):
        cpu_seconds(2**22 + 1)


def test_open_files_limit_is_raised_up_to_the_hard_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        assert raise_open_files_limit(soft) == soft  # never lowered
        wanted = soft + 1 if hard == resource.RLIM_INFINITY else hard
        assert raise_open_files_limit(wanted) == wanted
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_ready_line_gives_the_port() -> None:
    match = READY_PATTERN.search("chatkit: listening on 127.0.0.1:43211 (selectors backend)")
    assert match is not None and match["port"] == "43211"


@pytest.mark.timeout(20)
def test_a_server_that_cannot_start_is_reported_with_its_output() -> None:
    server = ServerProcess("no-such-backend", sendq=65536)
    with pytest.raises(ServerStartError, match="exited with code") as caught:
        server.start()
    assert "no-such-backend" in str(caught.value)
    assert server.stop() not in (None, 0)  # already reaped; stop() is idempotent
