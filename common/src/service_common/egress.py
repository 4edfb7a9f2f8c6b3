"""Which network destinations the service's outbound requests may reach: the policy that media fetches
(media_service.egress, in their child processes) and webhook deliveries (orchestrator.webhooks) apply
when they connect.

A connection to a non-public address is refused unless EGRESS_ALLOW_CIDRS opens its range, and the
service's own internal endpoints stay refused even then, unless an operator names them one by one
(EGRESS_ALLOW_ENDPOINTS).
"""

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from .settings import CsvList, ServiceSettings

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


def resolve(host: str, port: int | None = None) -> list[str]:
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
    return is_ip(host) and ipaddress.ip_address(host).is_loopback


def ip_forms(address: str) -> list[IPAddress]:
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
                found = [host] if is_ip(host) else resolve(host, port)
            except OSError:
                continue  # a name that does not resolve cannot be connected to by name either
            addresses |= {(str(ip), port) for a in found for ip in ip_forms(a)}
        return cls(frozenset(addresses), frozenset(loopback_ports))

    def includes(self, address: str, port: int) -> bool:
        forms = ip_forms(address)
        if port in self.loopback_ports and any(ip.is_loopback or ip.is_unspecified for ip in forms):
            return True
        return any((str(ip), port) in self.addresses for ip in forms)


def address_refusal(address: str, port: int, networks: list, internal: Endpoints, opened: Endpoints,
                    allowed: set[tuple[str, int]] | frozenset = frozenset()) -> str | None:
    """Why a connection to `address`:`port` (an IP literal) is refused, or None when it may go ahead:
    `allowed` (an operator-allowed proxy's) and `opened` endpoints always may; the service's `internal`
    endpoints never may otherwise; any other address must be public or in `networks`."""
    if (address.split("%", 1)[0], port) in allowed or opened.includes(address, port):
        return None
    if internal.includes(address, port):
        where = endpoint_text(address.split("%", 1)[0], port)
        return f"destination {where} is one of the service's own internal endpoints ({INTERNAL_HINT})"
    return destination_refusal(address, networks)


def endpoint_text(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


class EgressSettings(ServiceSettings):
    """What outbound requests to addresses that users name (videos, subtitles, webhooks) may reach."""

    # Private ranges that fetches and webhooks may reach anyway (tests allow 127.0.0.1/32 this way).
    egress_allow_cidrs: CsvList = Field(default_factory=list)
    # The service's own listeners, which no fetch may reach whatever EGRESS_ALLOW_CIDRS opens: those of
    # `make run` on 127.0.0.1 (its port variables, so a changed port stays covered), plus INTERNAL_ENDPOINTS.
    gateway_port: int = 8000
    orchestrator_port: int = 8001
    media_service_port: int = 8002
    lite_models_port: int = 8003
    internal_endpoints: CsvList = Field(default_factory=list)
    # host:port pairs an operator opens on purpose although they are internal or private.
    egress_allow_endpoints: CsvList = Field(default_factory=list)

    @field_validator("egress_allow_cidrs")
    @classmethod
    def _cidrs_parse(cls, value: list[str]) -> list[str]:
        # A typo here would otherwise surface only as refused downloads.
        for cidr in value:
            ipaddress.ip_network(cidr, strict=False)
        return value

    @field_validator("internal_endpoints", "egress_allow_endpoints")
    @classmethod
    def _endpoints_parse(cls, value: list[str]) -> list[str]:
        for endpoint in value:
            parse_endpoint(endpoint)
        return value

    @property
    def refused_endpoints(self) -> list[str]:
        ports = (self.gateway_port, self.orchestrator_port, self.media_service_port, self.lite_models_port)
        return [f"127.0.0.1:{port}" for port in ports] + self.internal_endpoints

    def egress_policy(self) -> dict:
        """What a fetch job carries for the connection guard of its process."""
        return {
            "allow_cidrs": self.egress_allow_cidrs,
            "internal_endpoints": self.refused_endpoints,
            "allow_endpoints": self.egress_allow_endpoints,
        }

