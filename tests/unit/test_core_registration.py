"""Registration: NICK/USER in any order, CAP negotiation, PASS, the welcome burst, limits."""

from __future__ import annotations

from fake_client import FakeTransport, Harness, make_config

from chatkit.core import TICK_INTERVAL, ChatCore


def test_nick_then_user_registers_with_full_burst(server: Harness) -> None:
    alice = server.client()
    alice.send("NICK alice", "USER alice 0 * :Alice Liddell")
    commands = alice.commands()
    assert commands[:5] == ["001", "002", "003", "004", "005"]
    assert commands[-3:] == ["375", "372", "376"]
    assert {"251", "252", "253", "254", "255", "265", "266"} <= set(commands)
    assert alice.session.registered


def test_welcome_lines_carry_server_name_and_prefix(server: Harness) -> None:
    alice = server.client("10.0.0.5:4444")
    alice.send("USER al 0 * :Alice", "NICK alice")  # USER before NICK works too
    lines = alice.lines()
    assert lines[0] == ":irc.test 001 alice :Welcome to the chatkit IRC Network, alice!~al@10.0.0.5"
    assert lines[3] == ":irc.test 004 alice irc.test chatkit-0.1.0 i bklnot bklo"
    assert all(line.startswith(":irc.test ") for line in lines)


def test_isupport_tokens(server: Harness) -> None:
    alice = server.client()
    alice.send("NICK alice", "USER a 0 * :A")
    tokens: set[str] = set()
    for message in alice.messages():
        if message.command == "005":
            assert message.params[-1] == "are supported by this server"
            tokens.update(message.params[1:-1])
    for expected in (
        "CASEMAPPING=rfc1459",
        "CHANTYPES=#",
        "PREFIX=(o)@",
        "CHANMODES=b,k,l,nt",
        "MAXLIST=b:50",
        "NICKLEN=30",
        "CHANNELLEN=50",
        "TOPICLEN=390",
        "KICKLEN=255",
        "AWAYLEN=200",
        "CHANLIMIT=#:50",
        "NETWORK=chatkit",
        "MAXTARGETS=4",
        "MODES=4",
        "USERLEN=10",
        "TARGMAX=JOIN:,KICK:4,NOTICE:4,PART:,PRIVMSG:4,WHOIS:1",
    ):
        assert expected in tokens


def test_no_motd_gives_422() -> None:
    harness = Harness(make_config(motd=()))
    alice = harness.client()
    alice.send("NICK alice", "USER a 0 * :A")
    assert alice.commands()[-1] == "422"


def test_cap_negotiation_holds_registration_until_end(server: Harness) -> None:
    alice = server.client()
    alice.send("CAP LS 302", "NICK alice", "USER a 0 * :A")
    assert alice.lines() == [":irc.test CAP * LS :cap-notify multi-prefix userhost-in-names"]
    assert not alice.session.registered
    alice.send("CAP REQ :multi-prefix userhost-in-names")
    assert alice.lines() == [":irc.test CAP alice ACK :multi-prefix userhost-in-names"]
    alice.send("CAP LIST")
    # cap-notify is on by itself for a client that said 302 (IRCv3 capability negotiation).
    assert alice.lines() == [":irc.test CAP alice LIST :cap-notify multi-prefix userhost-in-names"]
    alice.send("CAP END")
    assert alice.commands()[0] == "001"


def test_cap_ls_without_302_and_an_empty_list(server: Harness) -> None:
    alice = server.client()
    alice.send("CAP LIST", "CAP LS")
    assert alice.lines() == [
        ":irc.test CAP * LIST :",
        ":irc.test CAP * LS :cap-notify multi-prefix userhost-in-names",
    ]


def test_cap_notify_stays_on_for_a_302_client(server: Harness) -> None:
    alice = server.client()
    alice.send("CAP LS 302", "CAP LS", "CAP REQ cap-notify", "CAP REQ :-cap-notify")
    assert alice.lines()[2:] == [
        ":irc.test CAP * ACK :cap-notify",
        ":irc.test CAP * NAK :-cap-notify",
    ]
    assert "cap-notify" in alice.session.caps
    # A client that never said 302 may turn it on and off like any other.
    bob = server.client()
    bob.send("CAP REQ cap-notify", "CAP REQ :-cap-notify")
    assert bob.lines() == [":irc.test CAP * ACK :cap-notify", ":irc.test CAP * ACK :-cap-notify"]
    assert bob.session.caps == set()


def test_cap_req_unknown_is_nak_and_changes_nothing(server: Harness) -> None:
    alice = server.client()
    alice.send("CAP REQ :multi-prefix sasl")
    assert alice.lines() == [":irc.test CAP * NAK :multi-prefix sasl"]
    assert alice.session.caps == set()
    alice.send("CAP REQ multi-prefix", "CAP REQ :-multi-prefix")
    assert alice.lines()[-1] == ":irc.test CAP * ACK :-multi-prefix"
    assert alice.session.caps == set()


def test_cap_errors(server: Harness) -> None:
    alice = server.client()
    alice.send("CAP FOO", "CAP REQ", "CAP")
    assert alice.lines() == [
        ":irc.test 410 * FOO :Invalid CAP command",
        ":irc.test 461 * CAP :Not enough parameters",
        ":irc.test 461 * CAP :Not enough parameters",
    ]


def test_cap_end_without_negotiation_is_harmless(server: Harness) -> None:
    alice = server.client()
    alice.send("CAP END", "NICK alice", "USER a 0 * :A")
    assert alice.commands()[0] == "001"


def test_commands_before_registration_get_451(server: Harness) -> None:
    alice = server.client()
    alice.send("JOIN #a", "PRIVMSG bob :hi")
    assert alice.lines() == [
        ":irc.test 451 * :You have not registered",
        ":irc.test 451 * :You have not registered",
    ]


def test_ping_works_before_registration(server: Harness) -> None:
    alice = server.client()
    alice.send("PING :abc def")
    assert alice.lines() == [":irc.test PONG irc.test :abc def"]


def test_unknown_and_lowercase_commands(server: Harness) -> None:
    alice = server.connect("alice")
    alice.send("FROB x", "ping token")
    assert alice.lines() == [
        ":irc.test 421 alice FROB :Unknown command",
        ":irc.test PONG irc.test :token",
    ]


def test_missing_parameters_get_461(server: Harness) -> None:
    alice = server.client()
    alice.send("USER a 0 *", "PING", "PASS")
    assert alice.commands() == ["461", "461", "461"]
    alice.register("alice")
    for command in ("JOIN", "PART", "TOPIC", "KICK #a", "MODE", "USERHOST", "ISON"):
        alice.send(command)
        name = command.split()[0]
        assert alice.lines() == [f":irc.test 461 alice {name} :Not enough parameters"]


def test_reregistration_gets_462(server: Harness) -> None:
    alice = server.connect("alice")
    alice.send("USER b 0 * :B", "PASS secret")
    assert alice.commands() == ["462", "462"]


def test_password_required() -> None:
    harness = Harness(make_config(password="sesame"))
    good = harness.client()
    good.send("PASS sesame", "NICK good", "USER g 0 * :G")
    assert good.commands()[0] == "001"
    bad = harness.client()
    bad.send("PASS wrong", "NICK bad", "USER b 0 * :B")
    assert bad.lines() == [
        ":irc.test 464 bad :Password incorrect",
        "ERROR :Closing Link: 127.0.0.1 (Bad Password)",
    ]
    assert bad.closed
    assert harness.core.find_nick("bad") is None
    missing = harness.client()
    missing.send("NICK missing", "USER m 0 * :M")
    assert missing.commands() == ["464", "ERROR"]


def test_username_is_cleaned_and_capped(server: Harness) -> None:
    # USERLEN (10) counts the "~" we add, as modern.ircdocs.horse says.
    alice = server.client()
    alice.send("NICK alice", "USER a@b!c:averyveryverylongname 0 * :A")
    assert alice.session.prefix == "alice!~abcaveryv@127.0.0.1"


def test_empty_username_or_real_name_gets_461(server: Harness) -> None:
    alice = server.client()
    alice.send("NICK alice", "USER alice 0 * :", "USER : 0 * :Alice", "USER @! 0 * :Alice")
    assert alice.lines() == [":irc.test 461 alice USER :Not enough parameters"] * 3
    assert not alice.session.registered
    alice.send("USER alice 0 * :Alice")
    assert alice.commands()[0] == "001"


def test_ping_with_an_empty_token_gets_409(server: Harness) -> None:
    alice = server.connect("alice")
    alice.send("PING :", "PING")
    assert alice.lines() == [
        ":irc.test 409 alice :No origin specified",
        ":irc.test 461 alice PING :Not enough parameters",
    ]


def test_unknown_command_before_registration_gets_451_and_notice_gets_nothing(
    server: Harness,
) -> None:
    # modern.ircdocs.horse: 421 is for registered clients; before that, 451. A NOTICE never
    # gets an automatic reply, not even this one.
    alice = server.client()
    alice.send("FROB x", "NOTICE bob :hi", "NOTICE")
    assert alice.lines() == [":irc.test 451 * :You have not registered"]


def test_ipv6_peer_host_is_safe_in_parameters(server: Harness) -> None:
    alice = server.client("[::1]:6000")
    alice.register("alice")
    assert alice.session.host == "0::1"
    alice.send("WHOIS alice")
    assert alice.lines()[0] == ":irc.test 311 alice alice ~alice 0::1 * :alice Example"


def test_max_clients() -> None:
    harness = Harness(make_config(max_clients=2))
    harness.connect("a")
    harness.connect("b")
    third = harness.client()
    assert third.lines() == ["ERROR :Server is full"]
    assert third.transport.close_reason == "Server is full"
    third.send("NICK c")  # a closed session ignores everything
    assert third.lines() == []
    assert len(harness.core.sessions) == 2


def test_tick_interval_is_public() -> None:
    assert TICK_INTERVAL == ChatCore.TICK_INTERVAL == 0.25


def test_registration_timeout() -> None:
    harness = Harness(make_config(registration_timeout=10))
    slow = harness.client()
    harness.advance(9)
    assert not slow.closed
    harness.advance(2.5)
    assert slow.lines() == ["ERROR :Closing Link: 127.0.0.1 (Registration timed out)"]
    assert slow.closed


def test_registration_timeout_counts_from_first_data() -> None:
    harness = Harness(make_config(registration_timeout=10))
    harness.advance(100)
    alice = harness.client()
    alice.send("NICK alice")
    harness.advance(5)
    alice.send("USER a 0 * :A")
    assert alice.session.registered
    harness.advance(20)
    assert not alice.closed


def test_overlong_line_gets_417(server: Harness) -> None:
    alice = server.connect("alice")
    alice.send("PRIVMSG bob :" + "x" * 600, "PING ok")
    assert alice.lines() == [
        ":irc.test 417 alice :Input line was too long",
        ":irc.test PONG irc.test :ok",
    ]


def test_fake_transport_close_is_idempotent() -> None:
    transport = FakeTransport()
    transport.close("a")
    transport.close("b")
    assert transport.close_reason == "a"


def test_tags_from_a_client_may_take_4094_bytes_and_no_more(server: Harness) -> None:
    # IRCv3 message-tags: a client's tag data (between "@" and the space) is at most 4094
    # bytes; past that the server must answer 417 and must not act on the line.
    alice = server.connect("alice")
    alice.send("@" + "t" * 4094 + " PING :fits")
    assert alice.lines() == [":irc.test PONG irc.test :fits"]
    alice.send("@" + "t" * 4095 + " PING :too-long")
    assert alice.lines() == [":irc.test 417 alice :Input line was too long"]


def test_isupport_values_are_escaped() -> None:
    # A network name with "=", "\" or non-ASCII letters still gives an ASCII token.
    harness = Harness(make_config(network="Ré=seau\\"))
    alice = harness.client()
    alice.send("NICK alice", "USER a 0 * :A")
    tokens = [
        param
        for message in alice.messages()
        if message.command == "005"
        for param in message.params[1:-1]
    ]
    assert "NETWORK=R\\xC3\\xA9\\x3Dseau\\x5C" in tokens
    assert all(token.isascii() for token in tokens)
