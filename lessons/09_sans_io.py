"""Lesson 9: A sans-I/O protocol core: parsing real IRC.

Read first: lesson 8 (asyncio streams). Next: lesson 10, timeouts and dead peers.

The one idea: **keep the protocol out of the I/O.** Lessons 2-8 each wrote the same chat logic
again, tangled with threads, selectors or asyncio. A *sans-I/O* protocol object takes bytes in
and hands bytes (or events) out, and never touches a socket or a clock. Then the same code runs
under every concurrency model, and it can be tested by feeding it bytes, thousands of ways, in
milliseconds. This is how h11 (HTTP/1.1) and wsproto (WebSocket) are built, and how chatkit's
core is built.

Steps:

1. Parse real IRC lines with ``chatkit.protocol.Message``: tags, source, command, parameters.
2. Frame a byte stream with ``LineBuffer``: whole, one byte at a time, or split inside the CRLF,
   the messages come out the same. We try every split point, which only a sans-I/O parser
   makes cheap.
3. The whole chat server is sans-I/O too: drive ``chatkit.core.ChatCore`` with a fake transport
   that records bytes, and move time by hand (a ping timeout in no time at all).
4. Add the I/O back: a tiny server whose socket loop is ten lines around the parser.

Run it::

    python lessons/09_sans_io.py           # narrated demo
    python lessons/09_sans_io.py --serve   # the tiny server on 127.0.0.1:6669, for nc
    python lessons/09_sans_io.py --check   # self-check on port 0, exit code 0 = pass

What this is not: a full IRC server (the core's commands live in ``chatkit/commands/``), and
not a claim that sans-I/O is free. Someone still has to write the I/O loop, once per
concurrency model: that is what ``backends/`` is, and lesson 14 measures them.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import socket
import sys
import threading
import time
from collections.abc import Callable

try:
    from chatkit.config import ServerConfig
    from chatkit.core import ChatCore
    from chatkit.protocol import LineBuffer, Message, OverlongLine, RemoteProtocolError
except ModuleNotFoundError as missing:  # a Python without chatkit: say what to do instead
    sys.exit(
        f"This lesson uses chatkit, but this Python cannot import {missing.name!r}. Run it with "
        f"the Python chatkit is installed in (`source .venv/bin/activate` first), or with "
        f"`chatkit lesson run 9`."
    )

# --8<-- [start:parse]
# --- Step 1: parsing real IRC lines ---------------------------------------------------------------
#: Lines as real clients and servers send them (see modern.ircdocs.horse for the grammar).
REAL_LINES = [
    "CAP LS 302",
    "NICK alice",
    "USER alice 0 * :Alice Liddell",
    ":irc.example.net 001 alice :Welcome to the Example IRC Network alice",
    "@time=2024-05-01T12:00:00.000Z;msgid=abc :bob!bob@host.example PRIVMSG #rust :hi :)",
    "JOIN #python,#rust secret",
    "PING :irc.example.net",
]


def show(line: str) -> str:
    """Parse a line and describe its parts."""
    message = Message.parse(line)
    return f"command={message.command!r} params={message.params!r} source={message.source!r}" + (
        f" tags={dict(message.tags)!r}" if message.tags else ""
    )


# --8<-- [end:parse]


# --8<-- [start:framing]
# --- Step 2: framing, however the bytes arrive ----------------------------------------------------
def lines_from_chunks(chunks: list[bytes]) -> list[str | OverlongLine]:
    """Feed the chunks to a fresh LineBuffer, as recv() would have returned them."""
    buffer = LineBuffer()
    out: list[str | OverlongLine] = []
    for chunk in chunks:
        out += buffer.feed(chunk)
    return out


def every_chunking(stream: bytes) -> dict[str, list[list[bytes]]]:
    """The ways TCP may cut up ``stream``: whole, byte by byte, and in two at every offset
    (including between a CR and its LF)."""
    return {
        "whole": [[stream]],
        "one byte at a time": [[stream[i : i + 1] for i in range(len(stream))]],
        "split in two at every offset": [[stream[:i], stream[i:]] for i in range(len(stream) + 1)],
    }


# --8<-- [end:framing]


# --8<-- [start:core]
# --- Step 3: the chat core, with no sockets at all ------------------------------------------------
class RecordingTransport:
    """What a backend gives the core for one connection; this one just keeps the bytes."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.closed_because: str | None = None

    def send(self, data: bytes) -> None:
        self.sent.append(data)

    def close(self, reason: str) -> None:
        self.closed_because = self.closed_because or reason

    def lines(self) -> list[str]:
        return b"".join(self.sent).decode().splitlines()


def drive_the_core(say: Callable[[str], None]) -> list[str]:
    """Register three clients, chat in a room, then let one go silent: all without a socket."""
    problems: list[str] = []
    core = ChatCore(ServerConfig(ping_interval=120, ping_timeout=60, flood_control=False))
    now = 1000.0  # time is whatever we say it is
    clients = {}
    for nick in ("alice", "bob", "carol"):
        transport = RecordingTransport()
        session = core.connect(transport, f"127.0.0.1:{50000 + len(clients)}")
        core.receive(session, f"NICK {nick}\r\nUSER {nick} 0 * :{nick}\r\n".encode(), now)
        core.receive(session, b"JOIN #lesson9\r\n", now)
        clients[nick] = (transport, session)
    for transport, _session in clients.values():
        transport.sent.clear()
    alice_transport, alice = clients["alice"]
    core.receive(alice, b"PRIVMSG #lesson9 :hello from no socket at all\r\n", now)
    bob_got, carol_got = clients["bob"][0].sent, clients["carol"][0].sent
    say(f"step 3: bob received {bob_got}")
    shared = bool(carol_got) and carol_got[0] is bob_got[0]
    say(f"        the very same bytes object went to carol (encoded once): {shared}")
    if not bob_got or b"hello from no socket at all" not in bob_got[0] or carol_got != bob_got:
        problems.append(f"the room message did not reach bob and carol: {bob_got} {carol_got}")
    elif not shared:
        problems.append("the room message was encoded once per member, not once for the room")
    if alice_transport.sent:
        problems.append(f"alice got her own message back: {alice_transport.sent}")

    # Bob and carol keep talking; alice says nothing. Two minutes pass in a microsecond.
    for later in (now + 121, now + 182):
        for nick in ("bob", "carol"):
            core.receive(clients[nick][1], b"PONG :keepalive\r\n", later)
        core.tick(later)
        say(
            f"        {later - now:g} s of (pretend) silence later alice has received "
            f"{alice_transport.lines()[-1:]}, closed: {alice_transport.closed_because!r}"
        )
    if not any(line.startswith("PING") for line in alice_transport.lines()):
        problems.append("the core did not PING the silent client")
    if not (alice_transport.closed_because or "").startswith("Ping timeout"):
        problems.append(f"the silent client was not dropped: {alice_transport.closed_because}")
    if not any("QUIT" in line and "alice" in line for line in clients["bob"][0].lines()):
        problems.append("bob was not told that alice quit")
    return problems


# --8<-- [end:core]


# --8<-- [start:server]
# --- Step 4: putting the I/O back -----------------------------------------------------------------
def respond(message: Message) -> list[Message]:
    """The protocol half of the tiny server: a message in, messages out. No I/O, easy to test."""
    if message.command == "PING":
        return [Message("PONG", ("lesson9", *message.params[-1:]), source="lesson9")]
    if message.command == "QUIT":
        return [Message("ERROR", ("Closing Link (Quit)",))]
    described = " ".join(repr(param) for param in message.params)
    return [Message("NOTICE", ("*", f"{message.command} {described}"), source="lesson9")]


def serve_one(conn: socket.socket) -> None:
    """The I/O half: read bytes, let the buffer and parser do the rest, write bytes."""
    buffer = LineBuffer()
    with conn:
        while data := conn.recv(4096):
            for item in buffer.feed(data):
                if isinstance(item, OverlongLine):
                    replies = [Message("417", ("*", "Input line was too long"), "lesson9")]
                else:
                    try:
                        replies = respond(Message.parse(item))
                    except RemoteProtocolError as exc:
                        replies = [Message("NOTICE", ("*", f"Cannot parse: {exc}"), "lesson9")]
                conn.sendall(b"".join(reply.encode() for reply in replies))
                if replies[-1].command == "ERROR":
                    return


# --8<-- [end:server]


def serve_forever(
    listener: socket.socket, stop: threading.Event, client_timeout: float | None = None
) -> None:
    """Accept clients, one thread each (lesson 4), until ``stop`` is set.

    ``client_timeout`` drops a client silent for that long (the check uses it so that nothing
    can hang); a person typing into nc gets all the time in the world.
    """
    listener.settimeout(0.1)  # lets the loop see ``stop`` (lesson 10 explains timeouts)
    with listener:
        while not stop.is_set():
            try:
                conn, _addr = listener.accept()
            except TimeoutError:
                continue
            conn.settimeout(client_timeout)
            threading.Thread(target=serve_quietly, args=(conn,), daemon=True).start()


def serve_quietly(conn: socket.socket) -> None:
    """serve_one(), with a client that vanishes or times out reported in one line."""
    try:
        serve_one(conn)
    except OSError as error:  # reset, broken pipe, timeout: that client is gone, others go on
        print(f"a client went away: {error!r}")


def talk_awkwardly(address: tuple[str, int], pieces: list[bytes], expect: int) -> list[str]:
    """Send ``pieces`` as separate sends and return the first ``expect`` reply lines.

    TCP may still glue the pieces together or cut them elsewhere: the server must not care.
    """
    with socket.create_connection(address, timeout=5) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no Nagle: send each piece now
        for piece in pieces:
            sock.sendall(piece)
        buffer, lines = LineBuffer(), []
        deadline = time.monotonic() + 5
        while len(lines) < expect and time.monotonic() < deadline:
            data = sock.recv(4096)
            if not data:
                break
            lines += [str(item) for item in buffer.feed(data)]
        return lines


def run(say: Callable[[str], None]) -> list[str]:
    problems: list[str] = []
    for line in REAL_LINES:
        say(f"step 1: {line}\n        -> {show(line)}")
        again = Message.parse(line).to_line()
        if Message.parse(again) != Message.parse(line):
            problems.append(f"{line!r} did not survive parse -> encode -> parse")

    stream = "".join(line + "\r\n" for line in REAL_LINES).encode()
    stream += b"PRIVMSG #a :" + b"x" * 600 + b"\r\n" + b"PING :after the long one\n"
    expected = lines_from_chunks([stream])
    tried = 0
    for name, chunkings in every_chunking(stream).items():
        same = all(lines_from_chunks(chunks) == expected for chunks in chunkings)
        tried += len(chunkings)
        say(f"step 2: {name:>30}: {len(chunkings):>4} chunkings, same messages: {same}")
        if not same:
            problems.append(f"framing {name} gave different messages")
    say(
        f"        {tried} ways of cutting {len(stream)} bytes, each giving {len(expected)} items "
        f"(the 600-byte line is {expected[-2]!r})"
    )
    if len(expected) != len(REAL_LINES) + 2 or not isinstance(expected[-2], OverlongLine):
        problems.append(f"the stream framed into {expected}")

    started = time.perf_counter()
    problems += drive_the_core(say)
    say(f"        step 3 took {(time.perf_counter() - started) * 1000:.1f} ms, minutes included")

    stop = threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))
    address = listener.getsockname()[:2]
    thread = threading.Thread(target=serve_forever, args=(listener, stop, 5.0), daemon=True)
    thread.start()
    try:
        # CRLF split across sends, two lines glued in one send, a line with no command.
        pieces = [b"PI", b"NG :one\r", b"\nPRIVMSG #a :two\r\nJOIN #b\r\n", b":only.a.source\r\n"]
        replies = talk_awkwardly(address, pieces, 4)
        say(f"step 4: sent {pieces}\n        got {replies}")
        wanted = [
            ":lesson9 PONG lesson9 one",
            ":lesson9 NOTICE * :PRIVMSG '#a' 'two'",
            ":lesson9 NOTICE * :JOIN '#b'",
            ":lesson9 NOTICE * :Cannot parse: message has a source but no command",
        ]
        if replies != wanted:
            problems.append(f"the tiny server answered {replies}, not {wanted}")
    finally:
        stop.set()
        thread.join(timeout=2)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="self-check, exit 0 on success")
    parser.add_argument("--serve", action="store_true", help="run the tiny server for nc")
    parser.add_argument("--port", type=int, default=6669, help="port for --serve")
    args = parser.parse_args(argv)
    if args.serve:
        listener = socket.create_server(("127.0.0.1", args.port))
        print(
            f"tiny IRC-ish server on 127.0.0.1:{listener.getsockname()[1]}: nc -C 127.0.0.1 "
            f"{listener.getsockname()[1]}, type PING :x or any IRC line (Ctrl-C stops)"
        )
        with contextlib.suppress(KeyboardInterrupt):
            serve_forever(listener, threading.Event())
        return 0
    problems = run(say=(lambda _t: None) if args.check else print)
    sys.stdout.flush()
    for problem in problems:
        print("FAIL:", problem, file=sys.stderr)
    if args.check and not problems:
        print("lesson 9 check passed: same messages however the bytes arrive; core runs socketless")
    return 1 if problems else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except OSError as error:
        # Only bind() fails like this: a port in use, or one we may not use. Say so plainly.
        if error.errno not in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL):
            raise
        sys.exit(f"cannot listen: {error.strerror}. Is the lesson already running? Try --port.")
