"""A first check that the wire format round-trips; the full suite lives beside it."""

from chatkit.protocol import LineBuffer, Message


def test_parse_and_encode_round_trip() -> None:
    message = Message.parse(":nick!user@host PRIVMSG #room :hello world")
    assert message == Message("PRIVMSG", ("#room", "hello world"), "nick!user@host")
    assert message.encode() == b":nick!user@host PRIVMSG #room :hello world\r\n"


def test_line_buffer_joins_split_crlf() -> None:
    buffer = LineBuffer()
    assert buffer.feed(b"NICK a\r") == []
    assert buffer.feed(b"\nUSER a 0 * :A\n") == ["NICK a", "USER a 0 * :A"]
