"""Which network destinations an outbound fetch may connect to, checked when it connects.

Checking the URL's text is not enough: a public name can resolve to a private address, and a
public page can redirect to one. So the child process that fetches installs an audit hook on
`socket.connect` and refuses each connection whose resolved address is not public.

Opening a private range (EGRESS_ALLOW_CIDRS=127.0.0.1/32) must not open the service's own
internal APIs in it: those endpoints stay refused unless an operator names them one by one.
"""

import socket
import sys
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from service_common.egress import Endpoints, address_refusal, is_ip, parse_cidrs, resolve


def proxy_endpoints(proxy: str | None) -> set[tuple[str, int]]:
    """The (address, port) pairs of an operator-allowed proxy, which connections may always reach."""
    if not proxy:
        return set()
    parts = urlsplit(proxy)
    port = parts.port or (
        443 if parts.scheme == "https" else 1080 if parts.scheme.startswith("socks") else 80
    )
    return {(addr, port) for addr in resolve(parts.hostname or "", port)}


class EgressRefused(ConnectionRefusedError):
    """Raised inside the fetching process when a connection's destination is refused."""


# Set once the guard is in place: fetching code checks it, so that no code path fetches unguarded.
_guard_installed = False


def connect_guard_installed() -> bool:
    return _guard_installed


class UnguardedFetch(RuntimeError):
    """A fetch was asked for in a process whose connection guard is not in place."""


def require_connect_guard() -> None:
    """Called by every fetching action first. The generic extractor follows whatever a page names:
    without the guard it would reach anything."""
    if not connect_guard_installed():
        raise UnguardedFetch("refusing to fetch: the connection guard is not installed in this process")


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
        addresses = [host] if is_ip(host) else resolve(host, port)
        for addr in addresses:
            reason = address_refusal(addr, port, networks, internal, opened, allowed_endpoints)
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
