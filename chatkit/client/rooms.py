"""What the client remembers about the server: name folding, rooms, members and topics.

IRC compares nicks and room names case-insensitively, and by default the "rfc1459" way, where
``[]\\~`` are the upper-case forms of ``{}|^`` (Scandinavian keyboards, 1988). The server says
which rule it uses in ``005 CASEMAPPING=``; :class:`ServerFeatures` keeps that and the other
``005`` tokens the client needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

_ASCII_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ASCII_LOWER = "abcdefghijklmnopqrstuvwxyz"
_FOLD_ASCII = str.maketrans(_ASCII_UPPER, _ASCII_LOWER)
_FOLD_RFC1459 = str.maketrans(_ASCII_UPPER + "[]\\~", _ASCII_LOWER + "{}|^")


@dataclass(slots=True)
class ServerFeatures:
    """The ``005 RPL_ISUPPORT`` tokens the client uses, with the defaults RFC 1459 implies."""

    casemapping: str = "rfc1459"
    #: Which characters start a room name.
    chantypes: str = "#&"
    #: Member prefixes, highest first, and the modes they stand for: ``(ov)@+``.
    prefix_modes: str = "ov"
    prefix_symbols: str = "@+"
    nicklen: int = 30
    network: str = ""

    def fold(self, name: str) -> str:
        """Fold ``name`` for comparisons and dict keys, by the server's CASEMAPPING."""
        table = _FOLD_ASCII if self.casemapping == "ascii" else _FOLD_RFC1459
        return name.translate(table)

    def is_room(self, target: str) -> bool:
        """True for ``#lobby``, false for a nick."""
        return bool(target) and target[0] in self.chantypes

    def update(self, tokens: list[str]) -> None:
        """Apply the ``KEY=value`` tokens of one ``005`` line (others are ignored)."""
        for token in tokens:
            key, _, value = token.partition("=")
            if key == "CASEMAPPING" and value:
                self.casemapping = value
            elif key == "CHANTYPES" and value:
                self.chantypes = value
            elif key == "NETWORK":
                self.network = value
            elif key == "NICKLEN" and value.isdigit():
                self.nicklen = int(value)
            elif key == "PREFIX" and value.startswith("(") and ")" in value:
                modes, _, symbols = value[1:].partition(")")
                if len(modes) == len(symbols):
                    self.prefix_modes, self.prefix_symbols = modes, symbols

    def split_prefix(self, entry: str) -> tuple[str, str]:
        """``"@+alice"`` -> ``("@+", "alice")``: a NAMES entry's prefixes and nick."""
        nick = entry.lstrip(self.prefix_symbols)
        return entry[: len(entry) - len(nick)], nick


@dataclass(slots=True)
class Room:
    """One room we are in: its members (nick -> prefixes such as ``"@"``) and topic."""

    name: str
    topic: str = ""
    #: Folded nick -> (nick as spelled, prefixes). Folded keys so ``Bob`` and ``bob`` match.
    members: dict[str, tuple[str, str]] = field(default_factory=dict)

    def add(self, key: str, nick: str, prefixes: str = "") -> None:
        """Add or update a member."""
        self.members[key] = (nick, prefixes)

    def remove(self, key: str) -> bool:
        """Remove a member; True if they were here."""
        return self.members.pop(key, None) is not None

    def rename(self, old_key: str, new_key: str, new_nick: str) -> bool:
        """Follow a nick change, keeping the member's prefixes; True if they were here."""
        entry = self.members.pop(old_key, None)
        if entry is None:
            return False
        self.members[new_key] = (new_nick, entry[1])
        return True

    def set_prefix(self, key: str, symbol: str, present: bool, order: str) -> None:
        """Give or take a prefix (``+o`` -> ``@``), keeping prefixes in the server's order."""
        entry = self.members.get(key)
        if entry is None:
            return
        nick, prefixes = entry
        wanted = set(prefixes) | {symbol} if present else set(prefixes) - {symbol}
        self.members[key] = (nick, "".join(ch for ch in order if ch in wanted))

    def nicks(self) -> list[str]:
        """Member nicks as spelled, operators first, then alphabetically (for NAMES and tab)."""
        return [nick for nick, _ in sorted(self.members.values(), key=_member_sort_key)]

    def display_names(self) -> tuple[str, ...]:
        """Members with their highest prefix (``@alice``), in :meth:`nicks` order."""
        return tuple(
            prefixes[:1] + nick
            for nick, prefixes in sorted(self.members.values(), key=_member_sort_key)
        )


def _member_sort_key(entry: tuple[str, str]) -> tuple[int, str]:
    nick, prefixes = entry
    return (0 if prefixes else 1, nick.lower())
