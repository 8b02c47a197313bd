"""TOPIC, NAMES, LIST, WHO, WHOIS, LUSERS, MOTD, VERSION, USERHOST, ISON, KICK."""

from __future__ import annotations

from fake_client import Harness, make_config


def test_topic_query_set_and_clear(server: Harness) -> None:
    alice, bob = server.joined("#r", "alice", "bob")
    alice.send("TOPIC #r")
    assert alice.lines() == [":irc.test 331 alice #r :No topic is set"]
    alice.send("TOPIC #r :Rules: be nice")
    expected = ":alice!~alice@127.0.0.1 TOPIC #r :Rules: be nice"
    assert alice.lines() == [expected]
    assert bob.lines() == [expected]
    outsider = server.connect("carol")
    outsider.send("TOPIC #R")
    assert outsider.lines() == [
        ":irc.test 332 carol #r :Rules: be nice",
        ":irc.test 333 carol #r alice!~alice@127.0.0.1 :1700000000",
    ]
    alice.send("TOPIC #r :")
    assert bob.lines() == [":alice!~alice@127.0.0.1 TOPIC #r :"]
    bob.send("TOPIC #r")
    assert bob.lines() == [":irc.test 331 bob #r :No topic is set"]


def test_topic_errors(server: Harness) -> None:
    alice, bob = server.joined("#r", "alice", "bob")
    carol = server.connect("carol")
    bob.send("TOPIC #r :mine")
    assert bob.lines() == [":irc.test 482 bob #r :You're not channel operator"]
    carol.send("TOPIC #r :outside", "TOPIC #nope")
    assert carol.lines() == [
        ":irc.test 442 carol #r :You're not on that channel",
        ":irc.test 403 carol #nope :No such channel",
    ]
    alice.send("MODE #r -t")
    bob.send("TOPIC #r :now anyone")
    assert bob.lines()[-1] == ":bob!~bob@127.0.0.1 TOPIC #r :now anyone"


def test_topic_is_capped() -> None:
    harness = Harness(make_config(topic_length=5))
    alice = harness.connect("alice")
    alice.send("JOIN #r", "TOPIC #r :abcdefgh")
    assert alice.lines()[-1] == ":alice!~alice@127.0.0.1 TOPIC #r :abcde"


def test_names(server: Harness) -> None:
    alice, _bob = server.joined("#r", "alice", "bob")
    alice.send("NAMES #r,#none", "NAMES")
    assert alice.lines() == [
        ":irc.test 353 alice = #r :@alice bob",
        ":irc.test 366 alice #r :End of /NAMES list",
        ":irc.test 366 alice #none :End of /NAMES list",
        ":irc.test 366 alice * :End of /NAMES list",
    ]


def test_names_hides_invisible_users_from_outsiders(server: Harness) -> None:
    alice, bob = server.joined("#r", "alice", "bob")
    bob.send("MODE bob +i")
    carol = server.connect("carol")
    carol.send("NAMES #r")
    assert carol.lines()[0] == ":irc.test 353 carol = #r :@alice"
    alice.send("NAMES #r")
    assert alice.lines()[0] == ":irc.test 353 alice = #r :@alice bob"


def test_names_userhost_in_names_and_line_splitting(server: Harness) -> None:
    clients = server.joined("#big", *(f"user{n:03}" for n in range(60)))
    viewer = server.client()
    viewer.send("CAP REQ userhost-in-names", "NICK viewer", "USER v 0 * :V", "CAP END")
    viewer.lines()
    viewer.send("NAMES #big")
    lines = viewer.lines()
    assert len(lines) > 2
    assert all(len(line) + 2 <= 512 for line in lines)
    names = " ".join(line.split(" :", 1)[1] for line in lines[:-1]).split()
    assert names[0] == "@user000!~user000@127.0.0.1"
    assert len(names) == len(clients)


def test_list(server: Harness) -> None:
    alice, _bob = server.joined("#r", "alice", "bob")
    alice.send("TOPIC #r :hello", "JOIN #s")
    alice.lines()
    alice.send("LIST")
    assert alice.lines() == [
        ":irc.test 321 alice Channel :Users  Name",
        ":irc.test 322 alice #r 2 :hello",
        ":irc.test 322 alice #s 1 :",
        ":irc.test 323 alice :End of /LIST",
    ]
    alice.send("LIST #S,#nope")
    assert alice.lines()[1:2] == [":irc.test 322 alice #s 1 :"]


def test_who_room_and_nick(server: Harness) -> None:
    alice, bob = server.joined("#r", "alice", "bob")
    bob.send("AWAY :brb")
    alice.send("WHO #r")
    assert alice.lines() == [
        ":irc.test 352 alice #r ~alice 127.0.0.1 irc.test alice H@ :0 alice Example",
        ":irc.test 352 alice #r ~bob 127.0.0.1 irc.test bob G :0 bob Example",
        ":irc.test 315 alice #r :End of /WHO list",
    ]
    alice.send("WHO BOB", "WHO nobody", "WHO #none")
    assert alice.lines() == [
        ":irc.test 352 alice * ~bob 127.0.0.1 irc.test bob G :0 bob Example",
        ":irc.test 315 alice BOB :End of /WHO list",
        ":irc.test 315 alice nobody :End of /WHO list",
        ":irc.test 315 alice #none :End of /WHO list",
    ]


def test_who_masks_and_invisible(server: Harness) -> None:
    alice = server.connect("alice")
    hidden = server.connect("hidden")
    hidden.send("MODE hidden +i")
    server.connect("anna")
    alice.send("WHO a*")
    assert [line.split()[7] for line in alice.lines()[:-1]] == ["alice", "anna"]
    alice.send("WHO *")
    assert "hidden" not in " ".join(alice.lines())
    # An exact nick is a question about one user, not a search: +i does not hide it.
    alice.send("WHO HIDDEN", "WHO hidd?n")
    assert alice.lines() == [
        ":irc.test 352 alice * ~hidden 127.0.0.1 irc.test hidden H :0 hidden Example",
        ":irc.test 315 alice HIDDEN :End of /WHO list",
        ":irc.test 315 alice hidd?n :End of /WHO list",
    ]
    hidden.send("JOIN #x")
    alice.send("JOIN #x")
    alice.lines()
    alice.send("WHO 0")
    assert any(" hidden " in line for line in alice.lines())


def test_whois(server: Harness) -> None:
    alice, bob = server.joined("#r", "alice", "bob")
    bob.send("JOIN #s", "AWAY :lunch")
    server.advance(30)
    alice.send("WHOIS bob")
    assert alice.lines() == [
        ":irc.test 311 alice bob ~bob 127.0.0.1 * :bob Example",
        ":irc.test 319 alice bob :#r @#s",
        ":irc.test 312 alice bob irc.test :chatkit",
        ":irc.test 301 alice bob :lunch",
        ":irc.test 317 alice bob 30 1700000000 :seconds idle, signon time",
        ":irc.test 318 alice bob :End of /WHOIS list",
    ]
    # 318 repeats the nick exactly as asked (modern.ircdocs.horse); a second nick is dropped
    # silently (TARGMAX WHOIS:1), but stays in the 318.
    alice.send("WHOIS irc.test BOB")
    lines = alice.lines()
    assert lines[0].startswith(":irc.test 311 alice bob ")
    assert lines[-1] == ":irc.test 318 alice BOB :End of /WHOIS list"
    alice.send("WHOIS bob,alice")
    lines = alice.lines()
    assert [line.split()[3] for line in lines[:-1]] == ["bob"] * (len(lines) - 1)
    assert lines[-1] == ":irc.test 318 alice bob,alice :End of /WHOIS list"
    alice.send("WHOIS ghost", "WHOIS")
    assert alice.lines() == [
        ":irc.test 401 alice ghost :No such nick/channel",
        ":irc.test 318 alice ghost :End of /WHOIS list",
        ":irc.test 431 alice :No nickname given",
    ]


def test_whowas_says_there_is_no_history(server: Harness) -> None:
    # irssi sends WHOWAS on its own after a WHOIS that got 401; no history is kept.
    alice = server.connect("alice")
    bob = server.connect("bob")
    bob.send("QUIT")
    alice.send("WHOWAS bob 1", "WHOWAS Ghost", "WHOWAS")
    assert alice.lines() == [
        ":irc.test 406 alice bob :There was no such nickname",
        ":irc.test 369 alice bob :End of WHOWAS",
        ":irc.test 406 alice Ghost :There was no such nickname",
        ":irc.test 369 alice Ghost :End of WHOWAS",
        ":irc.test 431 alice :No nickname given",
    ]


def test_whois_rooms_are_split_to_fit_the_line(server: Harness) -> None:
    bob = server.connect("bob")
    names = [f"#{index:02}" + "r" * 45 for index in range(40)]
    bob.send(*(f"JOIN {name}" for name in names))
    alice = server.connect("alice")
    alice.send("WHOIS bob")
    rooms = [
        room
        for message in alice.messages()
        if message.command == "319"
        for room in message.params[-1].split()
    ]
    assert rooms == ["@" + name for name in names]


def test_lusers_counts(server: Harness) -> None:
    alice, _bob = server.joined("#r", "alice", "bob")
    hidden = server.connect("hidden")
    hidden.send("MODE hidden +i")
    server.client()  # connected, not registered
    alice.send("LUSERS")
    assert alice.lines() == [
        ":irc.test 251 alice :There are 2 users and 1 invisible on 1 servers",
        ":irc.test 252 alice 0 :operator(s) online",
        ":irc.test 253 alice 1 :unknown connection(s)",
        ":irc.test 254 alice 1 :channels formed",
        ":irc.test 255 alice :I have 3 clients and 0 servers",
        ":irc.test 265 alice 3 3 :Current local users 3, max 3",
        ":irc.test 266 alice 3 3 :Current global users 3, max 3",
    ]
    hidden.send("QUIT")
    alice.send("LUSERS")
    assert alice.lines()[0] == ":irc.test 251 alice :There are 2 users and 0 invisible on 1 servers"


def test_motd_version_userhost_ison(server: Harness) -> None:
    alice = server.connect("alice")
    bob = server.connect("bob")
    bob.send("AWAY :x")
    alice.send("MOTD", "USERHOST alice bob ghost", "ISON ghost BOB alice")
    assert alice.lines() == [
        ":irc.test 375 alice :- irc.test Message of the day - ",
        ":irc.test 372 alice :- Hello",
        ":irc.test 376 alice :End of /MOTD command.",
        ":irc.test 302 alice :alice=+~alice@127.0.0.1 bob=-~bob@127.0.0.1",
        ":irc.test 303 alice :bob alice",
    ]


def test_version_is_followed_by_isupport(server: Harness) -> None:
    # modern.ircdocs.horse: VERSION answers one 351 and one or more 005.
    alice = server.connect("alice")
    alice.send("VERSION")
    lines = alice.lines()
    assert lines[0] == ":irc.test 351 alice chatkit-0.1.0 irc.test :sans-I/O core"
    assert [line.split()[1] for line in lines[1:]] == ["005", "005"]
    assert "CASEMAPPING=rfc1459" in lines[1]


def test_motd_and_version_of_another_server_get_402(server: Harness) -> None:
    alice = server.connect("alice")
    server.connect("bob")
    alice.send("MOTD other.example", "VERSION *.example", "MOTD IRC.TEST", "VERSION bob")
    assert alice.commands() == ["402", "402", "375", "372", "376", "351", "005", "005"]
    alice.send("MOTD *.test")
    assert alice.commands()[0] == "375"


def test_kick(server: Harness) -> None:
    alice, bob, carol = server.joined("#r", "alice", "bob", "carol")
    alice.send("KICK #r bob :behave")
    expected = ":alice!~alice@127.0.0.1 KICK #r bob :behave"
    assert alice.lines() == [expected]
    assert bob.lines() == [expected]
    assert carol.lines() == [expected]
    assert bob.session not in server.core.find_room("#r").members  # type: ignore[union-attr]
    alice.send("KICK #r carol")
    assert carol.lines() == [":alice!~alice@127.0.0.1 KICK #r carol :alice"]
    assert carol.session.rooms == {}


def test_kick_errors(server: Harness) -> None:
    alice, bob = server.joined("#r", "alice", "bob")
    carol = server.connect("carol")
    bob.send("KICK #r alice")
    carol.send("KICK #r alice", "KICK #none alice")
    alice.send("KICK #r carol", "KICK #r ghost")
    assert bob.lines() == [":irc.test 482 bob #r :You're not channel operator"]
    assert carol.lines() == [
        ":irc.test 442 carol #r :You're not on that channel",
        ":irc.test 403 carol #none :No such channel",
    ]
    assert alice.lines() == [
        ":irc.test 441 alice carol #r :They aren't on that channel",
        ":irc.test 401 alice ghost :No such nick/channel",
    ]


def test_kick_several_users(server: Harness) -> None:
    # One room and a list of nicks (modern.ircdocs.horse), or as many rooms as nicks
    # (RFC 2812); each KICK sent to clients names one user, as both specs require.
    alice, _, _, dave = server.joined("#r,#s", "alice", "bob", "carol", "dave")
    alice.send("KICK #r bob,ghost,CAROL :bye")
    assert alice.lines() == [
        ":alice!~alice@127.0.0.1 KICK #r bob :bye",
        ":irc.test 401 alice ghost :No such nick/channel",
        ":alice!~alice@127.0.0.1 KICK #r carol :bye",
    ]
    alice.send("KICK #r,#s dave,bob")
    assert dave.lines()[-2:] == [
        ":alice!~alice@127.0.0.1 KICK #r dave :alice",
        ":alice!~alice@127.0.0.1 KICK #s bob :alice",
    ]
    alice.send("KICK #r,#s carol")
    assert alice.lines()[-1] == ":irc.test 461 alice KICK :Not enough parameters"


def test_kick_targets_past_targmax_are_dropped() -> None:
    harness = Harness(make_config(max_targets=2))
    alice, _, _, dave = harness.joined("#r", "alice", "bob", "carol", "dave")
    alice.send("KICK #r bob,carol,dave")
    assert [line.split()[3] for line in alice.lines()] == ["bob", "carol"]
    assert dave.session in harness.core.rooms["#r"].members


def test_kick_reason_is_capped() -> None:
    harness = Harness(make_config(kick_length=3))
    alice = harness.connect("alice")
    bob = harness.connect("bob")
    alice.send("JOIN #r")
    bob.send("JOIN #r")
    alice.send("KICK #r bob :abcdef")
    assert bob.lines()[-1] == ":alice!~alice@127.0.0.1 KICK #r bob :abc"
