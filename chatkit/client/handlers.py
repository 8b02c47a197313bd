"""The table that routes server messages to handlers, and the helpers every handler uses.

A handler is ``handler(state, message)``: it updates the :class:`~chatkit.client.state.ClientState`
and emits display events. Handlers register themselves with ``@handles("JOIN")`` in the module of
their theme (:mod:`~chatkit.client.incoming`, :mod:`~chatkit.client.membership`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from chatkit.protocol import Message

if TYPE_CHECKING:
    from chatkit.client.state import ClientState

__all__ = ["HANDLERS", "Handler", "handles", "last_param", "numeric_text", "param", "sender"]

Handler = Callable[["ClientState", Message], None]
#: Command (``"JOIN"``, ``"001"``) -> the function that handles it.
HANDLERS: dict[str, Handler] = {}


def handles(*commands: str) -> Callable[[Handler], Handler]:
    """Register a handler for one or more commands (the table reads like a list of rules)."""

    def register(handler: Handler) -> Handler:
        for command in commands:
            HANDLERS[command] = handler
        return handler

    return register


def sender(message: Message) -> str:
    """The nick (or server name) a message came from."""
    return (message.source or "").partition("!")[0]


def param(message: Message, index: int) -> str:
    """Parameter ``index``, or "" when the server left it out (never an IndexError)."""
    return message.params[index] if 0 <= index < len(message.params) else ""


def last_param(message: Message) -> str:
    """The last parameter (usually the human-readable text), or "" if there is none."""
    return message.params[-1] if message.params else ""


def numeric_text(message: Message) -> str:
    """A numeric's parameters without our own nick in front: the readable part."""
    return " ".join(message.params[1:])
