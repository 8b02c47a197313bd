"""A real IRC client, WeeChat, against every backend: connect, join, chat, /nick, /msg,
/part, /quit, and the everyday queries, with nothing the client complains about.

WeeChat runs headless (``weechat-headless``, Debian package ``weechat-headless``) in a home
directory of its own. The test types into it through its FIFO (``irc.server.chatkit */nick
bobby`` is what typing ``/nick bobby`` in the server buffer does) and reads what it showed
from its log files, written line by line. The other side of the conversation is a raw socket
(``alice``), so every step is checked from both ends: alice sees what WeeChat sent, and
WeeChat's logs show it understood what the server sent back. Any line WeeChat marks as an
error (``=!=``) fails the test.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from ircclient import IRCClient

Address = tuple[str, int]

WEECHAT = shutil.which("weechat-headless")

pytestmark = [
    pytest.mark.timeout(30),
    pytest.mark.skipif(
        WEECHAT is None,
        reason="weechat-headless is not installed (Debian: apt-get install weechat-headless)",
    ),
]

#: Seconds to wait for WeeChat to start, or to show a line, before the test fails.
WAIT = 5.0
#: How often a wait looks at WeeChat's files again: there is no event to block on.
POLL = 0.02
#: How WeeChat marks an error in its buffers (and logs).
ERROR_PREFIX = "=!="


class WeeChat:
    """One ``weechat-headless`` process, its own home directory, its FIFO and its logs."""

    def __init__(self, home: Path, address: Address, nick: str) -> None:
        assert WEECHAT is not None
        self.home = home
        self.dir = home / "weechat"
        self.logs = self.dir / "logs"
        #: Error lines a test expects WeeChat to show (substrings), left out of ``errors()``.
        self.expected_errors: list[str] = []
        host, port = address
        setup = [
            # Write every line to the logs at once: they are how the test sees the screen.
            "/set logger.file.flush_delay 0",
            *_no_anti_flood(),
            f"/server add chatkit {host}/{port} -notls -nicks={nick} -username={nick}"
            " -realname=WeeChat -autojoin=#lobby",
            "/connect chatkit",
        ]
        env = {
            "HOME": str(home),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LC_ALL": "C.UTF-8",
        }
        command = [
            WEECHAT,
            *("--dir", str(self.dir)),
            # Its own log goes to stdout (kept in weechat.out for failures), not to a file.
            "--stdout",
            # Only the plugins the test needs, which also makes it start in ~0.1 s.
            *("-P", "irc,fifo,logger"),
            *("-r", "; ".join(setup)),
        ]
        self.output = (home / "weechat.out").open("wb")
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=self.output,
            stderr=subprocess.STDOUT,
            env=env,
        )
        self.fifo = self._wait_for_fifo()

    # --- typing ---------------------------------------------------------------------------

    def type(self, buffer: str, text: str) -> None:
        """Type ``text`` into ``buffer`` (``"server"`` or a room or nick) and press Enter."""
        name = "irc.server.chatkit" if buffer == "server" else f"irc.chatkit.{buffer}"
        # Non-blocking: if WeeChat died there is no reader, and this fails at once (ENXIO)
        # instead of hanging. One short write to a pipe is atomic.
        fd = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
        try:
            os.write(fd, f"{name} *{text}\n".encode())
        finally:
            os.close(fd)

    # --- reading the screen ---------------------------------------------------------------

    def log(self, buffer: str) -> list[tuple[str, str]]:
        """``(prefix, message)`` for every line shown so far in ``buffer``."""
        name = "irc.server.chatkit" if buffer == "server" else f"irc.chatkit.{buffer}"
        path = self.logs / f"{name.lower()}.weechatlog"
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return []
        lines = []
        for line in text.splitlines():
            _date, _, rest = line.partition("\t")
            prefix, _, message = rest.partition("\t")
            lines.append((prefix, message))
        return lines

    def wait_for(
        self, buffer: str, predicate: Callable[[str, str], bool], what: str
    ) -> tuple[str, str]:
        """Wait until ``buffer`` shows a line ``(prefix, message)`` matching ``predicate``."""
        deadline = time.monotonic() + WAIT
        while True:
            for prefix, message in self.log(buffer):
                if predicate(prefix, message):
                    return prefix, message
            if self.process.poll() is not None or time.monotonic() > deadline:
                shown = "\n".join(f"{p}\t{m}" for p, m in self.log(buffer)[-10:])
                raise AssertionError(f"WeeChat never showed {what} in {buffer}:\n{shown}")
            time.sleep(POLL)

    def wait_for_text(self, buffer: str, text: str, prefix: str = "") -> None:
        """Wait until ``buffer`` shows ``text``, from a nick containing ``prefix``."""
        self.wait_for(buffer, lambda p, m: text in m and prefix in p, repr(text))

    def errors(self) -> list[str]:
        """Every line WeeChat marked as an error, in any buffer, unless the test expected it."""
        found = []
        for path in sorted(self.logs.glob("*.weechatlog")):
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                expected = any(text in line for text in self.expected_errors)
                if f"\t{ERROR_PREFIX}\t" in line and not expected:
                    found.append(f"{path.name}: {line}")
        return found

    # --- ending -------------------------------------------------------------------------------

    def wait_for_exit(self) -> int:
        return self.process.wait(timeout=WAIT)

    def stop(self) -> None:
        """End the process this test started, if it is still running."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=WAIT)
        self.output.close()

    def _wait_for_fifo(self) -> Path:
        # The fifo plugin creates weechat_fifo_<pid> in the runtime directory (--dir).
        path = self.dir / f"weechat_fifo_{self.process.pid}"
        deadline = time.monotonic() + WAIT
        while not path.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                output = (self.home / "weechat.out").read_text(errors="replace")
                raise AssertionError(f"WeeChat did not start; its output:\n{output[-2000:]}")
            time.sleep(POLL)
        return path


@functools.cache
def _weechat_version() -> tuple[int, int]:
    assert WEECHAT is not None
    result = subprocess.run(
        [WEECHAT, "--version"], capture_output=True, text=True, timeout=WAIT, check=True
    )
    match = re.search(r"(\d+)\.(\d+)", result.stdout)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def _no_anti_flood() -> list[str]:
    """WeeChat waits 2 s between lines it sends; the test wants them at once. The option
    changed name in WeeChat 4.0 (seconds per priority before, one delay in ms since)."""
    if _weechat_version() >= (4, 0):
        return ["/set irc.server_default.anti_flood 0"]
    return [
        "/set irc.server_default.anti_flood_prio_high 0",
        "/set irc.server_default.anti_flood_prio_low 0",
    ]


@pytest.fixture
def alice(server: Address) -> Iterator[IRCClient]:
    """A raw-socket user, first in #lobby, so its operator."""
    client = IRCClient(server, "alice")
    client.register()
    client.join("#lobby")
    yield client
    client.close()


@pytest.fixture
def bob(server: Address, alice: IRCClient, tmp_path: Path) -> Iterator[WeeChat]:
    """WeeChat as ``bob``, registered and in #lobby with alice (she saw it join)."""
    weechat = WeeChat(tmp_path, server, "bob")
    try:
        alice.wait_for(lambda line: line.startswith(":bob!") and " JOIN #lobby" in line)
        # WeeChat sums up the NAMES reply when it joins: "Channel #lobby: 2 nicks (1 op, ...)".
        weechat.wait_for_text("#lobby", "2 nicks")
        yield weechat
        assert weechat.errors() == []
    finally:
        weechat.stop()


def test_weechat_connects_joins_chats_and_quits(alice: IRCClient, bob: WeeChat) -> None:
    # Capability negotiation went through (CAP LS 302, REQ, ACK, END).
    bob.wait_for_text("server", "multi-prefix")
    bob.wait_for_text("server", "End of /MOTD command")

    # Chat in the room, both ways (UTF-8 goes through unchanged).
    bob.type("#lobby", "héllo from weechat ☃")
    alice.wait_for(lambda line: line.endswith("PRIVMSG #lobby :héllo from weechat ☃"))
    alice.send("PRIVMSG #lobby :hi bob, from a raw socket")
    bob.wait_for_text("#lobby", "hi bob, from a raw socket", prefix="alice")

    # A line too long for one message: WeeChat splits it, every word arrives, in order.
    words = [f"w{index:03}" for index in range(200)]
    bob.type("#lobby", " ".join(words))
    received: list[str] = []
    for _ in range(len(words)):  # never more messages than words
        line = alice.wait_for(lambda text: text.startswith(":bob!") and " PRIVMSG #lobby :" in text)
        received += line.split(" :", 1)[1].split()
        if words[-1] in received:
            break
    assert received == words

    # CTCP goes through untouched: /me is an ACTION, and WeeChat answers a VERSION request.
    bob.type("#lobby", "/me waves")
    alice.wait_for(lambda line: line.endswith("PRIVMSG #lobby :\x01ACTION waves\x01"))
    alice.send("PRIVMSG bob :\x01VERSION\x01")
    reply = alice.wait_for(lambda line: line.startswith(":bob!") and " NOTICE alice :" in line)
    assert "\x01VERSION WeeChat" in reply

    # /nick: everyone in the room sees it, WeeChat follows.
    bob.type("server", "/nick bobby")
    alice.wait_for(lambda line: line.startswith(":bob!") and line.endswith("NICK :bobby"))

    # /msg both ways: WeeChat opens a private buffer for the answer.
    bob.type("server", "/msg alice psst, alice")
    alice.wait_for(lambda line: line.startswith(":bobby!") and "PRIVMSG alice :psst" in line)
    alice.send("PRIVMSG bobby :psst back")
    bob.wait_for_text("alice", "psst back", prefix="alice")

    # /part and /join again.
    bob.type("#lobby", "/part #lobby see you later")
    alice.wait_for(lambda line: line.endswith("PART #lobby :see you later"))
    bob.type("server", "/join #lobby")
    alice.wait_for(lambda line: line.startswith(":bobby!") and " JOIN #lobby" in line)

    # /quit: the room sees the reason, WeeChat leaves. It shows the server's goodbye
    # (ERROR :Closing Link) as an error, as it does on any server.
    bob.expected_errors.append("Closing Link: 127.0.0.1 (Quit: gone home)")
    bob.type("server", "/quit gone home")
    alice.wait_for(lambda line: line.startswith(":bobby!") and "QUIT :Quit: gone home" in line)
    assert bob.wait_for_exit() == 0


def test_weechat_queries_and_room_operator_commands(
    server: Address, alice: IRCClient, bob: WeeChat
) -> None:
    # Alice, the room's operator, sets the topic, a mode, and gives bob operator status.
    alice.send("TOPIC #lobby :Welcome to the lobby", "MODE #lobby +l 10", "MODE #lobby +o bob")
    bob.wait_for_text("#lobby", "Welcome to the lobby")
    bob.wait_for_text("#lobby", "+o bob")

    bob.type("#lobby", "/topic")
    bob.wait_for(
        "#lobby",
        lambda _, message: "Topic for #lobby" in message and "Welcome to the lobby" in message,
        "the topic on request",
    )
    bob.type("#lobby", "/mode #lobby")
    bob.wait_for_text("#lobby", "+lnt")
    bob.type("server", "/whois alice")
    bob.wait_for_text("server", "End of /WHOIS list")
    bob.type("server", "/whowas nobody")
    bob.wait_for_text("server", "There was no such nickname")
    bob.type("server", "/names #lobby")
    bob.wait_for(
        "#lobby",
        lambda _, message: "@alice" in message and "@bob" in message,
        "both operators in NAMES",
    )
    bob.type("server", "/list")
    bob.wait_for_text("server", "End of /LIST")
    bob.type("#lobby", "/who #lobby")
    bob.wait_for_text("server", "End of /WHO list")

    # /away: the server says so, and alice's private message gets 301 back.
    bob.type("server", "/away lunch")
    bob.wait_for_text("server", "You have been marked as being away")
    alice.send("PRIVMSG bob :are you there?")
    alice.wait_for(lambda line: " 301 alice bob :lunch" in line)
    bob.type("server", "/away")
    bob.wait_for_text("server", "You are no longer marked as being away")

    # /kick from WeeChat, an operator now, of a third user.
    carol = IRCClient(server, "carol")
    try:
        carol.register()
        carol.join("#lobby")
        bob.wait_for_text("#lobby", "carol")
        bob.type("#lobby", "/kick carol not today")
        line = carol.wait_for(lambda text: " KICK #lobby carol " in text)
        assert line.startswith(":bob!") and line.endswith(":not today")
    finally:
        carol.close()

    # Kicked itself, WeeChat shows it and can come back.
    alice.send("KICK #lobby bob :out you go")
    bob.wait_for_text("#lobby", "out you go")
    bob.type("server", "/join #lobby")
    alice.wait_for(lambda line: line.startswith(":bob!") and " JOIN #lobby" in line)
