"""Lesson 14: Measuring: the three backends under load.

Read first: lesson 13 (TLS). Next: lesson 15, deploying on a LAN.

The one idea: **measure, don't guess, and know what your measurement includes.** Lessons 4, 7 and
8 argued for threads, selectors and asyncio; chatkit has a backend for each, all driving the same
sans-I/O core (lesson 9). Here we start each one on port 0, connect a crowd of clients from an
asyncio load generator, and measure two things users feel: how long joining takes, and how fast
and how promptly one room's messages reach everybody.

Steps:

1. Start a backend with ``backends.running_server(name, config)``; the names come from
   ``chatkit.registry.available_backends()``, so a backend you add shows up here too.
2. Connect N clients (a bounded number, a few at a time, as a real crowd arrives), register each
   one and join one room; time it.
3. Every client sends M messages to the room at once; every client counts what it receives. Each
   message carries its send time, so the receiver knows its latency.
4. Print a table, one row per backend. The check runs a tiny load and demands that every message
   reached every member on every backend.

Run it::

    python lessons/14_measuring.py                         # 100 clients x 5 messages, each backend
    python lessons/14_measuring.py --clients 200 --messages 10 --backend selectors
    python lessons/14_measuring.py --check                 # tiny load, exit 0 if all delivered

What this is not: a benchmark you should quote. The load generator and the server share one
process, one GIL and (here) two CPU cores, so every backend is slowed by its own measurement, and
the threading backend most of all. The Benchmarks page of the docs runs server and load in separate
processes. Use this lesson to see the *shape* of the differences and how to measure them honestly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

try:
    from backends import running_server
    from chatkit.config import ServerConfig
    from chatkit.registry import available_backends
except ModuleNotFoundError as missing:  # a Python without chatkit: say what to do instead
    sys.exit(
        f"This lesson uses chatkit, but this Python cannot import {missing.name!r}. Run it with "
        f"the Python chatkit is installed in (`source .venv/bin/activate` first), or with "
        f"`chatkit lesson run 14`."
    )

ROOM = "#load"
#: The most clients this lesson will connect: each costs two file descriptors in this process
#: (ours and the server's), and the point is the shape of the numbers, not a record.
MAX_CLIENTS = 400
#: The most messages per client. Everyone talks at once, so each client is owed up to
#: 20 * 399 lines (~520 KB) in one burst, safely under the server's 1 MiB send queue; more, and a
#: client that falls behind would be dropped with "SendQ exceeded" (lessons 5-8), which is the
#: server protecting itself, not the load we meant to measure.
MAX_MESSAGES = 20


@dataclass
class Result:
    """What one backend did under the load."""

    backend: str
    clients: int
    join_ms: list[float] = field(default_factory=list)  # connect -> 001 -> JOIN confirmed
    expected: int = 0  # deliveries: every message to every other member
    delivered: int = 0
    latency_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0  # first message sent -> last one received
    error: str | None = None


# --8<-- [start:backend]
# --- Step 1: one backend at a time, on port 0 -----------------------------------------------------
def measure(backend: str, clients: int, messages: int, time_limit: float) -> Result:
    """Start ``backend`` in a thread, run the load against it from this thread, stop it."""
    config = ServerConfig(
        host="127.0.0.1",
        port=0,
        flood_control=False,  # we flood on purpose; the limit would measure the token bucket
        max_clients=clients + 10,
    )
    result = Result(backend, clients)
    with running_server(backend, config) as address:  # waits for "ready", never sleeps
        asyncio.run(run_load(address, result, messages, time_limit))
    return result


# --8<-- [end:backend]


# --8<-- [start:client]
# --- Step 2: one client of the crowd --------------------------------------------------------------
class LoadClient:
    """An IRC client with just enough protocol to register, join, talk and count."""

    def __init__(self, number: int) -> None:
        self.nick = f"load{number}"
        self.received = 0
        self.latencies: list[float] = []
        self.reader: asyncio.StreamReader
        self.writer: asyncio.StreamWriter

    async def join(self, host: str, port: int) -> float:
        """Connect, register, join ROOM; return how many milliseconds that took."""
        started = time.perf_counter()
        self.reader, self.writer = await asyncio.open_connection(host, port)
        self.writer.write(f"NICK {self.nick}\r\nUSER {self.nick} 0 * :load\r\n".encode())
        await self.wait_for(" 001 ")  # RPL_WELCOME: registered
        self.writer.write(f"JOIN {ROOM}\r\n".encode())
        await self.wait_for(" 366 ")  # RPL_ENDOFNAMES: the join is complete
        return (time.perf_counter() - started) * 1000

    async def wait_for(self, marker: str) -> None:
        while marker not in (await self.reader.readuntil(b"\n")).decode("utf-8", "replace"):
            pass  # MOTD, ISUPPORT, the JOIN echo, NAMES ... not what we wait for

    async def talk(self, messages: int) -> None:
        """Send ``messages`` lines to the room, each stamped with the time it was sent."""
        for seq in range(messages):
            self.writer.write(f"PRIVMSG {ROOM} :{seq} {time.perf_counter()!r}\r\n".encode())
        await self.writer.drain()  # lesson 8: wait until the kernel took it

    async def listen(self, expected: int) -> None:
        """Count room messages until ``expected`` have arrived; note each one's latency."""
        while self.received < expected:
            line = (await self.reader.readuntil(b"\n")).decode("utf-8", "replace")
            if f" PRIVMSG {ROOM} :" in line:
                sent = float(line.rsplit(" ", 1)[1])
                self.latencies.append((time.perf_counter() - sent) * 1000)
                self.received += 1
            elif line.startswith("PING"):
                self.writer.write(b"PONG" + line[4:].encode())

    async def close(self) -> None:
        """Leave politely: QUIT, read until the server closes (its ERROR line), then close."""
        with contextlib.suppress(OSError, TimeoutError):
            self.writer.write(b"QUIT :done\r\n")
            await asyncio.wait_for(self._read_to_eof(), 5)
        self.writer.close()

    async def _read_to_eof(self) -> None:
        while await self.reader.read(65536):
            pass


# --8<-- [end:client]


# --8<-- [start:load]
# --- Step 3: the whole crowd ----------------------------------------------------------------------
async def run_load(
    address: tuple[str, int], result: Result, messages: int, time_limit: float
) -> None:
    """Join everyone (a few at a time), then let everyone talk at once; fill in ``result``."""
    clients = [LoadClient(number) for number in range(result.clients)]
    # At most 50 handshakes in flight: a listen backlog is finite (often 128), and a SYN that
    # does not fit is retried a whole second later, which would measure the backlog, not us.
    arriving = asyncio.Semaphore(50)

    async def arrive(client: LoadClient) -> float:
        async with arriving:
            return await client.join(*address)

    try:
        result.join_ms = await asyncio.wait_for(
            asyncio.gather(*(arrive(client) for client in clients)), time_limit
        )
        # IRC does not echo your own messages: each client hears everyone else's.
        per_client = messages * (len(clients) - 1)
        result.expected = per_client * len(clients)
        started = time.perf_counter()
        listeners = [asyncio.ensure_future(client.listen(per_client)) for client in clients]
        await asyncio.gather(*(client.talk(messages) for client in clients))
        try:
            await asyncio.wait_for(asyncio.gather(*listeners), time_limit)
        except TimeoutError:
            result.error = f"not everything arrived within {time_limit:g} s"
        result.seconds = time.perf_counter() - started
    except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
        result.error = f"{type(exc).__name__}: {exc}"
    finally:
        result.delivered = sum(client.received for client in clients)
        result.latency_ms = [ms for client in clients for ms in client.latencies]
        await asyncio.gather(*(client.close() for client in clients if hasattr(client, "writer")))


# --8<-- [end:load]


# --- Step 4: the table ----------------------------------------------------------------------------
def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def table(results: list[Result]) -> str:
    header = (
        f"{'backend':<10} {'clients':>7} {'join p50':>9} {'join max':>9} {'delivered':>15} "
        f"{'msgs/s':>9} {'lat p50':>8} {'lat p99':>8}"
    )
    rows = [header, "-" * len(header)]
    for r in results:
        rate = r.delivered / r.seconds if r.seconds else 0.0
        rows.append(
            f"{r.backend:<10} {r.clients:>7} {statistics.median(r.join_ms or [0]):>7.1f}ms "
            f"{max(r.join_ms or [0]):>7.1f}ms {r.delivered:>7}/{r.expected:<7} {rate:>9.0f} "
            f"{percentile(r.latency_ms, 0.5):>6.1f}ms {percentile(r.latency_ms, 0.99):>6.1f}ms"
            + (f"  ({r.error})" if r.error else "")
        )
    return "\n".join(rows)


def run(
    backends: list[str], clients: int, messages: int, time_limit: float, say: Callable[[str], None]
) -> list[str]:
    problems: list[str] = []
    results = []
    for backend in backends:
        say(f"{backend}: {clients} clients join {ROOM}, then each sends {messages} messages ...")
        result = measure(backend, clients, messages, time_limit)
        results.append(result)
        if result.error or result.delivered != result.expected or len(result.join_ms) != clients:
            problems.append(
                f"{backend}: {len(result.join_ms)}/{clients} joined, "
                f"{result.delivered}/{result.expected} delivered ({result.error or 'no error'})"
            )
    say(table(results))
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="tiny load, exit 0 if all delivered")
    parser.add_argument("--backend", action="append", choices=available_backends(),
                        help="backend to measure (repeatable; default: all)")  # fmt: skip
    parser.add_argument("--clients", type=int, default=100, help=f"clients (2..{MAX_CLIENTS})")
    parser.add_argument("--messages", type=int, default=5, help="messages each client sends")
    args = parser.parse_args(argv)
    if not 2 <= args.clients <= MAX_CLIENTS or not 1 <= args.messages <= MAX_MESSAGES:
        parser.error(f"--clients must be 2..{MAX_CLIENTS} and --messages 1..{MAX_MESSAGES}")
    backends = args.backend or available_backends()
    if args.check:
        # A tiny load; the time limit only stops a hung backend, so it is generous.
        problems = run(backends, clients=10, messages=3, time_limit=20, say=lambda _t: None)
    else:
        problems = run(backends, args.clients, args.messages, time_limit=60, say=print)
    sys.stdout.flush()
    for problem in problems:
        print("FAIL:", problem, file=sys.stderr)
    if args.check and not problems:
        print(f"lesson 14 check passed: every message reached every member on {backends}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
