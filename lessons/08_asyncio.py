"""Lesson 8: asyncio streams, drain and backpressure.

Read first: lesson 7 (selectors, outboxes, pausing). Next: lesson 9, a sans-I/O protocol core.

The one idea: asyncio is lesson 7's loop, written for you. Each connection is a coroutine that
reads like blocking code (`line = await reader.readline()`), and the event loop runs the others
whenever one awaits. writer.write() never blocks: it appends to the transport's buffer, the
outbox of lesson 7. Nothing stops that buffer from growing without end, except
`await writer.drain()`: it pauses *this* coroutine while the buffer is above the high-water
mark (64 KiB by default) until it falls below the low-water mark (16 KiB), which is
backpressure. Forget drain() and a client that stops reading makes the server hold
everything you ever wrote to it in memory.

Run it:
    python lessons/08_asyncio.py               # feed/echo server on 127.0.0.1:7008, with drain()
    python lessons/08_asyncio.py --no-drain    # the same without drain(): watch memory grow
    python lessons/08_asyncio.py --check       # self-check on a free port, exit 0 if all holds

What to observe: `(echo FEED; cat) | nc 127.0.0.1 7008 > /dev/null` asks for an endless feed.
Press Ctrl-Z on that nc: the server's report shows its buffer stuck at 80 KiB and the feed
paused in drain(). Meanwhile `nc 127.0.0.1 7008` still echoes. With --no-drain, the buffer of
the feed grows by megabytes, even before Ctrl-Z: nc reads slower than we write. The demo
gives up at 64 MiB, usually within the first report.

What this is not: the chat room. Awaiting one member's drain() inside a broadcast loop would
stall the room exactly like lesson 5; the per-member queue is still the answer.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import socket
import sys
from dataclasses import dataclass, field

CHUNK = b"x" * 16383 + b"\n"  # 16 KiB per write
#: The demo without drain() stops a feed here, to show the growth without eating the machine.
MEMORY_CAP = 64 * 1024 * 1024


# --8<-- [start:feed]
@dataclass
class Feed:
    """What one feed is doing: bytes written, bytes buffered, whether drain() is waiting."""

    sent: int = 0
    buffered: int = 0
    peak_buffer: int = 0
    in_drain: bool = False
    capped: bool = False  # without drain(): stopped at MEMORY_CAP
    paused: asyncio.Event = field(default_factory=asyncio.Event)  # drain() waited at least once
    done: asyncio.Event = field(default_factory=asyncio.Event)


async def feed(writer: asyncio.StreamWriter, stats: Feed, *, drain: bool, total: int) -> None:
    """Write ``total`` bytes as fast as the peer takes them (with drain) or faster (without)."""
    high_water = writer.transport.get_write_buffer_limits()[1]
    try:
        while stats.sent < total:
            writer.write(CHUNK)  # 1. never blocks: the bytes go to the transport's buffer
            stats.sent += len(CHUNK)
            stats.buffered = writer.transport.get_write_buffer_size()
            stats.peak_buffer = max(stats.peak_buffer, stats.buffered)
            if drain:
                stats.in_drain = stats.buffered > high_water  # then drain() really waits
                if stats.in_drain:
                    stats.paused.set()
                await writer.drain()  # 2. waits while the buffer is above the high-water mark
                stats.in_drain = False
            elif stats.buffered > MEMORY_CAP:
                stats.capped = True
                return
            else:
                # Yielding lets other connections run, but it does not wait for this peer:
                # it is not backpressure, and the buffer keeps growing.
                await asyncio.sleep(0)
    finally:
        stats.done.set()


# --8<-- [end:feed]


# --8<-- [start:server]
class FeedServer:
    """First line "FEED": an endless (or ``total``-byte) feed. Anything else: echo lines."""

    def __init__(self, *, drain: bool, total: int = sys.maxsize) -> None:
        self.drain = drain
        self.total = total
        self.feeds: list[Feed] = []
        self.feed_started = asyncio.Event()
        self.handlers: set[asyncio.Task[None]] = set()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if (task := asyncio.current_task()) is not None:
            self.handlers.add(task)  # so the check can wait for every handler to finish
        # Loopback send buffers hold megabytes; shrink ours so the buffering shows up in
        # asyncio's buffer (which we can watch) after kilobytes (as in lessons 5 and 7).
        writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
        try:
            line = await reader.readline()
            if line.strip() == b"FEED":
                self.feeds.append(stats := Feed())
                self.feed_started.set()
                await feed(writer, stats, drain=self.drain, total=self.total)
                line = await reader.readline()
            while line:
                writer.write(line)
                await writer.drain()
                line = await reader.readline()
        except ConnectionError:
            pass  # the peer vanished: nothing to flush
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


# --8<-- [end:server]


# --8<-- [start:check]
async def run_feed(*, drain: bool, total: int = 1024 * 1024) -> list[str]:
    """A slow client asks for ``total`` bytes and reads none for now; another wants an echo."""
    app = FeedServer(drain=drain, total=total)
    server = await asyncio.start_server(app.handle, "127.0.0.1", 0)
    async with server:
        host, port = server.sockets[0].getsockname()[:2]
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a slow, small client
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (host, port))
        slow_reader, slow_writer = await asyncio.open_connection(sock=sock)
        slow_writer.write(b"FEED\n")
        # Wait until the feed has paused in drain(), or (without drain) written everything.
        await asyncio.wait_for(app.feed_started.wait(), timeout=5)
        stats = app.feeds[0]
        await asyncio.wait_for((stats.paused if drain else stats.done).wait(), timeout=10)

        echo_reader, echo_writer = await asyncio.open_connection(host, port)
        echo_writer.write(b"hello\n")
        echoed = await asyncio.wait_for(echo_reader.readline(), timeout=5)
        echo_writer.close()

        received = len(await asyncio.wait_for(slow_reader.readexactly(total), timeout=10))
        slow_writer.close()
        await asyncio.wait(app.handlers, timeout=5)  # both handlers see EOF and finish
    label = "with drain()   " if drain else "without drain()"
    print(f"{label}: buffered up to {stats.peak_buffer:>9,} bytes; echo {echoed!r};")
    print(f"                 then the slow client read {received:,} of {total:,} bytes")
    failures = []
    if echoed != b"hello\n" or received != total:
        failures.append(f"{label}: echo {echoed!r}, {received} of {total} bytes")
    if drain and stats.peak_buffer > 64 * 1024 + len(CHUNK):
        failures.append(f"with drain() the buffer reached {stats.peak_buffer:,} bytes")
    if not drain and stats.peak_buffer < total // 2:
        failures.append(f"without drain() the buffer only reached {stats.peak_buffer:,} bytes")
    return failures


def check() -> list[str]:
    async def both() -> list[str]:
        return await run_feed(drain=False) + await run_feed(drain=True)

    return asyncio.run(both())


# --8<-- [end:check]


async def demo(port: int, drain: bool) -> None:
    app = FeedServer(drain=drain)
    server = await asyncio.start_server(app.handle, "127.0.0.1", port)
    mode = "with drain()" if drain else "WITHOUT drain()"
    print(f"Feed/echo server {mode} on 127.0.0.1:{port}. Ctrl-C stops.")
    async with server:
        while True:  # a report every 2 s, until Ctrl-C
            await asyncio.sleep(2)
            for number, stats in enumerate(app.feeds, 1):
                state = "paused in drain()" if stats.in_drain else "writing"
                if stats.done.is_set():
                    state = "gave up at the demo's 64 MiB cap" if stats.capped else "ended"
                print(
                    f"feed {number}: sent {stats.sent / 1e6:8.1f} MB, "
                    f"buffered {stats.buffered / 1024:9.0f} KiB, {state}"
                )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="run the self-check and exit")
    parser.add_argument("--no-drain", action="store_true", help="never await drain()")
    parser.add_argument("--port", type=int, default=7008, help="demo port (default 7008)")
    args = parser.parse_args()
    if args.check:
        failures = check()
        for failure in failures:
            print(f"FAILED: {failure}")
        print("lesson 8 check:", "FAILED" if failures else "OK")
        return 1 if failures else 0
    try:
        asyncio.run(demo(args.port, drain=not args.no_drain))
    except KeyboardInterrupt:
        print("\nStopped.")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except OSError as error:
        # Only bind() fails like this: a port in use, or one we may not use. Say so plainly.
        if error.errno not in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL):
            raise
        sys.exit(f"cannot listen: {error.strerror}. Is the lesson already running? Try --port.")
