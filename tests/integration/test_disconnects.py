"""Abrupt endings: however a client goes (RST, half-close, FIN mid-line), the server must
forget it completely, leaving no ghost nick behind. (Server shutdown: ``test_shutdown.py``.)"""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest
from ircclient import IRCClient, command_of

from chatkit.config import ServerConfig

Connect = Callable[..., IRCClient]


class TestAbruptDisconnects:
    @pytest.fixture
    def server_config(self) -> ServerConfig:
        # The watcher asks NAMES/LUSERS repeatedly; flood control is not what this tests.
        return ServerConfig(host="127.0.0.1", port=0, flood_control=False)

    @pytest.mark.timeout(40)
    def test_two_hundred_abrupt_disconnects_leave_no_ghosts(self, connect: Connect) -> None:
        watcher = connect("watcher")
        watcher.register()
        watcher.join("#room")
        leavers = [connect(f"leaver{index}") for index in range(200)]
        for leaver in leavers:
            leaver.register()
            leaver.send("JOIN #room")
        for leaver in leavers:
            leaver.wait_for_command("366")
        assert len(watcher.names("#room")) == 201
        for index, leaver in enumerate(leavers):
            if index % 4 == 0:
                leaver.reset()  # RST: the server's next recv or send fails
            elif index % 4 == 1:
                leaver.sock.shutdown(1)  # half-close: FIN, but still able to read
            elif index % 4 == 2:
                leaver.send_raw(b"PRIVMSG #room :half a li")  # FIN in the middle of a line
                leaver.close()
            else:
                leaver.close()
        for _ in leavers:
            watcher.wait_for_command("QUIT", timeout=10)
        assert watcher.names("#room") == {"watcher"}
        watcher.send("LUSERS")
        luserclient = watcher.wait_for_command("251")
        assert " ".join(luserclient[3:]).startswith(":There are 1 users"), luserclient
        # Every nick is free again, whichever way its owner left.
        for index in range(4):
            connect(f"leaver{index}").register()


def end_abruptly(client: IRCClient, how: str) -> None:
    """End ``client``'s connection in one of the ways real clients (and networks) do."""
    if how == "reset":
        client.reset()  # RST: the server's next recv or send fails
    elif how == "reset-with-output-queued":
        client.send("NAMES #room", "LUSERS", "MOTD")  # the server is busy answering ...
        client.reset()  # ... when the RST arrives
    elif how == "half-close-after-quit":
        client.send("QUIT :bye")
        client.sock.shutdown(socket.SHUT_WR)  # FIN right behind the QUIT, still reading
    elif how == "half-close-mid-line":
        client.send_raw(b"PRIVMSG #room :half a li")
        client.sock.shutdown(socket.SHUT_WR)
    elif how == "half-close-idle":
        client.sock.shutdown(socket.SHUT_WR)
    elif how == "close-mid-line":
        client.send_raw(b"PRIVMSG #room :half a li")
        client.close()
    else:
        raise AssertionError(how)


ENDINGS = [
    "reset",
    "reset-with-output-queued",
    "half-close-after-quit",
    "half-close-mid-line",
    "half-close-idle",
    "close-mid-line",
]


@pytest.mark.timeout(20)
@pytest.mark.parametrize("how", ENDINGS)
def test_no_ghost_after_an_abrupt_ending(connect: Connect, how: str) -> None:
    watcher, ghost = connect("watcher"), connect("ghost")
    for client in (watcher, ghost):
        client.register()
        client.join("#room")
    end_abruptly(ghost, how)
    quit_line = watcher.wait_for_command("QUIT")
    assert quit_line[0].startswith(":ghost!")
    if how == "half-close-after-quit":
        assert " ".join(quit_line[2:]) == ":Quit: bye"
    watcher.send("WHOIS ghost")
    assert watcher.wait_for(lambda line: command_of(line) in ("401", "311")).split(" ")[1] == "401"
    # The nick is free again: a newcomer registers with it and is seen by the room.
    newcomer = connect("ghost")
    newcomer.register()
    newcomer.join("#room")
    assert watcher.names("#room") == {"watcher", "ghost"}
    watcher.send("LUSERS")
    assert " ".join(watcher.wait_for_command("251")[3:]).startswith(":There are 2 users")
    ghost.close()
