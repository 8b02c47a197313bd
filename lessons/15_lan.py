"""Lesson 15: Deploying on a LAN: 0.0.0.0, firewalls, IPv6.

Read first: lesson 14 (measuring the backends). This is the last lesson.

The one idea: **the address you bind decides who can reach you.** Every lesson so far listened
on 127.0.0.1, which nobody but this machine can reach. To chat with the laptop next to you, the
server must listen on an address that machine can route to, the firewall must let the port in,
and the client must be told the right address.

Steps:

1. Which addresses mean what: 127.0.0.1 and ::1 (this machine only), 0.0.0.0 (every IPv4
   address this machine has), ``::`` (every IPv6 address, and with IPV6_V6ONLY off every IPv4
   address too, as ``::ffff:a.b.c.d``: "dual stack").
2. Finding your LAN address: ``getaddrinfo`` on your host name (often only says 127.0.x.1)
   and the UDP-connect trick (``connect`` on a UDP socket picks a route and sends nothing).
3. Firewalls: the commands to open the port, shown, never run.
4. The check: listeners on 127.0.0.1, ::1 and a dual-stack socket bound to the IPv4-mapped
   loopback address; we connect to each address and see which listener answers. Nothing is
   ever sent to anything but loopback.

Run it::

    python lessons/15_lan.py                        # narrated demo (loopback only)
    python lessons/15_lan.py --serve --host 0.0.0.0 # a greeter your neighbour can nc to
    python lessons/15_lan.py --check                # self-check, exit code 0 = pass

What this is not: NAT, port forwarding or the internet. A server reachable from the internet
needs TLS (lesson 13), limits (lesson 12) and someone who reads its logs. For chatkit itself:
``chatkit serve --host 0.0.0.0`` (or ``--host ::``) is all it takes on a trusted LAN.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import socket
import sys
import threading
from collections.abc import Callable


# --8<-- [start:listeners]
# --- Step 1: what a bind address means -----------------------------------------------------------
class Greeter:
    """A listener that greets each connection with its own name, so a client knows whom it
    reached, and remembers the peer address it saw (v4, v6 or v4-mapped)."""

    def __init__(self, name: str, family: socket.AddressFamily, host: str, v6only: bool = True):
        self.name = name
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            # Off: this IPv6 socket also takes IPv4 connections, which it sees as ::ffff:a.b.c.d.
            # The default comes from /proc/sys/net/ipv6/bindv6only on Linux (0), but it is 1 on
            # Windows and some BSDs: set it explicitly whenever it matters.
            self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, int(v6only))
        self.sock.bind((host, 0))
        self.sock.listen()
        self.sock.settimeout(0.1)  # so the accept loop notices stop() (lesson 10)
        self.port: int = self.sock.getsockname()[1]
        self.peers: list[str] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        with self.sock:
            while not self.stopping.is_set():
                try:
                    conn, addr = self.sock.accept()
                except TimeoutError:
                    continue
                with conn:
                    self.peers.append(addr[0])
                    conn.sendall(f"{self.name} sees you as {addr[0]}\r\n".encode())

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=2)


# --8<-- [end:listeners]


def who_answers(host: str, port: int) -> str:
    """Connect to host:port and return the greeting, or why nobody answered."""
    try:
        with socket.create_connection((host, port), timeout=2) as sock:
            return sock.recv(200).decode(errors="replace").strip() or "<closed>"
    except ConnectionRefusedError:
        return "refused"
    except OSError as exc:
        return f"error: {exc.strerror or exc}"


def ipv6_loopback_available() -> bool:
    """Can we bind ::1? (False in containers or machines with IPv6 switched off.)"""
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


# --8<-- [start:find]
# --- Step 2: finding your address ----------------------------------------------------------------
def addresses_of_hostname() -> list[str]:
    """What the resolver says our host name is. Often 127.0.0.1 or 127.0.1.1 (Debian puts that
    in /etc/hosts), which is no use to a neighbour: hence the trick below."""
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return []
    return sorted({str(info[4][0]) for info in infos})


def outgoing_address(family: socket.AddressFamily) -> str | None:
    """The address this machine would use to reach the outside world, found without sending.

    ``connect`` on a UDP socket sends no packet: it only asks the kernel to pick a route and a
    source address, which ``getsockname`` then tells us. The targets are documentation
    addresses (RFC 5737, RFC 3849) that are never assigned to anyone.
    """
    target = "192.0.2.1" if family == socket.AF_INET else "2001:db8::1"
    with socket.socket(family, socket.SOCK_DGRAM) as udp:
        try:
            udp.connect((target, 9))
        except OSError:
            return None  # no route: no network of this family
        return str(udp.getsockname()[0])


# --8<-- [end:find]

# --8<-- [start:firewall]
# --- Step 3: firewalls (shown, never run) --------------------------------------------------------
FIREWALL_COMMANDS = {
    "ufw (Ubuntu)": "sudo ufw allow from 192.168.1.0/24 to any port 6667 proto tcp",
    "nftables": "sudo nft add rule inet filter input ip saddr 192.168.1.0/24 tcp dport 6667 accept",
    "firewalld (Fedora)": "sudo firewall-cmd --add-port=6667/tcp",
    "Windows (PowerShell)": "New-NetFirewallRule -DisplayName chatkit -Direction Inbound "
    "-Protocol TCP -LocalPort 6667 -Action Allow -Profile Private",
    "macOS": "System Settings > Network > Firewall: allow incoming connections for python3",
}
# Open the port to your LAN only (the saddr/from part), never to "anywhere" on a laptop that
# joins café Wi-Fi. A firewall that drops the SYN makes a client hang until its connect timeout;
# one that rejects it (or no listener at all) gives "connection refused" at once.
# --8<-- [end:firewall]


def run(say: Callable[[str], None]) -> list[str]:
    problems: list[str] = []
    has_v6 = ipv6_loopback_available()
    mapped = "::ffff:127.0.0.1"  # 127.0.0.1 written as an IPv6 address (RFC 4291, 2.5.5.2)
    greeters = [Greeter("v4-loopback", socket.AF_INET, "127.0.0.1")]
    if has_v6:
        greeters.append(Greeter("v6-loopback", socket.AF_INET6, "::1"))
        # A dual-stack socket bound to the IPv4 loopback in its mapped form: the same mechanism
        # as binding "::" with V6ONLY off, without listening on the LAN.
        with contextlib.suppress(OSError):
            greeters.append(Greeter("dual-stack", socket.AF_INET6, mapped, v6only=False))
    try:
        say(
            f"step 1: IPv6 loopback available: {has_v6}; dual-stack sockets supported: "
            f"{socket.has_dualstack_ipv6()}"
        )
        expected: dict[tuple[str, str], bool] = {}
        for greeter in greeters:
            for target in ("127.0.0.1", "::1") if has_v6 else ("127.0.0.1",):
                answer = who_answers(target, greeter.port)
                reached = answer.startswith(greeter.name + " ")
                say(
                    f"        connect {target:>9} port {greeter.port:<5} "
                    f"(listener {greeter.name:>11} on {greeter.sock.getsockname()[0]}): {answer}"
                )
                expected[(greeter.name, target)] = reached
        rules = {
            ("v4-loopback", "127.0.0.1"): True,
            ("v4-loopback", "::1"): False,  # an AF_INET socket never sees IPv6
            ("v6-loopback", "::1"): True,
            ("v6-loopback", "127.0.0.1"): False,  # V6ONLY, and ::1 is not 127.0.0.1 anyway
            ("dual-stack", "127.0.0.1"): True,  # IPv4 arrives on the IPv6 socket, mapped
            ("dual-stack", "::1"): False,  # bound to the mapped address only
        }
        for key, reached in expected.items():
            if rules[key] != reached:
                problems.append(f"{key[1]} {'reached' if reached else 'did not reach'} {key[0]}")
        for greeter in greeters:
            if greeter.name == "dual-stack" and greeter.peers != [mapped]:
                problems.append(f"the dual-stack listener saw {greeter.peers}, not [{mapped!r}]")
        infos = socket.getaddrinfo("localhost", 0, type=socket.SOCK_STREAM)
        localhost = list(dict.fromkeys(str(info[4][0]) for info in infos))
        say(f"        'localhost' resolves to {localhost}: a client tries them in that order")

        say(f"step 2: our host name {socket.gethostname()!r} resolves to {addresses_of_hostname()}")
        for family in (socket.AF_INET, socket.AF_INET6):
            found = outgoing_address(family)
            say(f"        the UDP-connect trick ({family.name}) says: {found}")
            try:
                if found is not None:
                    ipaddress.ip_address(found)
            except ValueError:
                problems.append(f"the UDP-connect trick returned {found!r}, not an address")
        say("step 3: to let your LAN in to chatkit's port 6667 (this lesson's greeter uses 6675;")
        say("        adjust port and subnet; these are not run here):")
        for system, command in FIREWALL_COMMANDS.items():
            say(f"        {system:>20}: {command}")
    finally:
        for greeter in greeters:
            greeter.stop()
    return problems


def serve(host: str, port: int) -> int:
    """Greet every connection until Ctrl-C, on the address you choose."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        server = socket.create_server((host, port), family=family, dualstack_ipv6=host == "::")
    except OSError as exc:  # a name that does not resolve, an address not ours, a busy port
        print(f"cannot listen on {host} port {port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    lan = outgoing_address(socket.AF_INET)
    print(f"listening on {host} port {port}.")
    with contextlib.suppress(ValueError):
        if ipaddress.ip_address(host).is_loopback:
            print(f"Only this machine can connect (nc {host} {port}); another machine is refused.")
            print("Try --host 0.0.0.0 to let your network in.")
            lan = None
    if lan is not None:
        print(f"From another machine: nc {lan} {port}")
    with server, contextlib.suppress(KeyboardInterrupt):
        while True:
            conn, addr = server.accept()
            with conn:
                print("connection from", addr[0])
                conn.sendall(f"hello {addr[0]}, you reached {host}\r\n".encode())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="self-check, exit 0 on success")
    parser.add_argument("--serve", action="store_true", help="run a greeter on --host")
    parser.add_argument("--host", default="127.0.0.1", help="bind address for --serve")
    parser.add_argument("--port", type=int, default=6675, help="port for --serve")
    args = parser.parse_args(argv)
    if args.serve:
        return serve(args.host, args.port)
    problems = run(say=(lambda _t: None) if args.check else print)
    sys.stdout.flush()
    for problem in problems:
        print("FAIL:", problem, file=sys.stderr)
    if args.check and not problems:
        print("lesson 15 check passed: each loopback address reached exactly its listener")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
