"""Test-only safety net, loaded at start-up by every Python process that has this folder on its
PYTHONPATH (the media service under test and the fetch processes it starts, which inherit its
environment). Nothing here runs in production.

1. Connections and datagrams to anything but loopback never leave the machine. The net stands
   behind the product's connection guard: for a non-loopback destination it first raises the same
   audit event (`socket.connect`) that the guard listens to, so the guard refuses it with its own
   words. Only when nothing refused does the net step in: it appends a line to the breach log
   (NETGUARD_BREACH_LOG) and raises ConnectionRefusedError, so a broken guard fails the test
   instead of sending a packet.
2. Names never go to a real DNS server: NETGUARD_FAKE_DNS="name=address,..." answers for the names
   it lists (how a test makes a public-looking name resolve to an internal address); IP literals,
   localhost and /etc/hosts-style local names resolve as usual; any other name fails to resolve.

Set NETGUARD_BREACH_LOG to turn the net on; without it this module does nothing. Each process
that turns it on adds its pid to NETGUARD_BREACH_LOG + ".loaded".
"""

import ipaddress
import os
import socket
import sys

BREACH_LOG = os.environ.get("NETGUARD_BREACH_LOG")
FAKE_DNS_SPEC = os.environ.get("NETGUARD_FAKE_DNS", "")
LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


def _parse_fake_dns(spec: str) -> dict[str, str]:
    entries = (item.split("=", 1) for item in spec.split(",") if "=" in item)
    return {name.strip().lower().rstrip("."): address.strip() for name, address in entries}


def _is_loopback(host) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    try:
        ip = ipaddress.ip_address(str(host).split("%", 1)[0])
    except ValueError:
        return False  # a name: it is resolved (by fake DNS at most) and checked again as an address
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


def _record_breach(kind: str, address) -> None:
    with open(BREACH_LOG, "a", encoding="utf-8") as log:
        log.write(f"{os.getpid()} {kind} {address!r} {' '.join(sys.argv)[:200]}\n")


def _guarded(kind: str, real, address_index: int):
    """`real` (a socket method) that lets loopback through and stops everything else."""

    def method(self, *args):
        position = len(args) - 1 if address_index < 0 else address_index
        address = args[position] if 0 <= position < len(args) else None
        inet = self.family in (socket.AF_INET, socket.AF_INET6)
        if inet and isinstance(address, tuple) and address and not _is_loopback(address[0]):
            # The product's guard (an audit hook) refuses here if it works.
            sys.audit(f"socket.{kind}", self, address)
            _record_breach(kind, address)
            raise ConnectionRefusedError(f"netguard: the product let a {kind} to {address!r} through")
        return real(self, *args)

    method.__name__ = real.__name__
    return method


def _fake_dns_getaddrinfo(real, fake: dict[str, str]):
    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        name = host.decode("ascii", "replace") if isinstance(host, bytes) else host
        key = (name or "").lower().rstrip(".")
        if key in fake:
            return real(fake[key], port, family, type, proto, flags | socket.AI_NUMERICHOST)
        if name is None or key in LOCAL_NAMES or key.endswith(".localhost"):
            return real(host, port, family, type, proto, flags)
        try:
            return real(host, port, family, type, proto, flags | socket.AI_NUMERICHOST)
        except socket.gaierror:
            # A real name would ask a DNS server, a packet off this machine.
            raise socket.gaierror(socket.EAI_NONAME, f"netguard: {name!r} is not resolved in tests") from None

    return getaddrinfo


# Where each method takes its destination address: sendto(data[, flags], address) has it last.
ADDRESS_ARGUMENT = {"connect": 0, "connect_ex": 0, "sendto": -1, "sendmsg": 3}


def install() -> None:
    if not BREACH_LOG:
        return
    # Each process that has the net says so, for a test to check before it aims at internal addresses.
    with open(BREACH_LOG + ".loaded", "a", encoding="utf-8") as loaded:
        loaded.write(f"{os.getpid()}\n")
    for attribute, index in ADDRESS_ARGUMENT.items():
        kind = "connect" if attribute == "connect_ex" else attribute
        setattr(socket.socket, attribute, _guarded(kind, getattr(socket.socket, attribute), index))
    socket.getaddrinfo = _fake_dns_getaddrinfo(socket.getaddrinfo, _parse_fake_dns(FAKE_DNS_SPEC))


install()
