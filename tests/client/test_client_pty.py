"""``chatkit join`` in a real pseudo-terminal, used the way a person uses it.

The program runs as a subprocess whose stdin and stdout are a pty, exactly as in a terminal
window: prompt_toolkit draws the prompt, ``patch_stdout`` puts Rich's lines above it. The test
plays the terminal: it types into the pty and reads everything the program draws. Nothing inside
the client is replaced, so these tests fail if the wiring between the parts breaks (Rich printing
behind prompt_toolkit's back, the completer not attached to the prompt, Ctrl-C not sending QUIT).
"""

from __future__ import annotations

import asyncio
import codecs
import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from client_helpers import PlainClient

from backends import running_server
from chatkit.config import ServerConfig

ROOT = Path(__file__).resolve().parents[2]

ROWS, COLUMNS = 30, 100
_TOKEN = re.compile(r"\x1b\[([0-9;?]*)([A-Za-z@])|\x1b[()][0-9A-B]|\x1b.|.", re.DOTALL)


class Screen:
    """Just enough of a VT100 to tell what a person would see: characters land at the cursor,
    and the cursor moves, erases and scrolls the way prompt_toolkit and Rich tell it to.
    Lines scrolled off the top are kept in :attr:`scrolled`."""

    def __init__(self) -> None:
        self.rows = [[" "] * COLUMNS for _ in range(ROWS)]
        self.scrolled: list[str] = []
        self.row = self.column = 0
        self.autowrap = True

    def feed(self, text: str) -> None:
        for match in _TOKEN.finditer(text):
            if match[2] is not None:
                self._control(match[1], match[2])
            elif match[0] == "\n":
                self._line_feed()
            elif match[0] == "\r":
                self.column = 0
            elif match[0] == "\b":
                self.column = max(self.column - 1, 0)
            elif match[0].isprintable() and len(match[0]) == 1:
                self._put(match[0])

    def _put(self, char: str) -> None:
        if self.column >= COLUMNS:
            if not self.autowrap:
                self.column = COLUMNS - 1
            else:
                self.column = 0
                self._line_feed()
        self.rows[self.row][self.column] = char
        self.column += 1

    def _line_feed(self) -> None:
        if self.row == ROWS - 1:
            self.scrolled.append("".join(self.rows.pop(0)).rstrip())
            self.rows.append([" "] * COLUMNS)
        else:
            self.row += 1

    def _control(self, params: str, command: str) -> None:
        if params.startswith("?"):
            if params == "?7":
                self.autowrap = command == "h"
            return
        numbers = [int(n) if n else 0 for n in params.split(";")] if params else []
        count = max(numbers[0], 1) if numbers else 1
        if command == "A":
            self.row = max(self.row - count, 0)
        elif command == "B":
            self.row = min(self.row + count, ROWS - 1)
        elif command == "C":
            self.column = min(self.column + count, COLUMNS - 1)
        elif command == "D":
            self.column = max(self.column - count, 0)
        elif command == "H":
            row, column = [*numbers, 1, 1][:2]
            self.row, self.column = max(row, 1) - 1, max(column, 1) - 1
        elif command == "K":  # erase to the end of the line
            self.rows[self.row][self.column :] = [" "] * (COLUMNS - self.column)
        elif command == "J":  # erase to the end of the screen
            self.rows[self.row][self.column :] = [" "] * (COLUMNS - self.column)
            for row in self.rows[self.row + 1 :]:
                row[:] = [" "] * COLUMNS

    def lines(self) -> list[str]:
        """Scrolled-off lines, then the screen, without trailing blank lines."""
        lines = self.scrolled + ["".join(row).rstrip() for row in self.rows]
        while lines and not lines[-1]:
            lines.pop()
        return lines


@pytest.fixture
def port() -> Iterator[int]:
    """One chatkit server (the client does not care which backend runs it)."""
    with running_server("asyncio", ServerConfig(host="127.0.0.1", port=0)) as (_, bound):
        yield bound


class PtyTerminal:
    """``chatkit join`` in a 100x30 pty; the test types into it and reads what it draws."""

    def __init__(self, *args: str) -> None:
        self._master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "chatkit", "join", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=ROOT,
            # No cursor position requests: this "terminal" does not answer them.
            env={**os.environ, "TERM": "xterm-256color", "PROMPT_TOOLKIT_NO_CPR": "1"},
            start_new_session=True,  # the pty becomes its controlling terminal
        )
        os.close(slave)
        self.screen = Screen()
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._changed = asyncio.Event()
        asyncio.get_running_loop().add_reader(self._master, self._read)

    def _read(self) -> None:
        try:
            data = os.read(self._master, 65536)
        except OSError:  # EIO: the program exited and the pty closed
            data = b""
        if not data:
            asyncio.get_running_loop().remove_reader(self._master)
        self.screen.feed(self._decoder.decode(data))
        self._changed.set()

    def type(self, keys: str) -> None:
        os.write(self._master, keys.encode())

    async def wait_for(self, check: Callable[[list[str]], bool], timeout: float = 10.0) -> None:
        """Wait until ``check(screen lines)`` holds; fail showing the screen if it never does."""

        async def seen() -> None:
            while not check(self.screen.lines()):
                self._changed.clear()
                await self._changed.wait()

        try:
            await asyncio.wait_for(seen(), timeout)
        except TimeoutError:
            screen = "\n".join(self.screen.lines())
            raise AssertionError(f"the screen never showed that:\n{screen}") from None

    async def prompt_shows(self, typed: str) -> None:
        """Wait until the bottom line is the prompt with ``typed`` on it."""
        await self.wait_for(lambda lines: bool(lines) and lines[-1] == typed)

    async def exit_code(self, timeout: float = 10.0) -> int:
        return await asyncio.to_thread(self.process.wait, timeout)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()  # only if a failed test left it running
            self.process.wait(5)
        asyncio.get_running_loop().remove_reader(self._master)
        os.close(self._master)


@asynccontextmanager
async def terminal(port: int, nick: str = "alice") -> AsyncIterator[PtyTerminal]:
    """``chatkit join --nick NICK`` at its prompt in #lobby."""
    term = PtyTerminal("--nick", nick, "--port", str(port))
    try:
        await term.wait_for(lambda lines: any(line.endswith("You joined #lobby") for line in lines))
        await term.prompt_shows("[#lobby]")
        yield term
    finally:
        term.close()


@pytest.mark.timeout(40)
def test_incoming_lines_never_clobber_the_half_typed_line(port: int) -> None:
    """Messages arrive while alice types: each one is drawn above her line, which stays whole
    at the bottom. Without ``patch_stdout`` Rich would print at the cursor, into her line."""

    async def scenario() -> int:
        friend = await PlainClient.joined("friend", port)
        async with terminal(port) as alice:
            alice.type("half a thought")
            await alice.prompt_shows("[#lobby] half a thought")
            for n in range(3):
                friend.stdin.send(f"interruption {n} [b]not bold[/b]")
                message = f"<friend> interruption {n} [b]not bold[/b]"
                await alice.wait_for(
                    lambda lines, message=message: len(lines) >= 2 and lines[-2].endswith(message)
                )
                await alice.prompt_shows("[#lobby] half a thought")
            alice.type(", finished\r")
            await friend.out.wait_for("[#lobby] <alice> half a thought, finished")
            await alice.wait_for(
                lambda lines: lines[-2].endswith("<alice> half a thought, finished")
            )
            await alice.prompt_shows("[#lobby]")
            shown = alice.screen.lines()
            alice.type("/quit done\r")
            code = await alice.exit_code()
        await friend.out.wait_for("<-- alice quit (Quit: done)")
        said = [line for line in friend.out.lines() if "<alice>" in line]
        assert said == ["[#lobby] <alice> half a thought, finished"]  # sent once, whole
        assert await friend.finish() == 0
        # Every message on its own line, in order, nothing typed mixed into them.
        tail = [line[6:] for line in shown[-6:-1]]  # without the "HH:MM " timestamps
        assert tail == [
            "--- In #lobby: @friend alice",
            "<friend> interruption 0 [b]not bold[/b]",
            "<friend> interruption 1 [b]not bold[/b]",
            "<friend> interruption 2 [b]not bold[/b]",
            "<alice> half a thought, finished",
        ]
        return code

    assert asyncio.run(scenario()) == 0


@pytest.mark.timeout(40)
def test_tab_completes_commands_and_nicks_at_the_prompt(port: int) -> None:
    async def scenario() -> int:
        friend = await PlainClient.joined("friend", port, "#python")
        async with terminal(port) as alice:
            alice.type("/jo\t")
            await alice.wait_for(lambda lines: "[#lobby] /join" in lines)
            alice.type(" #python\r")
            await friend.out.wait_for("--> alice joined #python")
            await alice.prompt_shows("[#python]")
            alice.type("fri\t")  # at the start of a line a nick becomes an address
            await alice.wait_for(lambda lines: "[#python] friend:" in lines)
            alice.type("hello\r")
            await friend.out.wait_for("[#python] <alice> friend: hello")
            alice.type("/quit\r")
            code = await alice.exit_code()
        assert await friend.finish() == 0
        return code

    assert asyncio.run(scenario()) == 0


@pytest.mark.timeout(40)
@pytest.mark.parametrize("key", ["\x03", "\x04"], ids=["ctrl-c", "ctrl-d"])
def test_ctrl_c_and_ctrl_d_leave_with_quit(port: int, key: str) -> None:
    async def scenario() -> int:
        friend = await PlainClient.joined("friend", port)
        async with terminal(port) as alice:
            alice.type(key)
            code = await alice.exit_code()
            assert not any("Traceback" in line for line in alice.screen.lines())
        await friend.out.wait_for("<-- alice quit (Quit: Leaving)")
        assert await friend.finish() == 0
        return code

    assert asyncio.run(scenario()) == 0
