"""Which network destinations an outbound fetch may connect to, checked when it connects.

Checking the URL's text is not enough: a public name can resolve to a private address, and a
public page can redirect to one. So the child process that fetches installs an audit hook on
`socket.connect` and refuses each connection whose resolved address is not public.

Opening a private range (EGRESS_ALLOW_CIDRS=127.0.0.1/32) must not open the service's own
internal APIs in it: those endpoints stay refused unless an operator names them one by one.
"""

import ipaddress
import socket
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

CGNAT = ipaddress.ip_network("100.64.0.0/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
ALLOW_HINT = "allow it with EGRESS_ALLOW_CIDRS"
INTERNAL_HINT = "open it with EGRESS_ALLOW_ENDPOINTS"


def parse_cidrs(cidrs: Iterable[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(c.strip(), strict=False) for c in cidrs if c.strip()]


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address that an IPv6 address carries (mapped, 6to4, NAT64), if any."""
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _category(ip: IPAddress) -> str | None:
    """What kind of non-public address `ip` is, or None when it is public."""
    if ip.is_unspecified:
        return "an unspecified"
    if ip.is_loopback:
        return "a loopback"
    if ip.is_link_local:
        return "a link-local"
    if ip.is_multicast:
        return "a multicast"
    if isinstance(ip, ipaddress.IPv4Address) and ip in CGNAT:
        return "a shared (CGNAT)"
    if ip.is_private:
        return "a private"
    if ip.is_reserved or not ip.is_global:
        return "a reserved"
    return None


def destination_refusal(address: str, allow_cidrs: Iterable) -> str | None:
    """Why a connection to the IP literal `address` is refused, or None when it may go ahead."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return f"destination {address!r} is not an IP address"
    networks = [n if not isinstance(n, str) else ipaddress.ip_network(n, strict=False) for n in allow_cidrs]
    mapped = getattr(ip, "ipv4_mapped", None)
    candidates = [ip] if mapped is None else [ip, mapped]
    if any(c.version == n.version and c in n for c in candidates for n in networks):
        return None
    embedded = _embedded_ipv4(ip)
    category = _category(embedded) if embedded is not None else None
    if mapped is None:
        # ::ffff:0:0/96 counts as private to `ipaddress`; a mapped address is judged by its IPv4 part.
        category = category or _category(ip)
    if category is None:
        return None
    return f"destination {address} is {category} address ({ALLOW_HINT})"


def _resolve(host: str, port: int | None = None) -> list[str]:
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return sorted({info[4][0] for info in infos})


def parse_endpoint(text: str) -> tuple[str, int]:
    """("host", port) out of "host:port" or "[v6]:port"; ValueError says what is wrong."""
    parts = urlsplit(f"//{text.strip()}")
    if not parts.hostname or parts.port is None or parts.path or parts.username:
        raise ValueError(f"{text!r} is not host:port")
    return parts.hostname, parts.port


def _is_loopback_name(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(".localhost"):
        return True
    return _is_ip(host) and ipaddress.ip_address(host).is_loopback


def _ip_forms(address: str) -> list[IPAddress]:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    mapped = getattr(ip, "ipv4_mapped", None)
    return [ip] if mapped is None else [ip, mapped]


@dataclass(frozen=True)
class Endpoints:
    """host:port pairs as the guard compares them. A loopback host stands for every loopback (and
    the unspecified) address on its port: a server on 127.0.0.1 or 0.0.0.0 answers 127.0.0.2,
    0.0.0.0 and ::ffff:127.0.0.1 too."""

    addresses: frozenset[tuple[str, int]] = field(default_factory=frozenset)
    loopback_ports: frozenset[int] = field(default_factory=frozenset)

    @classmethod
    def resolve(cls, specs: Iterable[str]) -> "Endpoints":
        addresses, loopback_ports = set(), set()
        for spec in specs:
            host, port = parse_endpoint(spec)
            if _is_loopback_name(host):
                loopback_ports.add(port)
                continue
            try:
                found = [host] if _is_ip(host) else _resolve(host, port)
            except OSError:
                continue  # a name that does not resolve cannot be connected to by name either
            addresses |= {(str(ip), port) for a in found for ip in _ip_forms(a)}
        return cls(frozenset(addresses), frozenset(loopback_ports))

    def includes(self, address: str, port: int) -> bool:
        forms = _ip_forms(address)
        if port in self.loopback_ports and any(ip.is_loopback or ip.is_unspecified for ip in forms):
            return True
        return any((str(ip), port) in self.addresses for ip in forms)


def _endpoint_text(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def proxy_endpoints(proxy: str | None) -> set[tuple[str, int]]:
    """The (address, port) pairs of an operator-allowed proxy, which connections may always reach."""
    if not proxy:
        return set()
    from urllib.parse import urlsplit

    parts = urlsplit(proxy)
    port = parts.port or (
        443 if parts.scheme == "https" else 1080 if parts.scheme.startswith("socks") else 80
    )
    return {(addr, port) for addr in _resolve(parts.hostname or "", port)}


class EgressRefused(ConnectionRefusedError):
    """Raised inside the fetching process when a connection's destination is refused."""


# Set once the guard is in place: fetching code checks it, so that no code path fetches unguarded.
_guard_installed = False


def connect_guard_installed() -> bool:
    return _guard_installed


def install_connect_guard(
    allow_cidrs: Iterable[str],
    allowed_endpoints: set[tuple[str, int]],
    on_refusal: Callable[[str], None],
    internal: Endpoints | None = None,
    opened: Endpoints | None = None,
) -> None:
    """Refuse, from now on in this process, every connection to a non-public destination or to
    one of the `internal` endpoints; `allowed_endpoints` (a proxy's) and `opened` ones (named by the
    operator) may always be reached.

    Audit hooks cannot be removed, which is why this runs in a short-lived child process.
    """
    networks = parse_cidrs(allow_cidrs)
    internal = internal or Endpoints()
    opened = opened or Endpoints()
    watched = {"socket.connect", "socket.sendto", "socket.sendmsg"}

    def refusal_for(sock: socket.socket, address) -> str | None:
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return f"destination {address!r} is not an internet address"
        if not isinstance(address, tuple) or len(address) < 2:
            return None if address is None else f"destination {address!r} is not understood"
        host, port = address[0], address[1]
        if isinstance(host, bytes):
            host = host.decode("ascii", "replace")
        # A name passed straight to connect() is resolved here; every address it has must pass.
        addresses = [host] if _is_ip(host) else _resolve(host, port)
        for addr in addresses:
            if (addr.split("%", 1)[0], port) in allowed_endpoints or opened.includes(addr, port):
                continue
            if internal.includes(addr, port):
                where = _endpoint_text(addr.split("%", 1)[0], port)
                return f"destination {where} is one of the service's own internal endpoints ({INTERNAL_HINT})"
            reason = destination_refusal(addr, networks)
            if reason:
                return reason
        return None

    def hook(event: str, args: tuple) -> None:
        if event not in watched:
            return
        sock, address = args[0], args[1]
        reason = refusal_for(sock, address)
        if reason:
            on_refusal(reason)
            raise EgressRefused(reason)

    sys.addaudithook(hook)
    global _guard_installed
    _guard_installed = True


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True
