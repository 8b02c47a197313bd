"""Lesson 1: Sockets and the TCP handshake.

Read first: nothing; this is where the tutorial starts. Next: lesson 2, a blocking echo server.

The one idea: a TCP connection is set up by the operating system, not by your program. The
server asks the kernel to listen on a port; a client's connect() and the kernel's reply make the
three-way handshake (SYN, SYN-ACK, ACK), and the finished connection waits in the listen backlog
until the server calls accept(). accept() does not "answer the phone": it picks up a call the
kernel already answered.

Run it:
    python lessons/01_sockets.py            # listens on 127.0.0.1:7001 and narrates
    python lessons/01_sockets.py --check    # self-check on a free port, exit 0 if all holds

What to observe: connect with `nc 127.0.0.1 7001` *before* pressing Enter, and look at
`ss -tn 'sport = :7001'` in a third terminal: the connection is ESTAB although accept() has not
run yet. `ss -tln` (or `netstat -tln`) lists the listening socket itself.

What this is not: a server. It accepts one connection, says hello and stops. Lesson 2 loops.
"""

from __future__ import annotations

import argparse
import errno
import socket
import sys


# --8<-- [start:listener]
def open_listener(host: str, port: int) -> socket.socket:
    """Steps 1-3: create a TCP socket, bind it to an address, and listen."""
    # 1. AF_INET = IPv4, SOCK_STREAM = TCP. The socket is just a handle for now.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # SO_REUSEADDR lets us restart the lesson at once, even while the last run's connection
    # lingers in TIME_WAIT (lesson 11 explains it).
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # 2. bind() claims the address. Port 0 means "any free port": the kernel picks one.
    listener.bind((host, port))
    # 3. listen() turns it into a listening socket. From here on the kernel completes
    # handshakes for us and queues up to `backlog` finished connections for accept().
    listener.listen(8)
    return listener


# --8<-- [end:listener]


# --8<-- [start:demo]
def demo(port: int) -> None:
    """The narrated version: a real listening socket a learner pokes at with nc and ss."""
    with open_listener("127.0.0.1", port) as listener:
        host, port = listener.getsockname()
        print(f"Listening on {host}:{port}. In other terminals try:")
        for command, why in [
            (f"ss -tln 'sport = :{port}'", "the LISTEN socket"),
            (f"nc {host} {port}", "connect: the handshake happens now"),
            (f"ss -tn 'sport = :{port}'", "ESTAB, before accept() was ever called"),
        ]:
            print(f"    {command:<28} # {why}")
        input("Press Enter to call accept() ... ")
        # 4. accept() takes the first finished connection from the backlog. It returns a NEW
        # socket for that one conversation; the listener keeps listening for more.
        conn, peer = listener.accept()
        with conn:
            print(f"accept() returned a connection from {peer[0]}:{peer[1]}")
            print(f"  our end is {conn.getsockname()}; the client's port was picked by its kernel")
            conn.sendall(f"Hello {peer[0]}:{peer[1]}! Type a line and press Enter.\n".encode())
            # 5. recv() waits for bytes (at most 1024 of them). b"" means the peer closed.
            data = conn.recv(1024)
            print(f"received {data!r}" if data else "the client closed without sending")
            conn.sendall(b"Bye.\n")
        # 6. Leaving the `with` closes the socket: our kernel sends FIN, nc sees end of file.
    print("Closed. Run the lesson again to try once more.")


# --8<-- [end:demo]


# --8<-- [start:check]
def check() -> list[str]:
    """Show each claim of the lesson on real sockets; return the claims that did not hold."""
    failures = []
    with open_listener("127.0.0.1", 0) as listener:
        address = listener.getsockname()
        print(f"1. listening on port 0 got us a free port from the kernel: {address[1]}")
        if address[1] == 0:
            failures.append("the kernel did not pick a port")

        client = socket.create_connection(address, timeout=5)
        # connect() has returned: the handshake is complete, and we have NOT called accept().
        client.sendall(b"sent before accept")
        print("2. connect() returned and we sent data, all before the server called accept()")

        conn, peer = listener.accept()
        with client, conn:
            conn.settimeout(5)
            # The four numbers that name a connection, seen from both ends, mirror each other.
            mirrored = conn.getpeername() == client.getsockname() == peer
            mirrored = mirrored and conn.getsockname() == client.getpeername()
            print(f"3. the connection is {client.getsockname()} <-> {conn.getsockname()}")
            if not mirrored:
                failures.append("the two ends do not see mirrored addresses")
            early = conn.recv(1024)
            print(f"4. the kernel had buffered the early bytes: {early!r}")
            if early != b"sent before accept":
                failures.append(f"early data was {early!r}")
            client.close()
            eof = conn.recv(1024)
            print(f"5. after the client closed, recv() returned {eof!r}: end of stream")
            if eof != b"":
                failures.append("recv() after close did not return b''")

    # A bound port with no listen() has nobody to handshake with: the kernel answers the SYN
    # with a reset (RST), which connect() reports as "connection refused".
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        try:
            socket.create_connection(unused.getsockname(), timeout=5).close()
            failures.append("connecting to a port nobody listens on succeeded")
        except ConnectionRefusedError:
            print("6. connecting to a port with no listener: ConnectionRefusedError")
    return failures


# --8<-- [end:check]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="run the self-check and exit")
    parser.add_argument("--port", type=int, default=7001, help="demo port (default 7001)")
    args = parser.parse_args()
    if not args.check:
        try:
            demo(args.port)
        except (KeyboardInterrupt, EOFError):
            print("\nStopped.")
        return 0
    failures = check()
    for failure in failures:
        print(f"FAILED: {failure}")
    print("lesson 1 check:", "FAILED" if failures else "OK")
    return 1 if failures else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except OSError as error:
        # Only bind() fails like this: a port in use, or one we may not use. Say so plainly.
        if error.errno not in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL):
            raise
        sys.exit(f"cannot listen: {error.strerror}. Is the lesson already running? Try --port.")
