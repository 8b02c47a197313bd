"""Helpers shared by the client tests: a registered state, sent lines as text."""

from __future__ import annotations

from chatkit.client.state import ClientState


def lines(data: bytes) -> list[str]:
    return data.decode().split("\r\n")[:-1]


def registered(nick: str = "alice", rooms: tuple[str, ...] = ("#lobby",)) -> ClientState:
    """A state that is connected, registered and in ``rooms`` (with bob and carol)."""
    state = ClientState(nick, rooms=rooms)
    state.connection_made()
    state.receive_data(f":srv 001 {nick} :Welcome\r\n".encode())
    for room in rooms:
        state.receive_data(
            f":{nick}!u@h JOIN {room}\r\n:srv 353 {nick} = {room} :{nick} @bob carol\r\n"
            f":srv 366 {nick} {room} :End of /NAMES list\r\n".encode()
        )
    state.data_to_send()
    return state
