"""The client's protocol state, without any I/O (the client-side twin of the server core).

:class:`ClientState` is driven like h11's ``Connection``: the caller does the networking and
hands over what happened, and the state answers with display events and bytes to send::

    state = ClientState("alice", rooms=["#lobby"])
    events = state.connection_made()          # queues CAP LS, NICK, USER
    sock.sendall(state.data_to_send())
    events = state.receive_data(sock.recv(4096))   # b"" means the server closed
    events = state.handle_input("/join #python")   # what the user typed

The state knows which rooms we are in (and so which to rejoin after a reconnect), who is in
them, their topics, and the "windows" the user can switch between: rooms and private chats.
What each server line means lives in :mod:`chatkit.client.incoming`; what each typed command
means lives in :mod:`chatkit.client.commands`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from chatkit.client.commands import run_input
from chatkit.client.events import Error, Event, Raw, Status
from chatkit.client.incoming import dispatch
from chatkit.client.rooms import Room, ServerFeatures
from chatkit.protocol import LineBuffer, Message, OverlongLine, RemoteProtocolError

__all__ = ["ClientState"]


class ClientState:
    """One user's view of one IRC connection (kept across reconnects)."""

    def __init__(
        self,
        nick: str,
        *,
        rooms: Sequence[str] = ("#lobby",),
        password: str | None = None,
        username: str | None = None,
        realname: str = "chatkit user",
        debug: bool = False,
    ) -> None:
        #: The nick we asked for; :attr:`nick` is the one the server gave us.
        self.wanted_nick = nick
        self.nick = nick
        self.password = password
        self.username = username or nick
        self.realname = realname
        #: Emit :class:`Raw` events for every line sent and received (``--debug``).
        self.debug = debug
        self.features = ServerFeatures()
        #: The rooms we are in now, by folded name.
        self.rooms: dict[str, Room] = {}
        #: Rooms and private chats the user can switch between, in the order they opened.
        self.windows: list[str] = []
        #: Where plain text goes and what the prompt shows (a room, a nick, or None).
        self.current: str | None = None
        self.connected = False
        self.registered = False
        #: Set by ``/quit``: the UI should stop once the server has closed the connection.
        self.quitting = False
        #: Why reconnecting is pointless (a wrong password); None while all is well.
        self.fatal: str | None = None
        #: Tokens of PONGs received, so callers can wait for the server to catch up.
        self.pongs: set[str] = set()
        #: Rooms to (re)join after registration: folded name -> (name, key).
        self._wanted: dict[str, tuple[str, str]] = {}
        for room in rooms:
            self.want_room(room)
        #: Rooms we sent JOIN for and have heard nothing about yet.
        self.pending_joins: set[str] = set()
        #: The room a typed ``/join`` should switch to once the server confirms it.
        self.switch_on_join: str | None = None
        #: NAMES entries collected between 353 and 366, by folded room name.
        self.names_buffer: dict[str, list[str]] = {}
        self.nick_attempts = 0
        self._ping_counter = 0
        self._lines = LineBuffer()
        self._outbox = bytearray()
        self._events: list[Event] = []

    # --- the I/O side's calls -------------------------------------------------------------

    def connection_made(self) -> list[Event]:
        """The socket is connected: queue the registration (CAP LS 302, PASS, NICK, USER).

        We ask for the capability list only so that an IRCv3 server holds registration until
        we say ``CAP END``; chatkit needs no capability, and servers without CAP just answer
        ``421`` which we ignore.
        """
        self.connected = True
        self.registered = False
        self.quitting = False
        self.nick = self.wanted_nick
        self.nick_attempts = 0
        self._lines = LineBuffer()
        self._outbox.clear()
        self.send(Message("CAP", ("LS", "302")))
        if self.password:
            self.send(Message("PASS", (self.password,)))
        self.send(Message("NICK", (self.nick,)))
        self.send(Message("USER", (self.username, "0", "*", self.realname)))
        return self.take_events()

    # --8<-- [start:receive]
    def receive_data(self, data: bytes) -> list[Event]:
        """Feed bytes from the socket; ``b""`` means the server closed the connection."""
        if not data:
            return self.connection_lost("Connection closed by the server")
        for item in self._lines.feed(data):
            if isinstance(item, OverlongLine):
                self.emit(Error(f"Ignored an over-long line from the server ({item.length} bytes)"))
                continue
            if self.debug:
                self.emit(Raw("<-", item))
            try:
                message = Message.parse(item)
            except RemoteProtocolError as exc:
                self.emit(Error(f"Ignored a line the server garbled: {exc}"))
                continue
            dispatch(self, message)
        return self.take_events()

    # --8<-- [end:receive]

    def connection_lost(self, reason: str) -> list[Event]:
        """The connection is gone. Forget per-connection state, keep the rooms to rejoin."""
        if self.connected:
            self.emit(Status(f"Disconnected: {reason}"))
        self.connected = False
        self.registered = False
        self.rooms.clear()
        self.pending_joins.clear()
        self.names_buffer.clear()
        self._outbox.clear()
        return self.take_events()

    def data_to_send(self) -> bytes:
        """Everything queued for the server since the last call (maybe ``b""``)."""
        data = bytes(self._outbox)
        self._outbox.clear()
        return data

    def handle_input(self, text: str) -> list[Event]:
        """Run one line the user typed: a ``/command`` or text for the current window."""
        run_input(self, text)
        return self.take_events()

    # --- helpers for incoming and commands -------------------------------------------------

    def send(self, message: Message) -> None:
        """Queue ``message``. Raises LocalProtocolError for one the wire cannot carry."""
        data = message.encode()
        self._outbox += data
        if self.debug:
            self.emit(Raw("->", data.decode("utf-8", "replace").rstrip("\r\n")))

    def emit(self, event: Event) -> None:
        """Add an event for the caller of the current call."""
        self._events.append(event)

    def take_events(self) -> list[Event]:
        """Return and forget the events gathered so far."""
        events, self._events = self._events, []
        return events

    def send_ping(self) -> str:
        """Send a PING with a fresh token; its PONG lands in :attr:`pongs`.

        The server answers lines in order, so once the PONG is back every line sent before the
        PING has been processed: plain mode uses this to know its messages were delivered.
        """
        self._ping_counter += 1
        token = f"chatkit-{self._ping_counter}"
        self.send(Message("PING", (token,)))
        return token

    def sent_ping(self, token: str) -> bool:
        """True if ``token`` is one :meth:`send_ping` made (not a PING the user typed)."""
        number = token.removeprefix("chatkit-")
        return number != token and number.isdigit() and 0 < int(number) <= self._ping_counter

    def fold(self, name: str) -> str:
        """Fold a nick or room name the way the server compares them."""
        return self.features.fold(name)

    def is_me(self, nick: str) -> bool:
        """True if ``nick`` is our current nick."""
        return self.fold(nick) == self.fold(self.nick)

    @property
    def ready(self) -> bool:
        """Registered, and every JOIN we sent has been answered (joined or refused)."""
        return self.registered and not self.pending_joins

    # --- rooms and windows ------------------------------------------------------------------

    def want_room(self, room: str, key: str = "") -> None:
        """Remember to join ``room`` now and after every reconnect."""
        self._wanted[self.fold(room)] = (room, key)

    def unwant_room(self, room: str) -> None:
        """Stop rejoining ``room`` (we parted or were kicked)."""
        self._wanted.pop(self.fold(room), None)

    def join_wanted_rooms(self) -> None:
        """Send one JOIN for every room we want (at 001, so also after a reconnect)."""
        wanted = list(self._wanted.values())
        if not wanted:
            return
        self.send_join([name for name, _ in wanted], [key for _, key in wanted])

    def send_join(self, rooms: Sequence[str], keys: Sequence[str] = ()) -> None:
        """Send ``JOIN room1,room2 key1,key2`` and track the joins as pending."""
        params = [",".join(rooms)]
        if any(keys):
            params.append(",".join(keys))
        self.send(Message("JOIN", tuple(params)))
        self.pending_joins.update(self.fold(room) for room in rooms)

    def join_settled(self, room: str) -> None:
        """The server answered our JOIN for ``room`` (with the join or an error)."""
        self.pending_joins.discard(self.fold(room))

    def find_window(self, name: str) -> int | None:
        """Index of the window for ``name`` (room or nick), or None."""
        key = self.fold(name)
        for index, window in enumerate(self.windows):
            if self.fold(window) == key:
                return index
        return None

    def open_window(self, name: str, *, switch: bool = False) -> None:
        """Add a window for ``name`` unless there is one; make it current if asked or first."""
        index = self.find_window(name)
        if index is None:
            self.windows.append(name)
            index = len(self.windows) - 1
        if switch or self.current is None:
            self.current = self.windows[index]

    def close_window(self, name: str) -> None:
        """Remove the window for ``name``; if it was current, fall back to the last one."""
        index = self.find_window(name)
        if index is None:
            return
        closed = self.windows.pop(index)
        if self.current is not None and self.fold(self.current) == self.fold(closed):
            self.current = self.windows[-1] if self.windows else None

    def rename_window(self, old: str, new: str) -> None:
        """A private chat follows the other person's nick change."""
        index = self.find_window(old)
        if index is None:
            return
        was_current = self.current is not None and self.fold(self.current) == self.fold(old)
        self.windows[index] = new
        if was_current:
            self.current = new

    def room(self, name: str) -> Room | None:
        """The :class:`Room` called ``name`` if we are in it."""
        return self.rooms.get(self.fold(name))

    def rooms_with(self, nick: str) -> Iterable[Room]:
        """The rooms we share with ``nick``."""
        key = self.fold(nick)
        return [room for room in self.rooms.values() if key in room.members]
