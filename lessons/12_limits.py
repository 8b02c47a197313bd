"""Lesson 12: Input limits and flood control.

Read first: lesson 11 (graceful shutdown). Next: lesson 13, TLS.

The one idea: **every resource a client can make the server spend needs a limit, decided in
advance.** Memory for a line that never ends; CPU and fan-out for a client that sends a thousand
lines a second. Without limits one client, malicious or just buggy, degrades the server for
everybody.

Steps:

1. A line reader that never buffers more than the line limit, however long the line: the rest of
   an over-long line is counted and thrown away, and the peer gets ``417`` (ERR_INPUTTOOLONG).
2. A token bucket: a client may send ``burst`` lines at once, then ``rate`` lines per second.
3. Flood control with the bucket: lines beyond it are *held* (delayed, not dropped: nothing a
   polite-but-fast client says is lost), and a client whose held queue passes a limit is
   disconnected with ``ERROR :Closing Link (Excess Flood)``, as IRC servers do.
4. The check: a polite client is never delayed, a bursty one is slowed down, a flooder and a
   client with a 1 MB line are handled while memory stays bounded.

Run it::

    python lessons/12_limits.py           # narrated demo (about a second)
    python lessons/12_limits.py --serve   # an echo server with limits for nc (paste 50 lines!)
    python lessons/12_limits.py --check   # self-check on port 0, exit code 0 = pass

What this is not: per-IP connection limits, a cap on the number of clients, or output limits
(the send queue, lessons 5-8). chatkit's core applies the same two input policies with the
settings ``max_line_bytes``, ``flood_burst``, ``flood_rate`` and ``flood_queue_limit`` in
``ServerConfig``, and its ``LineBuffer`` (lesson 9) is the production version of step 1.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import selectors
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


# --8<-- [start:reader]
# --- Step 1: a bounded line reader --------------------------------------------------------------
@dataclass(frozen=True)
class TooLong:
    """Stands where an over-long line would have been; ``length`` counts its bytes."""

    length: int


class BoundedLineReader:
    """Split a byte stream into lines, holding at most ``max_line - 1`` bytes at any time.

    ``max_line`` counts the line with its CRLF, as IRC's 512 does. The moment a line would pass
    the limit we stop storing it and only count it until its newline; so a peer sending an
    endless line costs us ``max_line`` bytes of memory, not gigabytes.
    """

    def __init__(self, max_line: int = 512) -> None:
        self.max_line = max_line
        self.high_water = 0  # the most we ever buffered, to prove the point
        self._buffer = bytearray()
        self._skipped: int | None = None  # while skipping an over-long line: bytes seen so far

    def feed(self, data: bytes) -> list[bytes | TooLong]:
        """Add what ``recv`` returned; return the lines (without CRLF) it completed, in order."""
        out: list[bytes | TooLong] = []
        start = 0
        while start < len(data):
            newline = data.find(b"\n", start)
            stop = len(data) if newline == -1 else newline
            piece = data[start:stop]  # part of the current line, without its \n
            if self._skipped is not None:
                self._skipped += len(piece)
            elif len(self._buffer) + len(piece) > self.max_line - 1:
                # Over the limit: forget what we have and count the rest instead of storing it.
                self._skipped = len(self._buffer) + len(piece)
                self._buffer.clear()
            else:
                self._buffer += piece
                self.high_water = max(self.high_water, len(self._buffer))
            if newline == -1:
                break
            if self._skipped is not None:
                out.append(TooLong(self._skipped + 1))
                self._skipped = None
            elif self._buffer.rstrip(b"\r"):  # empty lines are ignored, as in IRC
                out.append(bytes(self._buffer.rstrip(b"\r")))
            self._buffer.clear()
            start = newline + 1
        return out


# --8<-- [end:reader]


# --8<-- [start:bucket]
# --- Step 2: a token bucket ----------------------------------------------------------------------
class TokenBucket:
    """``burst`` tokens to start with, ``rate`` more per second, never more than ``burst``.

    Sans-I/O, like lesson 9: the caller passes ``now`` (time.monotonic()), so tests can drive
    it with made-up times and it never sleeps.
    """

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.updated = now

    def _refill(self, now: float) -> None:
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def try_take(self, now: float) -> bool:
        """Spend one token if there is one."""
        self._refill(now)
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    def wait_time(self, now: float) -> float:
        """Seconds until the next token (0 if one is available)."""
        self._refill(now)
        return max(0.0, (1 - self.tokens) / self.rate)


# --8<-- [end:bucket]


# --8<-- [start:gate]
# --- Step 3: flood control -----------------------------------------------------------------------
class FloodGate:
    """Lines go through when the bucket allows; the others wait in a bounded queue."""

    def __init__(self, rate: float, burst: int, queue_limit: int, now: float) -> None:
        self.bucket = TokenBucket(rate, burst, now)
        self.queue_limit = queue_limit
        self.held: deque[tuple[bytes, float]] = deque()  # (line, when it arrived)
        self.flooded = False

    def offer(self, line: bytes, now: float) -> None:
        if self.flooded:
            return  # the verdict is in; nothing more from this client is worth keeping
        self.held.append((line, now))
        if len(self.held) > self.queue_limit:
            # Delaying is for clients that are merely quick. This one keeps sending faster
            # than it is served, so holding more would just be an unbounded buffer again.
            self.flooded = True
            self.held.clear()

    def release(self, now: float) -> list[tuple[bytes, float]]:
        """Lines whose turn has come, oldest first, with how long each was held."""
        out = []
        while self.held and not self.flooded and self.bucket.try_take(now):
            line, arrived = self.held.popleft()
            out.append((line, now - arrived))
        return out


# --8<-- [end:gate]


@dataclass
class Client:
    sock: socket.socket
    reader: BoundedLineReader
    gate: FloodGate
    outbox: bytearray = field(default_factory=bytearray)
    closing: bool = False  # send what is queued, then close


class LimitedEchoServer:
    """A selectors echo server (lesson 7) that applies steps 1-3 to every client."""

    def __init__(
        self,
        max_line: int = 512,
        rate: float = 10.0,
        burst: int = 5,
        queue_limit: int = 10,
        port: int = 0,
    ) -> None:
        self.max_line, self.rate, self.burst, self.queue_limit = max_line, rate, burst, queue_limit
        self.listener = socket.create_server(("127.0.0.1", port))
        self.listener.setblocking(False)
        self.address: tuple[str, int] = self.listener.getsockname()[:2]
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.listener, selectors.EVENT_READ)
        self.clients: list[Client] = []
        self.high_water = 0  # the largest partial line any client made us hold
        self.stopping = threading.Event()

    def serve_forever(self) -> None:
        while not self.stopping.is_set():
            # Sleep until the next held line may go, but wake at least every 0.1 s for stop().
            timeout = min(
                [0.1]
                + [c.gate.bucket.wait_time(time.monotonic()) for c in self.clients if c.gate.held]
            )
            for key, mask in self.selector.select(timeout):
                if key.data is None:
                    self._accept()
                    continue
                if mask & selectors.EVENT_READ:
                    self._read(key.data)
                if mask & selectors.EVENT_WRITE:
                    self._write(key.data)
            now = time.monotonic()
            for client in list(self.clients):
                self._release(client, now)
        for client in list(self.clients):
            self._drop(client)
        self.selector.close()
        self.listener.close()

    def _accept(self) -> None:
        with contextlib.suppress(BlockingIOError):
            sock, _addr = self.listener.accept()
            sock.setblocking(False)
            now = time.monotonic()
            client = Client(
                sock,
                BoundedLineReader(self.max_line),
                FloodGate(self.rate, self.burst, self.queue_limit, now),
            )
            self.clients.append(client)
            self.selector.register(sock, selectors.EVENT_READ, data=client)

    def _read(self, client: Client) -> None:
        try:
            data = client.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._drop(client)
            return
        if client.closing:
            return  # already on its way out: ignore what it still sends
        now = time.monotonic()
        for item in client.reader.feed(data):
            if isinstance(item, TooLong):
                self._queue(client, f":server 417 * :Input line was too long ({item.length} bytes)")
            elif not client.closing:
                client.gate.offer(item, now)
                self._release(client, now)  # line by line: the burst goes out before a flood
        self.high_water = max(self.high_water, client.reader.high_water)

    def _release(self, client: Client, now: float) -> None:
        for line, held in client.gate.release(now):
            text = line.decode("utf-8", "replace")
            self._queue(client, f":server NOTICE * :echo {text} (held {held:.3f}s)")
        if client.gate.flooded and not client.closing:
            client.closing = True  # first, so the write below closes once the ERROR is out
            self._queue(client, "ERROR :Closing Link (Excess Flood)")

    def _queue(self, client: Client, line: str) -> None:
        client.outbox += line.encode() + b"\r\n"
        self._write(client)

    def _write(self, client: Client) -> None:
        with contextlib.suppress(BlockingIOError):
            try:
                del client.outbox[: client.sock.send(client.outbox)]
            except OSError:
                self._drop(client)
                return
        if client.closing and not client.outbox:
            self._drop(client)
            return
        wants = selectors.EVENT_READ | (selectors.EVENT_WRITE if client.outbox else 0)
        self.selector.modify(client.sock, wants, data=client)

    def _drop(self, client: Client) -> None:
        if client in self.clients:
            self.clients.remove(client)
            self.selector.unregister(client.sock)
            client.sock.close()


# --- Step 4: clients that test the limits --------------------------------------------------------
def talk(address: tuple[str, int], payload: bytes, replies: int, deadline: float) -> list[str]:
    """Send ``payload`` at once; collect ``replies`` lines, or until the server closes us."""
    lines: list[str] = []
    with socket.create_connection(address, timeout=2) as sock:
        sock.sendall(payload)
        pending = b""
        while len(lines) < replies and time.monotonic() < deadline:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = sock.recv(65536)
            except (TimeoutError, ConnectionResetError):
                break
            if not data:
                lines.append("<closed>")
                break
            *complete, pending = (pending + data).split(b"\r\n")
            lines += [raw.decode() for raw in complete]
    return lines


def held_seconds(line: str) -> float:
    """The server's "(held 0.123s)" suffix as a number."""
    return float(line.rsplit("(held ", 1)[1].rstrip("s)"))


def run(say: Callable[[str], None]) -> list[str]:
    problems: list[str] = []

    # Step 1 on its own: a megabyte without a newline, fed in 4 KiB pieces.
    reader = BoundedLineReader(512)
    results: list[bytes | TooLong] = []
    for _ in range(256):
        results += reader.feed(b"A" * 4096)
    results += reader.feed(b"\r\nPING :after\r\n")
    say(f"step 1: 1 MiB line then PING -> {results}, at most {reader.high_water} bytes held")
    if results != [TooLong(256 * 4096 + 2), b"PING :after"] or reader.high_water > 511:
        summary = [x if isinstance(x, TooLong) else f"a {len(x)}-byte line" for x in results]
        problems.append(f"bounded reader: {summary}, high water {reader.high_water}")

    # Step 2 on its own, with made-up times: no sleeping needed to test a clock-driven policy.
    bucket = TokenBucket(rate=10, burst=5, now=0.0)
    taken = [bucket.try_take(0.0) for _ in range(7)]
    later = bucket.try_take(0.1)
    say(f"step 2: 7 lines at t=0 -> {taken}; one more at t=0.1s -> {later}")
    if taken != [True] * 5 + [False] * 2 or not later:
        problems.append(f"token bucket: {taken}, then {later}")

    # Steps 3 and 4 over real sockets.
    server = LimitedEchoServer(max_line=512, rate=10, burst=5, queue_limit=10)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        # Generous: it bounds only how long the clients wait for what must arrive.
        deadline = time.monotonic() + 15
        polite = talk(server.address, b"".join(b"hi %d\r\n" % i for i in range(5)), 5, deadline)
        say(f"step 3: polite client, 5 lines -> held {[held_seconds(x) for x in polite]}")
        if len(polite) != 5 or max(map(held_seconds, polite)) > 0.05:
            problems.append(f"the polite client was delayed: {polite}")

        bursty = talk(server.address, b"".join(b"hey %d\r\n" % i for i in range(8)), 8, deadline)
        delays = [held_seconds(x) for x in bursty if "(held" in x]
        say(f"        bursty client, 8 lines -> held {delays}")
        # Lines 6, 7 and 8 need 1, 2 and 3 new tokens: 0.1 s, 0.2 s, 0.3 s at 10 per second.
        if len(delays) != 8 or max(delays[:5]) > 0.05 or delays[7] < 0.25:
            problems.append(f"the bursty client was not slowed down as expected: {bursty}")

        flood = b"".join(b"spam %d\r\n" % i for i in range(200))
        flooder = talk(server.address, flood, 200, deadline)
        say(f"        flooder, 200 lines -> {len(flooder) - 2} echoed, then {flooder[-2:]}")
        if flooder[-2:] != ["ERROR :Closing Link (Excess Flood)", "<closed>"]:
            problems.append(f"the flooder was not disconnected: ...{flooder[-3:]}")

        huge = b"PRIVMSG #room :" + b"x" * 1_000_000 + b"\r\nstill here\r\n"
        giant = talk(server.address, huge, 2, deadline)
        say(f"step 4: 1 MB line -> {giant}; the server held at most {server.high_water} bytes")
        if len(giant) != 2 or " 417 " not in giant[0] or "echo still here" not in giant[1]:
            problems.append(f"the huge line was not refused with 417: {[g[:80] for g in giant]}")
        if server.high_water > 511:
            problems.append(f"the server buffered {server.high_water} bytes of one line")
    finally:
        server.stopping.set()
        thread.join(timeout=2)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="self-check, exit 0 on success")
    parser.add_argument("--serve", action="store_true", help="run the echo server for nc")
    parser.add_argument("--port", type=int, default=6672, help="port for --serve")
    args = parser.parse_args(argv)
    if args.serve:
        server = LimitedEchoServer(port=args.port)
        print(
            f"echo with limits on 127.0.0.1:{server.address[1]}: nc -C 127.0.0.1 "
            f"{server.address[1]}, then paste 50 lines at once (Ctrl-C to stop)"
        )
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
        return 0
    problems = run(say=(lambda _t: None) if args.check else print)
    sys.stdout.flush()
    for problem in problems:
        print("FAIL:", problem, file=sys.stderr)
    if args.check and not problems:
        print("lesson 12 check passed: long lines refused in bounded memory, flooder dropped")
    return 1 if problems else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except OSError as error:
        # Only bind() fails like this: a port in use, or one we may not use. Say so plainly.
        if error.errno not in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL):
            raise
        sys.exit(f"cannot listen: {error.strerror}. Is the lesson already running? Try --port.")
