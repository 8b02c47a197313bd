"""Lesson 3: TCP is a byte stream: partial reads and framing.

Read first: lesson 2 (a blocking echo server). Next: lesson 4, a thread per client.

The one idea: TCP delivers bytes in order, but it does not keep the edges of your messages.
Two send() calls may arrive in one recv() ("hello" + "world" -> "helloworld"), and one send()
may arrive in many ("hello" -> "he" + "llo"). A program that treats one recv() as one message
works on your laptop and breaks on a real network. The fix is *framing*: the bytes themselves
say where a message ends, either with a delimiter (IRC, SMTP, HTTP headers: end of line) or
with a length prefix (many binary protocols).

Run it:
    python lessons/03_byte_stream.py            # a narrated demonstration on real sockets
    python lessons/03_byte_stream.py --serve    # prints every recv() chunk on 127.0.0.1:7003
    python lessons/03_byte_stream.py --check    # the same demonstration as a self-check

What to observe: in the narrated run, how many recv() calls one big send() takes and how two
sends merge. With --serve, try this (-N: close when the input ends), one line in two chunks:
    (printf he; sleep 1; printf 'llo\\n') | nc -N 127.0.0.1 7003

What this is not: a full protocol. Lesson 9 frames real IRC lines (CRLF, a 512-byte limit).
"""

from __future__ import annotations

import argparse
import errno
import random
import socket
import struct
import sys
import threading


# --8<-- [start:framers]
class LineFramer:
    """Delimiter framing: a message is everything up to b"\\n"."""

    #: A peer that never sends b"\n" must not make us buffer forever (lesson 12 goes further).
    MAX_LINE = 4096

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """Add bytes as they arrived; return the complete messages they finish."""
        self._buffer += data
        *lines, rest = self._buffer.split(b"\n")
        if len(rest) > self.MAX_LINE:
            raise ValueError("line too long")
        # Keep the unfinished tail: it is the start of the next message.
        self._buffer = bytearray(rest)
        return [bytes(line) for line in lines]

    @staticmethod
    def encode(message: bytes) -> bytes:
        # The delimiter cannot appear inside a message; IRC simply forbids newlines in a line.
        assert b"\n" not in message
        return message + b"\n"


class LengthPrefixFramer:
    """Length-prefix framing: 4 bytes of big-endian length, then exactly that many bytes."""

    HEADER = struct.Struct("!I")

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        messages = []
        while len(self._buffer) >= self.HEADER.size:
            (length,) = self.HEADER.unpack_from(self._buffer)
            end = self.HEADER.size + length
            if len(self._buffer) < end:
                break  # the header is here, the body is not (yet)
            messages.append(bytes(self._buffer[self.HEADER.size : end]))
            del self._buffer[:end]
        return messages

    @classmethod
    def encode(cls, message: bytes) -> bytes:
        # Any bytes may be inside, newlines included: the length says where it ends.
        return cls.HEADER.pack(len(message)) + message


# --8<-- [end:framers]


def connected_pair() -> tuple[socket.socket, socket.socket]:
    """A real TCP connection over loopback: (client end, server end)."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname(), timeout=5)
        server, _ = listener.accept()
        server.settimeout(5)
        return client, server


# --8<-- [start:demonstrate]
def demonstrate() -> list[str]:
    """Narrate the three surprises on real sockets; return the ones that did not show."""
    failures = []
    sender, receiver = connected_pair()
    with sender, receiver:
        # 1. Two sends, one recv. We peek until all 10 bytes are in the receive buffer
        # (MSG_WAITALL with MSG_PEEK waits for them without consuming), then read once.
        sender.sendall(b"hello")
        sender.sendall(b"world")
        receiver.recv(10, socket.MSG_PEEK | socket.MSG_WAITALL)
        merged = receiver.recv(1024)
        print(f"1. send(b'hello'), send(b'world') -> one recv() returned {merged!r}")
        if merged != b"helloworld":
            failures.append(f"sends did not coalesce: {merged!r}")

        # 2. One send, many recvs. The sender's kernel, the loopback device and the receive
        # buffer each move bytes in their own sizes.
        big = bytes(1_000_000)
        writer = threading.Thread(target=sender.sendall, args=(big,))
        writer.start()
        sizes: list[int] = []
        while sum(sizes) < len(big):
            sizes.append(len(receiver.recv(1 << 20)))
        writer.join()
        print(f"2. one sendall() of {len(big):,} bytes took {len(sizes)} recv() calls;")
        print(f"   the first chunks were {sizes[:6]} bytes")
        if len(sizes) < 2:
            failures.append("a big send arrived in one piece")

        # 3. "hello" as "he" + "llo": the rest comes a moment later (a slow sender, a lost
        # packet being resent...). Each recv() returns what is there *now*.
        # Here we make the gap ourselves: "llo" is sent only after the first recv() returned.
        sender.sendall(b"he")
        first = receiver.recv(1024)
        sender.sendall(b"llo\n")
        second = receiver.recv(1024)
        print(f"3. a naive reader sees two 'messages': {first!r} and {second!r}")
        framer = LineFramer()
        messages = framer.feed(first) + framer.feed(second)
        print(f"   a LineFramer fed the same chunks sees {messages!r}")
        if (first, messages) != (b"he", [b"hello"]):
            failures.append(f"split read showed {first!r}, framed {messages!r}")

        # 4. Both framers, over the socket, with the stream cut into random pieces.
        originals = [b"NICK ada", b"PRIVMSG #room :hi\r", b"", b"x" * 3000]
        for framer_class in (LineFramer, LengthPrefixFramer):
            stream = b"".join(framer_class.encode(m) for m in originals)
            framer_out = framed_over_socket(sender, receiver, stream, framer_class())
            print(f"4. {framer_class.__name__}: {len(framer_out)} messages back, intact")
            if framer_out != originals:
                failures.append(f"{framer_class.__name__} returned {framer_out!r}")
    return failures


def framed_over_socket(
    sender: socket.socket,
    receiver: socket.socket,
    stream: bytes,
    framer: LineFramer | LengthPrefixFramer,
) -> list[bytes]:
    """Send ``stream`` in random-sized pieces, read in small pieces, return what the framer saw."""
    rng = random.Random(3)  # seeded: the same cuts every run
    position = 0
    while position < len(stream):
        step = rng.randint(1, 700)
        sender.sendall(stream[position : position + step])
        position += step
    received = 0
    messages: list[bytes] = []
    while received < len(stream):
        chunk = receiver.recv(rng.randint(1, 64))
        received += len(chunk)
        messages += framer.feed(chunk)
    return messages


# --8<-- [end:demonstrate]


def serve_raw(port: int) -> None:
    """Print every recv() chunk exactly as it arrived, so the stream's pieces are visible."""
    with socket.create_server(("127.0.0.1", port)) as listener:
        print(f"Printing raw recv() chunks on 127.0.0.1:{port}; connect with nc. Ctrl-C stops.")
        while True:
            conn, peer = listener.accept()
            with conn:
                print(f"{peer[0]}:{peer[1]} connected")
                while chunk := conn.recv(4096):
                    print(f"  recv() -> {chunk!r}")
                print("  recv() -> b'' (closed)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="run the self-check and exit")
    parser.add_argument("--serve", action="store_true", help="print raw chunks on --port")
    parser.add_argument("--port", type=int, default=7003, help="--serve port (default 7003)")
    args = parser.parse_args()
    if args.serve:
        try:
            serve_raw(args.port)
        except KeyboardInterrupt:
            print("\nStopped.")
        return 0
    failures = demonstrate()
    for failure in failures:
        print(f"FAILED: {failure}")
    if args.check:
        print("lesson 3 check:", "FAILED" if failures else "OK")
    return 1 if failures else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except OSError as error:
        # Only bind() fails like this: a port in use, or one we may not use. Say so plainly.
        if error.errno not in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL):
            raise
        sys.exit(f"cannot listen: {error.strerror}. Is the lesson already running? Try --port.")
