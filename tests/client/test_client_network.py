"""The client over real sockets: two plain-mode clients talking through every backend,
reconnecting after a server restart, and failing clearly when there is no server."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from client_helpers import PlainClient, Transcript, free_port, options
from conftest import ServerFactory

from backends import running_server
from chatkit.client.connection import Connection
from chatkit.client.events import Event
from chatkit.client.plain import run_plain
from chatkit.client.state import ClientState
from chatkit.config import ServerConfig

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(30)
def test_two_plain_clients_talk(chat_server: tuple[str, int]) -> None:
    _, port = chat_server

    async def scenario() -> tuple[int, int, Transcript, Transcript]:
        alice = await PlainClient.joined("alice", port)
        alice_out = alice.out
        bob_out = Transcript()
        bob_in = io.StringIO("hello alice, [b]not bold[/b]\n/me waves\n/msg alice psst\n")
        bob_code = await run_plain(options("bob", port), bob_in, bob_out)
        await alice_out.wait_for("<-- bob quit")
        alice.stdin.send("bye bob")  # bob is gone: this one only lands in alice's own transcript
        await alice_out.wait_for("<alice> bye bob")
        return bob_code, await alice.finish(), alice_out, bob_out

    bob_code, alice_code, alice_out, bob_out = asyncio.run(scenario())
    assert (bob_code, alice_code) == (0, 0)
    heard = alice_out.lines()
    assert "--> bob joined #lobby" in heard
    assert "[#lobby] <bob> hello alice, [b]not bold[/b]" in heard
    assert "[#lobby] * bob waves" in heard
    assert "*bob* psst" in heard
    said = bob_out.lines()
    assert "[#lobby] <bob> hello alice, [b]not bold[/b]" in said
    assert "-> *alice* psst" in said


@pytest.mark.timeout(30)
def test_piped_command_line_client_delivers_then_quits(chat_server: tuple[str, int]) -> None:
    """``echo ... | python -m chatkit join --nick bot``: the real entry point, as a script would."""
    _, port = chat_server

    async def scenario() -> tuple[subprocess.CompletedProcess[str], Transcript]:
        listener = await PlainClient.joined("ears", port)
        heard = listener.out
        command = [sys.executable, "-m", "chatkit", "join", "--nick", "bot", "--port", str(port)]
        lines = "".join(f"line {n}\n" for n in range(5))
        result = await asyncio.to_thread(
            subprocess.run,
            command,
            input=lines,
            capture_output=True,
            text=True,
            timeout=20,
            cwd=ROOT,
            env={**os.environ, "NO_COLOR": "1"},
        )
        await heard.wait_for("<-- bot quit")
        assert await listener.finish() == 0
        return result, heard

    result, heard = asyncio.run(scenario())
    assert result.returncode == 0, result.stderr
    assert "\x1b[" not in result.stdout  # plain: no colours when piped
    assert [line for line in heard.lines() if "<bot>" in line] == [
        f"[#lobby] <bot> line {n}" for n in range(5)
    ]


@pytest.mark.timeout(30)
def test_sigterm_sends_quit_and_exits_0(chat_server: tuple[str, int]) -> None:
    """``kill PID`` (a service manager, ``timeout``) leaves as politely as Ctrl-C."""
    _, port = chat_server

    async def scenario() -> int:
        listener = await PlainClient.joined("ears", port)
        bot = await asyncio.create_subprocess_exec(
            *[sys.executable, "-m", "chatkit", "join", "--nick", "bot", "--port", str(port)],
            stdin=asyncio.subprocess.PIPE,  # held open: only the signal can end it
            stdout=asyncio.subprocess.DEVNULL,
            cwd=ROOT,
        )
        try:
            await listener.out.wait_for("--> bot joined #lobby")
            bot.terminate()
            code = await asyncio.wait_for(bot.wait(), 10)
        finally:
            if bot.returncode is None:
                bot.kill()
                await bot.wait()
        await listener.out.wait_for("<-- bot quit (Quit: Interrupted)")
        assert await listener.finish() == 0
        return code

    assert asyncio.run(scenario()) == 0


@pytest.mark.timeout(30)
def test_reconnects_and_rejoins_after_a_server_restart(start_server: ServerFactory) -> None:
    async def scenario() -> tuple[int, Transcript]:
        first = start_server(0)
        _, port = await asyncio.to_thread(first.__enter__)
        client = PlainClient("phoenix", port, rooms=("#lobby", "#ash"))
        out = client.out
        await out.wait_for("--> You joined #ash")
        await asyncio.to_thread(first.__exit__, None, None, None)
        await out.wait_for("Reconnecting in")
        second = start_server(port)
        await asyncio.to_thread(second.__enter__)
        try:
            await out.wait_for("--> You joined #lobby", count=2)
            await out.wait_for("--> You joined #ash", count=2)
            bob_code = await run_plain(
                options("bob", port), io.StringIO("welcome back\n"), Transcript()
            )
            await out.wait_for("[#lobby] <bob> welcome back")
            code = await client.finish()
        finally:
            await asyncio.to_thread(second.__exit__, None, None, None)
        assert bob_code == 0
        return code, out

    code, out = asyncio.run(scenario())
    assert code == 0
    assert any(line.startswith("-*- Disconnected:") for line in out.lines())


@pytest.mark.timeout(10)
def test_no_server_gives_up_after_bounded_attempts() -> None:
    port = free_port()
    out = Transcript()
    code = asyncio.run(run_plain(options("alone", port, attempts=3), io.StringIO("hi\n"), out))
    assert code == 1
    text = out.getvalue()
    assert text.count("connection refused (is a server running there?") == 3
    assert "Reconnecting in 0.05 s (attempt 2 of 3)" in text
    assert "Reconnecting in 0.1 s (attempt 3 of 3)" in text
    assert text.rstrip().endswith("!!! Giving up after 3 attempts")


@pytest.mark.timeout(10)
def test_no_reconnect_fails_at_once() -> None:
    port = free_port()
    out = Transcript()
    code = asyncio.run(run_plain(options("alone", port, reconnect=False), io.StringIO(""), out))
    assert code == 1
    assert out.lines() == [
        f"-*- Connecting to 127.0.0.1:{port} ...",
        f"!!! Cannot connect to 127.0.0.1:{port}: connection refused "
        "(is a server running there? start one with: chatkit serve)",
    ]


@pytest.mark.timeout(30)
def test_nick_in_use_gets_a_suffix_over_the_wire(chat_server: tuple[str, int]) -> None:
    _, port = chat_server

    async def scenario() -> Transcript:
        first = await PlainClient.joined("alice", port)
        second = Transcript()
        code = await run_plain(options("alice", port), io.StringIO("who am i\n"), second)
        assert code == 0
        await first.out.wait_for("[#lobby] <alice_> who am i")
        assert await first.finish() == 0
        return second

    said = asyncio.run(scenario()).lines()
    assert "!!! alice Nickname is already in use; trying alice_" in said


@pytest.mark.timeout(30)
def test_password_is_sent_and_a_wrong_one_stops_the_client(backend: str) -> None:
    config = ServerConfig(host="127.0.0.1", port=0, password="s3cret")

    async def scenario(port: int) -> tuple[int, int, Transcript, Transcript]:
        right, wrong = Transcript(), Transcript()
        right_code = await run_plain(
            options("alice", port, password="s3cret"), io.StringIO("let me in\n"), right
        )
        wrong_code = await run_plain(
            options("mallory", port, password="guess"), io.StringIO("let me in\n"), wrong
        )
        return right_code, wrong_code, right, wrong

    with running_server(backend, config) as (_, port):
        right_code, wrong_code, right, wrong = asyncio.run(scenario(port))
    assert right_code == 0 and "[#lobby] <alice> let me in" in right.lines()
    assert wrong_code == 1  # no reconnecting: the same password would fail again
    assert wrong.lines()[-1] == "!!! Not reconnecting: Password incorrect"
    assert not any("Reconnecting" in line for line in wrong.lines())


@pytest.mark.timeout(20)
def test_quitting_during_a_hanging_connect_is_immediate() -> None:
    """A connect to a server that never answers can take ``connect_timeout``; Ctrl-C (here:
    ``quit``) must not wait for it. The listener's queue is full, so our SYN goes unanswered."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers = [socket.socket() for _ in range(3)]
        for filler in fillers:
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))

        async def scenario() -> int:
            connecting = asyncio.Event()

            def show(events: Sequence[Event]) -> None:
                connecting.set()  # the first thing shown: "Connecting to ..."

            state = ClientState("alice")
            client = options("alice", port, connect_timeout=30.0, quit_timeout=1.0)
            connection = Connection(state, client, show)
            task = asyncio.create_task(connection.run())
            await asyncio.wait_for(connecting.wait(), 5)
            await asyncio.sleep(0)  # into open_connection, which will not get anywhere
            assert not task.done() and not state.connected
            return await asyncio.wait_for(connection.quit(task), 3)

        try:
            assert asyncio.run(scenario()) == 0
        finally:
            for filler in fillers:
                filler.close()


@pytest.mark.timeout(20)
def test_a_server_that_goes_silent_counts_as_lost() -> None:
    """A dead link sends no FIN: after ``ping_interval`` of silence the client PINGs, and
    ``ping_timeout`` without an answer ends the connection like a close would."""

    async def scenario() -> tuple[int, Transcript, bytes]:
        heard = bytearray()

        async def mute(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while data := await reader.read(4096):  # reads everything, answers nothing
                heard.extend(data)
            writer.close()

        server = await asyncio.start_server(mute, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        out = Transcript()
        async with server:
            settings = {"ping_interval": 0.2, "ping_timeout": 0.2, "attempts": 1}
            code = await run_plain(options("alice", port, **settings), io.StringIO(""), out)
        return code, out, bytes(heard)

    code, out, heard = asyncio.run(scenario())
    assert code == 1
    assert "-*- Disconnected: no answer from the server for 0.2 s" in out.lines()
    assert b"PING chatkit-1\r\n" in heard
