"""The IRC wire format, without any I/O.

Two pieces live here:

* :class:`Message` is one IRC message (tags, source, command, parameters). ``Message.parse``
  turns a line of text into one and ``Message.encode`` turns one back into bytes, following the
  grammar at https://modern.ircdocs.horse/#messages and the IRCv3 message-tags escaping rules.
* :class:`LineBuffer` turns a stream of bytes, chunked however TCP pleases, into complete lines,
  and refuses to grow without bound when a peer never sends a newline.

Errors say who is at fault, as in h11::

    ProtocolError
    ├── LocalProtocolError    we were asked to encode something the protocol cannot carry
    └── RemoteProtocolError   the peer sent something we cannot parse
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = [
    "MAX_CLIENT_TAG_BYTES",
    "MAX_LINE_BYTES",
    "MAX_TAG_BYTES",
    "LineBuffer",
    "LocalProtocolError",
    "Message",
    "OverlongLine",
    "ProtocolError",
    "RemoteProtocolError",
]

#: The classic IRC limit: a message is at most 512 bytes *including* the trailing CRLF.
MAX_LINE_BYTES = 512
#: IRCv3 message-tags allow up to 8191 more bytes of tags (including the ``@`` and the space
#: after them) in front of the classic 512-byte message: what a client must accept.
MAX_TAG_BYTES = 8191
#: Half of that is the client's share: at most 4094 bytes of tag data, so 4096 with the ``@``
#: and the space. The rest is kept for tags a server adds when it relays the line, and a
#: server must answer a client that sends more with ``417 ERR_INPUTTOOLONG``.
MAX_CLIENT_TAG_BYTES = 4096


class ProtocolError(Exception):
    """Something about the IRC wire format went wrong."""


class LocalProtocolError(ProtocolError):
    """We were asked to encode a message the protocol cannot represent (our bug, not the peer's)."""


class RemoteProtocolError(ProtocolError):
    """The peer sent a line we cannot parse (their fault: answer with an error, keep going)."""


# Tag values escape the five characters that would break the framing or the tag list.
_TAG_ESCAPES = {";": r"\:", " ": r"\s", "\\": "\\\\", "\r": r"\r", "\n": r"\n"}
_TAG_UNESCAPES = {":": ";", "s": " ", "\\": "\\", "r": "\r", "n": "\n"}


def escape_tag_value(value: str) -> str:
    """Escape a tag value for the wire (``;`` becomes ``\\:``, space becomes ``\\s`` ...)."""
    return "".join(_TAG_ESCAPES.get(ch, ch) for ch in value)


def unescape_tag_value(raw: str) -> str:
    """Undo :func:`escape_tag_value`; an unknown escape ``\\x`` means ``x``, a lone trailing
    backslash is dropped (both as the message-tags spec says)."""
    if "\\" not in raw:
        return raw
    out: list[str] = []
    chars = iter(raw)
    for ch in chars:
        if ch != "\\":
            out.append(ch)
            continue
        nxt = next(chars, None)
        if nxt is None:
            break
        out.append(_TAG_UNESCAPES.get(nxt, nxt))
    return "".join(out)


def _empty_tags() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Message:
    """One IRC message. Compared by value, so tests can write the expected message out in full.

    ``tags`` maps a tag key to its (unescaped) value; a tag sent without ``=value`` has the
    value ``""``, which the spec says is equivalent. ``source`` is the prefix without its ``:``
    (``nick!user@host`` or a server name), or ``None``. ``command`` is upper case: a word such
    as ``PRIVMSG`` or a three-digit numeric such as ``001``.
    """

    command: str
    params: tuple[str, ...] = ()
    source: str | None = None
    tags: Mapping[str, str] = field(default_factory=_empty_tags)

    @classmethod
    def parse(cls, line: str) -> Message:
        """Parse one line (with or without its CRLF) into a :class:`Message`.

        Raises :class:`RemoteProtocolError` for a line with no command. Runs of spaces between
        parameters are allowed and ignored, as modern.ircdocs.horse asks servers to do.
        """
        # Leading spaces are skipped like any other run of spaces, before the tags too.
        line = line.rstrip("\r\n").lstrip(" ")
        pos = 0
        tags: dict[str, str] = {}
        if line.startswith("@"):
            end = line.find(" ")
            if end == -1:
                raise RemoteProtocolError("message has tags but no command")
            for item in line[1:end].split(";"):
                key, _, value = item.partition("=")
                if key:  # an empty key names nothing: skip it, as we skip empty items
                    tags[key] = unescape_tag_value(value)
            pos = end + 1
        while pos < len(line) and line[pos] == " ":
            pos += 1

        source: str | None = None
        if line.startswith(":", pos):
            end = line.find(" ", pos)
            if end == -1:
                raise RemoteProtocolError("message has a source but no command")
            # ``:`` followed by a space names no one: treat it as no source at all.
            source = line[pos + 1 : end] or None
            pos = end + 1

        rest = line[pos:]
        trailing: str | None = None
        head, sep, tail = rest.partition(" :")
        if rest.startswith(":"):
            # Only possible after we skipped the spaces: a trailing parameter with no command.
            raise RemoteProtocolError("message has no command")
        if sep:
            trailing = tail
        # Only the space separates parameters: a tab or form feed is part of a parameter.
        words = [word for word in head.split(" ") if word]
        if not words or words[0].startswith("@"):
            # Tags may only open a line: "@" where the command belongs is not a command.
            raise RemoteProtocolError("message has no command")
        command = words[0].upper()
        params = words[1:]
        if trailing is not None:
            params.append(trailing)
        return cls(command, tuple(params), source, MappingProxyType(tags) if tags else _NO_TAGS)

    def encode(self) -> bytes:
        """Return the message as UTF-8 bytes ending in CRLF, ready for ``socket.send``.

        The last parameter is sent as a trailing parameter (``:text``) when it must be: empty,
        containing a space, or starting with ``:``. Raises :class:`LocalProtocolError` for a
        message the wire cannot carry (a line break or NUL inside it, a bad middle parameter).
        """
        return self.to_line().encode("utf-8", "replace") + b"\r\n"

    def to_line(self) -> str:
        """Like :meth:`encode`, but as text and without the CRLF."""
        parts: list[str] = []
        if self.tags:
            parts.append(
                "@"
                + ";".join(
                    f"{key}={escape_tag_value(value)}" if value else key
                    for key, value in self.tags.items()
                )
            )
        if self.source is not None:
            if not self.source or " " in self.source:
                raise LocalProtocolError(f"invalid source {self.source!r}")
            parts.append(":" + self.source)
        if not self.command or " " in self.command or self.command[0] in "@:":
            raise LocalProtocolError(f"invalid command {self.command!r}")
        parts.append(self.command)
        last = len(self.params) - 1
        for index, param in enumerate(self.params):
            if index == last and (not param or " " in param or param.startswith(":")):
                parts.append(":" + param)
            elif not param or " " in param or param.startswith(":"):
                raise LocalProtocolError(
                    f"parameter {index} ({param!r}) of {self.command} can only be the last one"
                )
            else:
                parts.append(param)
        line = " ".join(parts)
        if "\r" in line or "\n" in line or "\0" in line:
            raise LocalProtocolError(f"{self.command} contains a line break or NUL")
        return line

    def __str__(self) -> str:
        return self.to_line()


_NO_TAGS: Mapping[str, str] = _empty_tags()


@dataclass(frozen=True, slots=True)
class OverlongLine:
    """Stands in a :meth:`LineBuffer.feed` result for a line that broke the length limit.

    The line's bytes were discarded (never buffered past the limit); ``length`` is how many
    bytes arrived for it, line ending included, so the server can reply
    ``417 ERR_INPUTTOOLONG`` and carry on with the next line.
    """

    length: int


class LineBuffer:
    """Collects bytes from a stream and hands back complete, decoded lines.

    TCP is a byte stream: ``PRIVMSG #a :hi\\r\\n`` may arrive as ``PRIV`` + ``MSG #a :hi\\r``
    + ``\\n``, or glued to the next line. ``feed`` takes whatever ``recv`` returned and returns
    every line completed so far, in order. Lines end in ``\\r\\n``; a bare ``\\n`` is accepted
    too, as real clients (and ``nc``) send it. Empty lines are skipped, as the spec allows.

    The buffer never holds more than one line's worth of bytes: a peer that sends an endless
    line without a newline gets an :class:`OverlongLine` once the newline finally comes, and
    costs us at most ``max_line + max_tags`` bytes of memory in the meantime.
    """

    def __init__(self, max_line: int = MAX_LINE_BYTES, max_tags: int = MAX_TAG_BYTES) -> None:
        #: The limit for the message without tags, CRLF included (512 in classic IRC).
        self.max_line = max_line
        #: The extra allowance for a leading ``@tags`` section.
        self.max_tags = max_tags
        self._buffer = bytearray()
        # While > 0 we are throwing away the rest of an over-long line, counting its bytes.
        self._discarding = 0

    @property
    def pending(self) -> int:
        """How many bytes of an incomplete line are buffered (useful for tests and stats)."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[str | OverlongLine]:
        """Add ``data`` and return the lines it completed (``str``) or broke (``OverlongLine``)."""
        lines: list[str | OverlongLine] = []
        hard_limit = self.max_line + self.max_tags
        buffer = self._buffer
        start = 0
        end = len(data)
        while start < end:
            newline = data.find(b"\n", start)
            if self._discarding:
                if newline == -1:
                    self._discarding += end - start
                    return lines
                lines.append(OverlongLine(self._discarding + newline - start + 1))
                self._discarding = 0
                start = newline + 1
                continue
            if newline == -1:
                buffer += data[start:end]
                if len(buffer) > hard_limit:
                    self._discarding = len(buffer)
                    buffer.clear()
                return lines
            if buffer:
                buffer += data[start : newline + 1]
                raw = bytes(buffer)
                buffer.clear()
            else:
                raw = data[start : newline + 1]
            start = newline + 1
            item = self._decode(raw)
            if item is not None:
                lines.append(item)
        return lines

    def _decode(self, raw: bytes) -> str | OverlongLine | None:
        # ``raw`` ends in b"\n", maybe preceded by b"\r"; the limits count the line ending as
        # the 2 bytes of CRLF, so a bare-LF line gets the same allowance as a CRLF one.
        body = raw[:-2] if raw.endswith(b"\r\n") else raw[:-1]
        message_length = len(body) + 2
        if body.startswith(b"@"):
            space = body.find(b" ")
            tag_length = space + 1 if space != -1 else len(body)
            if tag_length > self.max_tags:
                return OverlongLine(len(raw))
            message_length -= tag_length
        if message_length > self.max_line:
            # Checked before the blank-line test: the discarding path in ``feed`` cannot look
            # at what it threw away, and a line must be judged the same however it arrived.
            return OverlongLine(len(raw))
        if not body.strip(b" \r"):
            return None
        return body.decode("utf-8", "replace")
