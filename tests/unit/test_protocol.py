"""The wire format: ``Message.parse``/``encode`` and ``LineBuffer`` framing.

Framing is tested the way h11 tests its reader: the same bytes fed whole, one byte at a time,
and split at every possible point, must give the same lines.
"""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatkit.protocol import (
    LineBuffer,
    LocalProtocolError,
    Message,
    OverlongLine,
    RemoteProtocolError,
    escape_tag_value,
    unescape_tag_value,
)

# --- parsing --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("PING", Message("PING")),
        ("ping :abc", Message("PING", ("abc",))),
        ("NICK alice\r\n", Message("NICK", ("alice",))),
        ("USER alice 0 * :Alice Liddell", Message("USER", ("alice", "0", "*", "Alice Liddell"))),
        (
            ":alice!a@host PRIVMSG #room :hello world",
            Message("PRIVMSG", ("#room", "hello world"), "alice!a@host"),
        ),
        # An empty trailing parameter is still a parameter.
        ("PRIVMSG #room :", Message("PRIVMSG", ("#room", ""))),
        # A trailing parameter may contain colons and leading spaces.
        ("PRIVMSG #room :: a  b", Message("PRIVMSG", ("#room", ": a  b"))),
        # Runs of spaces between parameters are ignored (modern.ircdocs.horse).
        ("MODE   #room   +k    key", Message("MODE", ("#room", "+k", "key"))),
        ("JOIN #a  :", Message("JOIN", ("#a", ""))),
        (":irc.example 001 alice :Welcome", Message("001", ("alice", "Welcome"), "irc.example")),
        ("CAP LS 302", Message("CAP", ("LS", "302"))),
    ],
)
def test_parse(line: str, expected: Message) -> None:
    assert Message.parse(line) == expected


def test_parse_tags_with_escapes_and_missing_values() -> None:
    message = Message.parse(r"@id=123;msg=a\sb\:c\\d;flag;empty= :n!u@h PRIVMSG #r :x")
    assert dict(message.tags) == {"id": "123", "msg": "a b;c\\d", "flag": "", "empty": ""}
    assert message.source == "n!u@h"
    assert message.params == ("#r", "x")


@pytest.mark.parametrize(
    "line", ["", "   ", ":source", ":source   ", "@tag=1", "@tag=1 ", ":src :x", ": @x", "  @t"]
)
def test_parse_rejects_lines_without_a_command(line: str) -> None:
    with pytest.raises(RemoteProtocolError):
        Message.parse(line)


@pytest.mark.parametrize(
    ("raw", "value"),
    [(r"a\sb", "a b"), (r"\:", ";"), ("\\\\", "\\"), (r"\r\n", "\r\n"), (r"\x", "x"), ("a\\", "a")],
)
def test_unescape_tag_value(raw: str, value: str) -> None:
    assert unescape_tag_value(raw) == value


def test_parse_treats_an_empty_source_or_tag_key_as_absent() -> None:
    assert Message.parse(": PING x") == Message("PING", ("x",))
    assert Message.parse("@=v;;k=1 PING x") == Message("PING", ("x",), tags={"k": "1"})


@pytest.mark.parametrize("ending", [b"\r\n", b"\n"])
def test_overlong_length_counts_the_bytes_received_however_they_arrive(ending: bytes) -> None:
    line = b"x" * 40 + ending
    whole = LineBuffer(max_line=16, max_tags=8).feed(line)
    pieces = LineBuffer(max_line=16, max_tags=8)
    split = pieces.feed(line[:30]) + pieces.feed(line[30:])
    assert whole == split == [OverlongLine(len(line))]


def test_an_overlong_blank_line_is_still_overlong() -> None:
    line = b" " * 40 + b"\r\n"
    assert LineBuffer(max_line=16, max_tags=8).feed(line) == [OverlongLine(42)]


# --- encoding -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "wire"),
    [
        (Message("PING", ("abc",)), b"PING abc\r\n"),
        (Message("PRIVMSG", ("#r", "hi there"), "a!b@c"), b":a!b@c PRIVMSG #r :hi there\r\n"),
        (Message("PRIVMSG", ("#r", "")), b"PRIVMSG #r :\r\n"),
        (Message("PRIVMSG", ("#r", ":)")), b"PRIVMSG #r ::)\r\n"),
        (Message("TAGMSG", ("#r",), tags={"+typing": "active"}), b"@+typing=active TAGMSG #r\r\n"),
        (Message("X", ("y",), tags={"k": "a b;c"}), b"@k=a\\sb\\:c X y\r\n"),
        (Message("PRIVMSG", ("#r", "héllo")), "PRIVMSG #r héllo\r\n".encode()),
    ],
)
def test_encode(message: Message, wire: bytes) -> None:
    assert message.encode() == wire


@pytest.mark.parametrize(
    "message",
    [
        Message("PRIVMSG", ("has space", "text")),
        Message("PRIVMSG", (":colon", "text")),
        Message("PRIVMSG", ("", "text")),
        Message("PRIVMSG", ("#r", "line\r\nQUIT")),
        Message("PRIVMSG", ("#r", "nul\0")),
        Message("BAD COMMAND"),
        Message("@TAGS"),
        Message("PING", source="has space"),
    ],
)
def test_encode_refuses_what_the_wire_cannot_carry(message: Message) -> None:
    with pytest.raises(LocalProtocolError):
        message.encode()


# --- framing --------------------------------------------------------------------------------

STREAM = b"NICK alice\r\nUSER alice 0 * :Alice\r\n\r\nJOIN #lobby\nPRIVMSG #lobby :hi\r\n"
LINES = ["NICK alice", "USER alice 0 * :Alice", "JOIN #lobby", "PRIVMSG #lobby :hi"]


def test_framing_whole() -> None:
    assert LineBuffer().feed(STREAM) == LINES


def test_framing_one_byte_at_a_time() -> None:
    buffer = LineBuffer()
    lines: list[str | OverlongLine] = []
    for index in range(len(STREAM)):
        lines += buffer.feed(STREAM[index : index + 1])
    assert lines == LINES
    assert buffer.pending == 0


@pytest.mark.parametrize("cut", range(1, len(STREAM)))
def test_framing_split_anywhere(cut: int) -> None:
    buffer = LineBuffer()
    assert buffer.feed(STREAM[:cut]) + buffer.feed(STREAM[cut:]) == LINES


def test_framing_keeps_trailing_partial_line() -> None:
    buffer = LineBuffer()
    assert buffer.feed(b"PING a\r\nPRIVMSG #r :half") == ["PING a"]
    assert buffer.pending == len(b"PRIVMSG #r :half")
    assert buffer.feed(b" done\r\n") == ["PRIVMSG #r :half done"]


def test_line_limit_counts_the_crlf() -> None:
    exactly = b"A" * 510 + b"\r\n"
    assert LineBuffer().feed(exactly) == ["A" * 510]
    assert LineBuffer().feed(b"A" * 511 + b"\r\n") == [OverlongLine(513)]


def test_tags_get_their_own_allowance() -> None:
    line = b"@" + b"t" * 8000 + b" " + b"A" * 510 + b"\r\n"
    assert LineBuffer().feed(line) == [line[:-2].decode()]
    too_many_tags = b"@" + b"t" * 8200 + b" PING x\r\n"
    assert isinstance(LineBuffer().feed(too_many_tags)[0], OverlongLine)


def test_overlong_line_is_never_buffered_past_the_limit() -> None:
    buffer = LineBuffer()
    chunk = b"x" * 4096
    for _ in range(100):  # 400 KiB with no newline
        assert buffer.feed(chunk) == []
        assert buffer.pending <= buffer.max_line + buffer.max_tags
    result = buffer.feed(b"tail\r\nPING ok\r\n")
    assert len(result) == 2
    assert isinstance(result[0], OverlongLine)
    assert result[0].length == 100 * 4096 + len(b"tail\r\n")
    assert result[1] == "PING ok"


def test_undecodable_bytes_are_replaced() -> None:
    assert LineBuffer().feed(b"PRIVMSG #r :\xff\xfeok\r\n") == ["PRIVMSG #r :\ufffd\ufffdok"]


# --- properties -----------------------------------------------------------------------------

# A parameter that can sit in the middle of a message: no space, not empty, no leading colon.
middle = st.text(
    alphabet=st.characters(blacklist_characters=" \r\n\0", blacklist_categories=("Cs",)),
    min_size=1,
    max_size=20,
).filter(lambda s: not s.startswith(":"))
trailing = st.text(
    alphabet=st.characters(blacklist_characters="\r\n\0", blacklist_categories=("Cs",)),
    max_size=40,
)
tag_key = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-+/.", min_size=1, max_size=10)
tag_value = st.text(
    alphabet=st.characters(blacklist_characters="\0", blacklist_categories=("Cs",)), max_size=20
)


@st.composite
def messages(draw: st.DrawFn) -> Message:
    command = draw(st.sampled_from(["PRIVMSG", "NOTICE", "JOIN", "001", "433", "MODE", "X"]))
    params = [*draw(st.lists(middle, max_size=5))]
    if draw(st.booleans()):
        params.append(draw(trailing))
    source = draw(st.none() | middle)
    tags = draw(st.dictionaries(tag_key, tag_value, max_size=3))
    return Message(command, tuple(params), source, tags)


@given(messages())
def test_encode_then_parse_round_trips(message: Message) -> None:
    parsed = Message.parse(message.encode().decode())
    assert parsed.command == message.command
    assert parsed.params == message.params
    assert parsed.source == message.source
    assert dict(parsed.tags) == dict(message.tags)


@given(tag_value)
def test_tag_escaping_round_trips(value: str) -> None:
    escaped = escape_tag_value(value)
    assert not any(ch in escaped for ch in "; \r\n")
    assert unescape_tag_value(escaped) == value


@given(st.binary(max_size=2000), st.lists(st.integers(min_value=1, max_value=64), max_size=50))
def test_line_buffer_and_parser_never_crash_on_arbitrary_bytes(
    data: bytes, chunk_sizes: list[int]
) -> None:
    buffer = LineBuffer(max_line=64, max_tags=64)
    position = 0
    for size in [*chunk_sizes, len(data)]:
        for item in buffer.feed(data[position : position + size]):
            assert isinstance(item, str | OverlongLine)
            if isinstance(item, str):
                with contextlib.suppress(RemoteProtocolError):
                    Message.parse(item)
        position += size
        assert buffer.pending <= 128


@given(st.binary(max_size=600), st.integers(min_value=1, max_value=599))
def test_chunking_never_changes_the_lines(data: bytes, cut: int) -> None:
    whole = LineBuffer().feed(data)
    split = LineBuffer()
    assert split.feed(data[:cut]) + split.feed(data[cut:]) == whole


# Lines built from the characters that matter to the grammar, so the interesting cases
# (empty source, empty tag key, runs of spaces, colons) come up often.
grammar_text = st.text(alphabet=" :@;=!\\#xyZé\t", max_size=40)


@given(grammar_text)
def test_parse_encode_parse_is_stable(line: str) -> None:
    try:
        message = Message.parse(line)
    except RemoteProtocolError:
        return
    assert Message.parse(message.encode().decode()) == message


framing_bytes = st.lists(st.sampled_from([b" ", b"\r", b"\n", b"\r\n", b"@", b"x"]), max_size=80)


@given(framing_bytes.map(b"".join), st.integers(min_value=1, max_value=200))
def test_chunking_never_changes_the_lines_even_past_the_limit(data: bytes, cut: int) -> None:
    whole = LineBuffer(max_line=16, max_tags=8).feed(data)
    split = LineBuffer(max_line=16, max_tags=8)
    assert split.feed(data[:cut]) + split.feed(data[cut:]) == whole
