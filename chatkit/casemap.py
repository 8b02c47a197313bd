"""How nicks and room names compare, and which ones are valid.

IRC is case-insensitive, but not in the Unicode sense: the server announces a *casemapping*
in ISUPPORT and both sides fold names the same way. chatkit announces ``rfc1459``, the
traditional one: ASCII letters fold to lower case, and because the Finnish keyboard put
``{}|^`` where US keyboards have ``[]\\~``, those four characters fold too. So ``Nick[away]``
and ``nick{away}`` are the same person.
"""

from __future__ import annotations

import re

__all__ = [
    "CASEMAPPING",
    "casefold",
    "is_valid_channel",
    "is_valid_nick",
    "mask_pattern",
    "normalize_mask",
]

#: The name announced as ``CASEMAPPING=`` in 005; :func:`casefold` implements it.
CASEMAPPING = "rfc1459"

_FOLD = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ[]\\~",
    "abcdefghijklmnopqrstuvwxyz{}|^",
)

# RFC 2812's nickname grammar: a letter or one of these "specials" first, then letters,
# digits, specials or "-". It keeps every character that has a meaning in the protocol
# (space, comma, "!", "@", "*", "?", ".", ":", "#") out of nicks, as modern.ircdocs.horse asks.
_NICK_FIRST = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz[]\\`_^{|}")
_NICK_REST = _NICK_FIRST | frozenset("0123456789-")

#: Characters a room name may never contain: they separate parameters or lists, or end lines.
_CHANNEL_FORBIDDEN = frozenset(" ,:\x07\x00\r\n")


def casefold(name: str) -> str:
    """Fold ``name`` with the rfc1459 casemapping; use the result as a dict key."""
    return name.translate(_FOLD)


def is_valid_nick(nick: str, max_length: int) -> bool:
    """True when ``nick`` is an acceptable nickname of at most ``max_length`` characters."""
    if not nick or len(nick) > max_length or nick[0] not in _NICK_FIRST:
        return False
    return all(ch in _NICK_REST for ch in nick)


def is_valid_channel(name: str, max_length: int) -> bool:
    """True when ``name`` is an acceptable room name (``#`` then at least one character)."""
    if len(name) < 2 or len(name) > max_length or name[0] != "#":
        return False
    return not any(ch in _CHANNEL_FORBIDDEN or ord(ch) < 32 for ch in name)


def mask_pattern(mask: str) -> re.Pattern[str]:
    """Compile an IRC mask (``*`` any run of characters, ``?`` any one) to match
    casefolded text with ``fullmatch``."""
    parts = (".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in casefold(mask))
    return re.compile("".join(parts), re.DOTALL)


def normalize_mask(mask: str) -> str:
    """Complete a ban mask to ``nick!user@host`` form: ``bob`` -> ``bob!*@*``,
    ``*@host`` -> ``*!*@host``, ``bob!~b`` -> ``bob!~b@*``."""
    if "!" not in mask and "@" not in mask:
        return mask + "!*@*"
    if "!" not in mask:
        return "*!" + mask
    if "@" not in mask:
        return mask + "@*"
    return mask
