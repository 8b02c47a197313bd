"""The same client, unchanged, against another IRC server: ngIRCd (Debian package ``ngircd``).

ngIRCd differs from chatkit's server in the details a client must not assume: it welcomes with
other texts, sends ``JOIN :#room`` with a colon, folds names by ``CASEMAPPING=ascii``, allows
nicks of at most 9 characters, slows down bursts of commands (``PENALTY``) and quotes QUIT
reasons. The server runs as a subprocess on 127.0.0.1 with a configuration file written for
the test, and is stopped by its PID.
"""

from __future__ import annotations

import asyncio
import io
import queue
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from client_helpers import PlainClient, Transcript, free_port, options

from chatkit.client.plain import run_plain

NGIRCD = shutil.which("ngircd")
pytestmark = pytest.mark.skipif(
    NGIRCD is None, reason="ngircd is not installed (Debian package: ngircd)"
)

#: How long ngIRCd may take to say it is listening.
START_TIMEOUT = 10.0

CONFIG = """\
[Global]
Name = irc.chatkit.test
Info = chatkit client test
Listen = 127.0.0.1
Ports = {port}
MotdPhrase = ngIRCd for the chatkit client tests
IncludeDir = {include_dir}

[Options]
# No PAM, ident or DNS look-ups: nothing outside this machine, no delay at connect.
PAM = no
Ident = no
DNS = no
"""


def start_ngircd(directory: Path) -> tuple[subprocess.Popen[str], int, list[str]]:
    """Start ngIRCd on a free port; return it, the port and its log once it is listening."""
    assert NGIRCD is not None
    port = free_port()
    include_dir = directory / "conf.d"  # empty: keep the system's configuration out
    include_dir.mkdir(exist_ok=True)
    config = directory / "ngircd.conf"
    config.write_text(CONFIG.format(port=port, include_dir=include_dir))
    # -n: stay in the foreground and log to stdout, which we read for the ready line.
    process = subprocess.Popen(
        [NGIRCD, "-n", "-f", str(config)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    stdout = process.stdout
    lines: queue.Queue[str | None] = queue.Queue()

    def drain() -> None:  # keep reading, or ngIRCd would block on a full pipe
        for line in stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=drain, name="ngircd log", daemon=True).start()
    log: list[str] = []
    while True:
        try:
            line = lines.get(timeout=START_TIMEOUT)
        except queue.Empty:
            line = None
        if line is None:  # it exited (e.g. the port was taken) or never became ready
            stop(process)
            raise RuntimeError("ngircd did not start:\n" + "\n".join(log))
        log.append(line)
        if "Now listening on" in line:
            return process, port, log


def stop(process: subprocess.Popen[str]) -> None:
    """Stop our ngIRCd by its PID: SIGTERM, then SIGKILL if it does not go."""
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


@pytest.fixture
def ngircd_port(tmp_path: Path) -> Iterator[int]:
    for attempt in range(3):  # another program may take the free port before ngIRCd does
        try:
            process, port, _ = start_ngircd(tmp_path)
            break
        except RuntimeError:
            if attempt == 2:
                raise
    try:
        yield port
    finally:
        stop(process)


@pytest.mark.timeout(60)
def test_two_clients_chat_through_ngircd(ngircd_port: int) -> None:
    port = ngircd_port

    async def scenario() -> tuple[PlainClient, PlainClient, Transcript]:
        alice = await PlainClient.joined("alice", port)
        bob = await PlainClient.joined("bob", port)
        await alice.out.wait_for("--> bob joined #lobby")
        await bob.out.wait_for("--- In #lobby: @alice bob")

        bob.stdin.send("hello alice, [b]not bold[/b]")
        await alice.out.wait_for("[#lobby] <bob> hello alice, [b]not bold[/b]")
        alice.stdin.send("/topic Welcome to ngIRCd")
        await bob.out.wait_for("--- alice set the topic of #lobby: Welcome to ngIRCd")
        bob.stdin.send("/names")
        await bob.out.wait_for("--- In #lobby: @alice bob", count=2)
        alice.stdin.send("/nick alicia")
        await bob.out.wait_for("--- alice is now alicia")
        bob.stdin.send("/me waves")
        await alice.out.wait_for("[#lobby] * bob waves")
        bob.stdin.send("/msg alicia psst")
        await alice.out.wait_for("*bob* psst")
        bob.stdin.send("/topic")
        await bob.out.wait_for("--- Topic of #lobby: Welcome to ngIRCd")

        # A third "bob": ngIRCd says 433 in its own words; the client takes bob_.
        third = Transcript()
        code = await run_plain(options("bob", port), io.StringIO("me too\n"), third)
        assert code == 0
        await alice.out.wait_for("[#lobby] <bob_> me too")

        alice.stdin.send("/quit see you")
        assert await alice.finish() == 0
        await bob.out.wait_for("<-- alicia quit")
        assert await bob.finish() == 0
        return alice, bob, third

    alice, bob, third = asyncio.run(scenario())
    assert "--> You joined #lobby" in alice.out.lines()
    assert "--- You are now known as alicia" in alice.out.lines()
    assert any(
        line.startswith("!!! bob Nickname already in use; trying bob_") for line in third.lines()
    )
    [quit_line] = [line for line in bob.out.lines() if "alicia quit" in line]
    assert "see you" in quit_line
    errors = [line for line in alice.out.lines() + bob.out.lines() if line.startswith("!!!")]
    assert errors == []
