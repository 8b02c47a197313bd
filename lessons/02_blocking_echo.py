"""Lesson 2: A blocking echo server, and why the second client waits.

Read first: lesson 1 (sockets and the handshake). Next: lesson 3, TCP is a byte stream.

The one idea: a server that does one thing at a time serves one client at a time. accept(),
recv() and sendall() all *block*: the calling thread sleeps until the kernel has something for
it. While our single thread sleeps in recv() for client A, nobody calls accept() or recv() for
client B. B's connect() still succeeds (the kernel does the handshake, lesson 1) and B's bytes
sit in a kernel buffer, unanswered, until A hangs up.

Run it:
    python lessons/02_blocking_echo.py            # echo server on 127.0.0.1:7002, Ctrl-C stops
    python lessons/02_blocking_echo.py --check    # self-check on a free port, exit 0 if all holds

What to observe: open two terminals with `nc 127.0.0.1 7002`. The first gets its lines echoed.
The second connects fine, but what it types comes back only after the first one quits (Ctrl-C
in that nc; Ctrl-D only with `nc -N`).

What this is not: a useful server. Lessons 4 (threads), 7 (selectors) and 8 (asyncio) are three
ways to serve everyone at once.
"""

from __future__ import annotations

import argparse
import errno
import socket
import sys
import threading


# --8<-- [start:server]
def echo_one_client(conn: socket.socket) -> None:
    """Send back every byte the client sends, until it closes its end."""
    with conn:
        while True:
            # 2. recv() blocks until at least one byte arrives (or the peer closes: b"").
            data = conn.recv(4096)
            if not data:
                return
            # 3. sendall() blocks until every byte is in our kernel's send buffer.
            conn.sendall(data)


def serve(listener: socket.socket, max_clients: int | None = None) -> None:
    """Accept clients one after the other and echo each one until it leaves."""
    served = 0
    while max_clients is None or served < max_clients:
        # 1. accept() blocks until a finished connection is waiting in the backlog.
        conn, peer = listener.accept()
        print(f"serving {peer[0]}:{peer[1]}; anyone else waits in the backlog")
        # While we are in here, this thread is *only* talking to this one client.
        try:
            echo_one_client(conn)
            print(f"{peer[0]}:{peer[1]} left")
        except ConnectionError:  # reset or broken pipe: it vanished without a proper close
            print(f"{peer[0]}:{peer[1]} vanished")
        served += 1


# --8<-- [end:server]


def listen(port: int) -> socket.socket:
    """A listening socket on 127.0.0.1 (create_server does lesson 1's socket/bind/listen)."""
    return socket.create_server(("127.0.0.1", port))


# --8<-- [start:check]
def check() -> list[str]:
    """Client B really waits while client A is connected, then gets its echo."""
    failures = []
    with listen(0) as listener:
        # The listener is already listening, so clients can connect as soon as the thread starts:
        # no sleep needed to "wait for the server".
        server = threading.Thread(target=serve, args=(listener, 2), daemon=True)
        server.start()
        a = socket.create_connection(listener.getsockname(), timeout=5)
        a.sendall(b"hello from A")
        print(f"A sent a line, got back {a.recv(1024)!r}")

        b = socket.create_connection(listener.getsockname(), timeout=5)
        print("B connected (the kernel did the handshake) and sends a line")
        b.sendall(b"hello from B")
        b.settimeout(0.5)  # only to *detect* the stall; a healthy server answers in microseconds
        try:
            early = b.recv(1024)
            failures.append(f"B got {early!r} while A was still connected")
        except TimeoutError:
            print("B heard nothing for 0.5 s: the server's only thread is busy with A")

        a.close()
        print("A hangs up; the server finally accepts B")
        b.settimeout(5)
        try:
            late = b.recv(1024)
        except TimeoutError:
            late = b"(nothing in 5 s)"
        print(f"B got back {late!r}")
        if late != b"hello from B":
            failures.append(f"after A left, B got {late!r}")
        b.close()
        server.join(timeout=5)
        if server.is_alive():
            failures.append("the server did not finish after both clients left")
    return failures


# --8<-- [end:check]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="run the self-check and exit")
    parser.add_argument("--port", type=int, default=7002, help="demo port (default 7002)")
    args = parser.parse_args()
    if args.check:
        failures = check()
        for failure in failures:
            print(f"FAILED: {failure}")
        print("lesson 2 check:", "FAILED" if failures else "OK")
        return 1 if failures else 0
    with listen(args.port) as listener:
        print(f"Echo server on 127.0.0.1:{args.port}. Connect twice with: nc 127.0.0.1 {args.port}")
        try:
            serve(listener)
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
