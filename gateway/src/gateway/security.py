"""Who is calling, and whether they may: API keys (API_KEYS), then a per-key request rate (RATE_LIMIT).

With keys configured, every route except /health and the docs needs `Authorization: Bearer <key>`
or `X-API-Key: <key>`. The caller is known by the key's name, never by the key itself, which is
neither logged nor stored. Without keys, everyone is the anonymous owner "" and requests are
rate-limited per client address.
"""

import hashlib
import hmac
import ipaddress
import math
import re
import time
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from limits import RateLimitItem, parse, storage, strategies

from .config import GatewaySettings

KEY_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
MIN_KEY_LENGTH = 12
ANONYMOUS = ""


class ApiRefusal(Exception):
    """A request refused before it reaches a route: 401 (no or wrong key) or 429 (too many requests)."""

    def __init__(self, status: int, detail: str, code: str, headers: dict[str, str]):
        super().__init__(detail)
        self.status, self.detail, self.code, self.headers = status, detail, code, headers


class ApiKeys:
    """Key name -> sha256 of the key. Lookups compare digests in constant time against every entry."""

    def __init__(self, pairs: list[tuple[str, str]]):
        self._digests: list[tuple[str, bytes]] = []
        names: set[str] = set()
        for name, key in pairs:
            if not KEY_NAME.match(name):
                raise ValueError(f"API key name {name!r} must be 1-64 letters, digits or _.@-")
            if len(key) < MIN_KEY_LENGTH or any(c.isspace() for c in key):
                raise ValueError(f"the API key of {name!r} must be at least {MIN_KEY_LENGTH} characters, no spaces")
            if name in names:
                raise ValueError(f"API key name {name!r} is listed twice")
            names.add(name)
            self._digests.append((name, _digest(key)))

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> "ApiKeys":
        entries = [e for e in (settings.api_keys or "").split(",") if e.strip()]
        if settings.api_keys_file:
            lines = Path(settings.api_keys_file).read_text(encoding="utf-8").splitlines()
            entries += [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
        pairs = []
        for entry in entries:
            name, sep, key = entry.strip().partition(":")
            if not sep:
                raise ValueError("API_KEYS entries look like name:key (comma-separated, or one per line in a file)")
            pairs.append((name.strip(), key.strip()))
        return cls(pairs)

    @property
    def enabled(self) -> bool:
        return bool(self._digests)

    def owner_of(self, key: str) -> str | None:
        presented = _digest(key)
        found = None
        for name, digest in self._digests:  # no early exit: the time taken does not depend on which key
            if hmac.compare_digest(presented, digest):
                found = name
        return found


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).digest()


class RateLimiter:
    """RATE_LIMIT ("300/minute"; "" or "0" turns it off) per caller, in this gateway process's memory."""

    def __init__(self, rate: str):
        self._item: RateLimitItem | None = None if rate.strip() in ("", "0") else parse(rate)
        self._limiter = strategies.MovingWindowRateLimiter(storage.MemoryStorage())

    def check(self, identity: str) -> None:
        if self._item is None or self._limiter.hit(self._item, identity):
            return
        reset_at = self._limiter.get_window_stats(self._item, identity).reset_time
        retry_after = max(1, math.ceil(reset_at - time.time()))
        raise ApiRefusal(429, f"too many requests: the limit is {self._item} per API key (RATE_LIMIT); "
                              f"try again in {retry_after} s", "rate_limit_exceeded", {"Retry-After": str(retry_after)})


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <key>`, when the server has API_KEYS")
_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="The same key, in `X-API-Key`")


def identify_caller(keys: ApiKeys, limiter: RateLimiter, presented: str | None, client: str) -> str:
    """The caller's owner name ("" without API_KEYS), after the key and rate checks; raises ApiRefusal.
    `presented`: the key the request carries, if any; `client`: its address (the rate's key without keys)."""
    if not keys.enabled:
        limiter.check(f"address:{client}")
        return ANONYMOUS
    owner = keys.owner_of(presented) if presented else None
    if owner is None:
        detail = "a valid API key is required: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'"
        if presented:
            detail = "the API key is not valid"
        raise ApiRefusal(401, detail, "invalid_api_key", {"WWW-Authenticate": "Bearer"})
    limiter.check(f"key:{owner}")
    return owner


def presented_key(request: Request) -> str | None:
    """The key as the FastAPI dependencies below find it: a Bearer credential first, else X-API-Key."""
    scheme, credentials = get_authorization_scheme_param(request.headers.get("authorization"))
    if scheme.lower() == "bearer" and credentials:
        return credentials
    return request.headers.get("x-api-key") or None


def identify_request(request: Request, presented: str | None) -> str:
    """`identify_caller` with this app's keys and rate limiter, the request's address as the client."""
    client = request.client.host if request.client else "unknown"
    return identify_caller(request.app.state.api_keys, request.app.state.rate_limiter, presented, client)


async def authenticated_caller(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key_header)],
) -> str:
    """The caller's owner name ("" without API_KEYS), after the key and rate checks."""
    return identify_request(request, bearer.credentials if bearer is not None else api_key)


Caller = Annotated[str, Depends(authenticated_caller)]
