"""The terminal client behind ``chatkit join``.

Read it in this order:

* :mod:`chatkit.client.events`: what the client can show (frozen dataclasses);
* :mod:`chatkit.client.state`: the sans-I/O client, bytes and keystrokes in, events and bytes out,
  with :mod:`~chatkit.client.incoming` (server lines) and :mod:`~chatkit.client.commands`
  (``/commands``);
* :mod:`chatkit.client.render`: events as Rich text (or plain lines);
* :mod:`chatkit.client.connection`: asyncio streams, reconnecting with backoff;
* :mod:`chatkit.client.terminal` and :mod:`chatkit.client.plain`: the two front ends.
"""

from chatkit.client.state import ClientState

__all__ = ["ClientState"]
