"""The small pieces under the core: line building, casemapping, masks, peers, token bucket."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatkit.casemap import casefold, is_valid_channel, is_valid_nick, mask_pattern, normalize_mask
from chatkit.lines import clean_text, encode_line, encode_relay, encode_reply, truncate_utf8
from chatkit.protocol import Message
from chatkit.session import TokenBucket, host_from_peer


def test_encode_line_trailing_rules() -> None:
    assert encode_line("s", "001", "nick", "Welcome") == b":s 001 nick :Welcome\r\n"
    assert encode_line("p", "JOIN", "#a", trailing=False) == b":p JOIN #a\r\n"
    assert encode_line("p", "MODE", "#a", "+o", "x y", trailing=False) == b":p MODE #a +o :x y\r\n"
    assert encode_line(None, "PING", "srv") == b"PING :srv\r\n"


def test_encode_line_repairs_middle_parameters() -> None:
    assert (
        encode_line("s", "432", "*", "bad nick", "Erroneous") == b":s 432 * bad_nick :Erroneous\r\n"
    )
    assert encode_line("s", "401", "n", "", "x") == b":s 401 n * :x\r\n"
    assert encode_line("s", "401", "n", ":x", "y") == b":s 401 n _x :y\r\n"


@given(st.lists(st.text(max_size=20), min_size=1, max_size=5))
def test_encoded_lines_always_parse(params: list[str]) -> None:
    params = [clean_text(param) for param in params]
    data = encode_line("src", "CMD", *params)
    message = Message.parse(data.decode())
    assert message.command == "CMD"
    assert message.params[-1] == params[-1]
    assert len(message.params) == len(params)


def test_encode_relay_cuts_text_to_512_bytes() -> None:
    data = encode_relay("n!u@h", "PRIVMSG", "#a", "ü" * 400)
    assert len(data) <= 512
    assert data.endswith(b"\r\n")
    data.decode()  # never split inside a character
    short = encode_relay("n!u@h", "PRIVMSG", "#a", "hi")
    assert short == b":n!u@h PRIVMSG #a :hi\r\n"


@given(st.text(max_size=50), st.integers(min_value=0, max_value=60))
def test_truncate_utf8(text: str, limit: int) -> None:
    cut = truncate_utf8(text, limit)
    assert len(cut.encode()) <= limit or cut == text
    assert text.startswith(cut)


def test_clean_text() -> None:
    assert clean_text("a\r\nb\0c") == "abc"
    assert clean_text("plain") == "plain"


def test_rfc1459_casefold() -> None:
    assert casefold("Nick[A]\\~") == "nick{a}|^"
    assert casefold("ÄB") == "Äb"  # only ASCII folds


@pytest.mark.parametrize("nick", ["alice", "A", "[bot]", "x-1", "_under", "`tick", "a" * 30])
def test_valid_nicks(nick: str) -> None:
    assert is_valid_nick(nick, 30)


@pytest.mark.parametrize(
    "nick",
    ["", "1abc", "-a", "a b", "a,b", "a*b", "a?b", "a!b", "a@b", "a.b", "#a", ":a", "é", "a" * 31],
)
def test_invalid_nicks(nick: str) -> None:
    assert not is_valid_nick(nick, 30)


def test_channel_names() -> None:
    assert is_valid_channel("#chat", 50)
    assert is_valid_channel("#café", 50)
    for bad in ("", "#", "chat", "&chat", "#a b", "#a,b", "#a:b", "#a\x07", "#" + "x" * 50):
        assert not is_valid_channel(bad, 50)


def test_masks() -> None:
    assert normalize_mask("bob") == "bob!*@*"
    assert normalize_mask("*@host") == "*!*@host"
    assert normalize_mask("bob!~b") == "bob!~b@*"
    assert normalize_mask("a!b@c") == "a!b@c"
    pattern = mask_pattern("B?B!*@10.*")
    assert pattern.fullmatch(casefold("bob!~x@10.0.0.1"))
    assert not pattern.fullmatch(casefold("bobby!~x@10.0.0.1"))
    assert mask_pattern("a.b").fullmatch("a.b")
    assert not mask_pattern("a.b").fullmatch("axb")  # "." is literal, not a regex


def test_host_from_peer() -> None:
    assert host_from_peer("127.0.0.1:5000") == "127.0.0.1"
    assert host_from_peer("[::1]:5000") == "0::1"
    assert host_from_peer("[2001:db8::1]:6667") == "2001:db8::1"
    assert host_from_peer("::1") == "0::1"
    assert host_from_peer("") == "unknown"


def test_token_bucket() -> None:
    bucket = TokenBucket(burst=2, rate=1.0)
    bucket.refill(10.0)
    assert bucket.take() and bucket.take()
    assert not bucket.take()
    bucket.refill(10.5)
    assert not bucket.take()
    bucket.refill(11.0)
    assert bucket.take()
    bucket.refill(100.0)
    assert bucket.tokens == 2.0  # never more than the burst
    bucket.refill(50.0)  # time going backwards changes nothing
    assert bucket.tokens == 2.0


def test_encode_reply_cuts_the_longest_parameter_to_fit() -> None:
    line = encode_reply("irc.test", "401", "alice", "n" * 600, "No such nick/channel")
    assert len(line) == 512
    assert line.endswith(b" :No such nick/channel\r\n")
    assert encode_reply("s", "PONG", "s", "tok") == b":s PONG s :tok\r\n"
    # A multi-byte character is never split.
    assert len(encode_reply("s", "PONG", "s", "é" * 300)) <= 512
    assert encode_reply("s", "PONG", "s", "é" * 300).decode().endswith("é\r\n")
