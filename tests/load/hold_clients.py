"""Hold many concurrent IRC clients in one room, to check that a backend scales.

Run by hand (pytest does not collect this file), from the repository root::

    python tests/load/hold_clients.py --backend selectors --clients 10000
    python tests/load/hold_clients.py --backend threading --clients 2000
    python tests/load/hold_clients.py --port 6667 --clients 500      # a server you started

With ``--backend`` it starts ``chatkit serve`` itself on 127.0.0.1 (port 0, flood control off,
no pings during the run), reports the server's memory and stops it with SIGTERM afterwards,
while every client is still connected: how long the graceful shutdown takes at full scale,
and how many clients got its goodbye.
All clients live in this one process, on one asyncio loop, and every step is bounded in time.

Each client registers and joins the room. Joining is quadratic by nature (everyone in the room
sees every JOIN), so the run ends with one message to the whole room to prove that every
client is still connected and still served, and a LUSERS count from the server (asked by one
more client, outside the room) to prove the server counts them all. Exit status 0 means every
client was held and reached, and the server exited 0 on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shlex
import signal
import sys
import time
from pathlib import Path

from backends.base import raise_fd_limit

REPO = Path(__file__).resolve().parents[2]
READY = re.compile(rb"listening on (\S+):(\d+)")


class LoadClient(asyncio.Protocol):
    """One client that only looks for two markers in its stream: end of NAMES, and a token."""

    def __init__(self, token: bytes) -> None:
        self.token = token
        self.transport: asyncio.Transport | None = None
        self.joined: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.got_token: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.lost = False
        self.leaving = False  # set when we close it ourselves at the end of the run
        self.told_goodbye = False  # the server's ERROR ... Server shutting down arrived
        self._tail = b""  # the end of the last chunk, in case a marker is split across reads

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        window = self._tail + data
        if not self.joined.done() and b" 366 " in window:
            self.joined.set_result(None)
        if not self.got_token.done() and self.token in window:
            self.got_token.set_result(None)
        if b"Server shutting down" in window:
            self.told_goodbye = True
        self._tail = window[-64:]

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = not self.leaving
        if self.leaving or self.told_goodbye:
            return
        for future in (self.joined, self.got_token):
            if not future.done():
                future.set_exception(ConnectionError("server closed the connection"))


async def start_server(args: argparse.Namespace) -> tuple[asyncio.subprocess.Process, int]:
    command = [sys.executable, "-m", "chatkit", "serve", "--backend", args.backend]
    command += ["--host", "127.0.0.1", "--port", "0", "--log-level", "warning", "--no-flood"]
    command += ["--max-clients", str(args.clients + 10), "--sendq", str(args.sendq)]
    command += ["--ping-interval", "3600"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    process = await asyncio.create_subprocess_exec(
        *command, cwd=REPO, env=env, stdout=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    while True:
        line = await asyncio.wait_for(process.stdout.readline(), 10)
        if not line:
            raise SystemExit("the server exited before it was ready")
        if match := READY.search(line):
            return process, int(match.group(2))


async def count_users(host: str, port: int, timeout: float) -> int:
    """Register one more client (outside the room); return the users LUSERS counts (251:
    "There are N users and M invisible"), which includes this one."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(b"NICK counter\r\nUSER counter 0 * :counter\r\nLUSERS\r\n")
        async with asyncio.timeout(timeout):
            while line := await reader.readline():
                if match := re.search(rb" 251 \S+ :There are (\d+) users and (\d+) inv", line):
                    return int(match.group(1)) + int(match.group(2))
        raise SystemExit("the server closed the LUSERS connection")
    finally:
        writer.close()


def rss_mib(pid: int) -> tuple[float, float]:
    """(current, peak) resident memory of ``pid`` in MiB, from /proc (Linux)."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


async def run(args: argparse.Namespace) -> int:
    raise_fd_limit()
    loop = asyncio.get_running_loop()
    process = None
    port = args.port
    if args.backend:
        process, port = await start_server(args)
    print("$ " + shlex.join([sys.executable, *sys.argv]), flush=True)
    ok = False
    token = f"all-here-{os.getpid()}".encode()
    clients: list[LoadClient] = []
    gate = asyncio.Semaphore(args.concurrency)

    async def connect(index: int) -> None:
        async with gate:
            _, client = await loop.create_connection(lambda: LoadClient(token), args.host, port)
            clients.append(client)
            assert client.transport is not None
            nick = f"load{index}"
            client.transport.write(
                f"NICK {nick}\r\nUSER {nick} 0 * :load\r\nJOIN {args.room}\r\n".encode()
            )
            await client.joined

    try:
        started = time.monotonic()
        await asyncio.wait_for(
            asyncio.gather(*(connect(index) for index in range(args.clients))), args.timeout
        )
        connect_time = time.monotonic() - started
        print(f"{args.clients} clients registered and joined {args.room} in {connect_time:.1f} s")
        if process is not None:
            print("server RSS: {:.0f} MiB (peak {:.0f} MiB)".format(*rss_mib(process.pid)))
        await asyncio.sleep(args.hold)
        lost = sum(client.lost for client in clients)
        sender = clients[0]
        assert sender.transport is not None
        started = time.monotonic()
        sender.transport.write(b"PRIVMSG " + args.room.encode() + b" :" + token + b"\r\n")
        await asyncio.wait_for(
            asyncio.gather(*(client.got_token for client in clients[1:])), args.timeout
        )
        print(
            f"held for {args.hold:.0f} s, {lost} lost; one message reached the other "
            f"{len(clients) - 1} in {time.monotonic() - started:.2f} s"
        )
        users = await count_users(args.host, port, args.timeout)
        print(f"LUSERS: {users} users ({args.clients} load clients + 1 counter)")
        if process is not None:
            print("server RSS: {:.0f} MiB (peak {:.0f} MiB)".format(*rss_mib(process.pid)))
        ok = lost == 0 and users == args.clients + 1
    finally:
        if process is not None:
            # Stop the server while every client is still connected: a graceful shutdown
            # at full scale, timed, and counted on the clients' side.
            for client in clients:
                client.leaving = True  # the server closing them now is expected
            started = time.monotonic()
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), args.stop_timeout)
            except TimeoutError:
                process.kill()
                await process.wait()
            stop_time = time.monotonic() - started
            told = sum(client.told_goodbye for client in clients)
            print(
                f"server exited with {process.returncode} {stop_time:.1f} s after SIGTERM; "
                f"{told} of {len(clients)} clients got its goodbye"
            )
        for client in clients:
            client.leaving = True
            if client.transport is not None:
                client.transport.abort()
    return 0 if ok and (process is None or process.returncode == 0) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", help="start `chatkit serve --backend NAME` for the run")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=6667, help="server to use without --backend")
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--room", default="#load")
    parser.add_argument("--concurrency", type=int, default=200, help="connects in flight")
    parser.add_argument("--sendq", type=int, default=16 * 1024 * 1024)
    parser.add_argument("--hold", type=float, default=5.0, help="seconds to hold them")
    parser.add_argument("--timeout", type=float, default=600.0, help="limit for each phase")
    parser.add_argument(
        "--stop-timeout", type=float, default=30.0, help="seconds the server gets to exit"
    )
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
