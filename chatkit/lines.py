"""Building the server's outgoing lines: quickly, and without ever raising.

:meth:`chatkit.protocol.Message.encode` is strict on purpose: it refuses a message the wire
cannot carry. The server, though, often echoes words the client chose (a bad nick, an unknown
room) back inside replies, and a reply must never crash the server. :func:`encode_line`
therefore *repairs* a parameter that would break the framing instead of refusing it, and it
skips building a ``Message`` object, which matters on the hot path of a busy room.
"""

from __future__ import annotations

__all__ = ["clean_text", "encode_line", "encode_relay", "encode_reply", "truncate_utf8"]

#: The classic limit: a line is at most 512 bytes including its CRLF.
_LINE_LIMIT = 512


def _middle(param: str) -> str:
    # A middle parameter cannot be empty, contain a space or start with ":".
    if not param:
        return "*"
    if " " in param:
        param = param.replace(" ", "_")
    if param[0] == ":":
        param = "_" + param[1:]
    return param


def clean_text(text: str) -> str:
    """Remove CR, LF and NUL, which can never appear inside a line."""
    if "\r" in text or "\n" in text or "\0" in text:
        return text.replace("\r", "").replace("\n", "").replace("\0", "")
    return text


def truncate_utf8(text: str, max_bytes: int) -> str:
    """Cut ``text`` to at most ``max_bytes`` of UTF-8, never in the middle of a character."""
    data = text.encode("utf-8", "replace")
    if len(data) <= max_bytes:
        return text
    return data[: max(max_bytes, 0)].decode("utf-8", "ignore")


def encode_line(source: str | None, command: str, *params: str, trailing: bool = True) -> bytes:
    """Return ``:source COMMAND p1 p2 :last\\r\\n`` as UTF-8 bytes.

    With ``trailing`` (the default) the last parameter always gets its ``:``, as servers
    conventionally send text such as ``:Welcome``; without it, only when it must. Middle
    parameters are repaired rather than refused (see the module docstring).
    """
    parts = [":" + source, command] if source is not None else [command]
    if params:
        last = len(params) - 1
        for index in range(last):
            parts.append(_middle(params[index]))
        final = params[last]
        if trailing or not final or " " in final or final[0] == ":":
            parts.append(":" + final)
        else:
            parts.append(final)
    return " ".join(parts).encode("utf-8", "replace") + b"\r\n"


def encode_relay(source: str, command: str, *params: str) -> bytes:
    """Like :func:`encode_line`, but cut the last parameter (the text) so the line fits.

    A client may send a full 512-byte ``PRIVMSG``; relayed with its ``nick!user@host``
    prefix it would grow past the limit and clients would reject it, so the text is
    shortened, as modern.ircdocs.horse suggests.
    """
    data = encode_line(source, command, *params)
    excess = len(data) - _LINE_LIMIT
    if excess > 0 and params:
        last = params[-1]
        cut = truncate_utf8(last, len(last.encode("utf-8", "replace")) - excess)
        data = encode_line(source, command, *params[:-1], cut)
    return data


def encode_reply(source: str | None, command: str, *params: str) -> bytes:
    """Like :func:`encode_line`, but shorten the longest parameters until the line fits.

    Replies often repeat words the client chose (a PING token, an unknown nick, a real name),
    and the client may have sent a full 512-byte line; behind our prefix the reply would be
    longer than the limit. The longest parameter is the one cut: it is the client's, while the
    short ones (our name, a number, the numeric's text) carry the meaning.
    """
    data = encode_line(source, command, *params)
    if len(data) <= _LINE_LIMIT:
        return data
    parts = list(params)
    for _ in parts:  # each round shortens a different parameter, so this ends
        excess = len(data) - _LINE_LIMIT
        if excess <= 0:
            break
        longest = max(range(len(parts)), key=lambda index: len(parts[index].encode()))
        size = len(parts[longest].encode("utf-8", "replace"))
        parts[longest] = truncate_utf8(parts[longest], max(size - excess, 1))
        data = encode_line(source, command, *parts)
    return data
