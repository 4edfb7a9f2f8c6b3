"""Turn yt-dlp and network exceptions into one-line messages and an HTTP status for the caller."""

import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# "ERROR: ", "WARNING: " and yt-dlp's "[generic] some-id: " prefixes say nothing to a user.
LEVEL_PREFIX = re.compile(r"^(?:ERROR|WARNING):\s*")
EXTRACTOR_PREFIX = re.compile(r"^\[[\w:.-]+\]\s+(?:[\w.%-]+:\s+(?=\S))?")
CAUSED_BY = re.compile(r"\s*\(caused by .*\)\s*$", re.DOTALL)
MAX_DETAIL = 400
# requests' words when a redirect names a URL it has no transport for (file:, ftp:, gopher:, ...).
NO_ADAPTER = re.compile(r"No connection adapters were found for '(?P<url>.*)'", re.DOTALL)
FOLLOWED_SCHEMES = ("http", "https")


@dataclass
class Failure:
    detail: str
    status: int = 422
    retryable: bool = False

    def as_json(self) -> dict:
        return {"ok": False, "detail": self.detail, "status": self.status, "retryable": self.retryable}


def clean_message(message: str) -> str:
    """One readable line out of a yt-dlp message."""
    text = ANSI.sub("", message).strip()
    text = LEVEL_PREFIX.sub("", text)
    text = EXTRACTOR_PREFIX.sub("", text)
    text = CAUSED_BY.sub("", text)
    text = " ".join(text.split())
    return text[: MAX_DETAIL - 1] + "…" if len(text) > MAX_DETAIL else text


def _causes(exc: BaseException):
    """The exception and everything it wraps (yt-dlp keeps causes in exc_info and .cause)."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        exc_info = getattr(current, "exc_info", None)
        if isinstance(exc_info, tuple) and len(exc_info) > 1 and isinstance(exc_info[1], BaseException):
            todo.append(exc_info[1])
        cause = getattr(current, "cause", None)
        todo += [cause if isinstance(cause, BaseException) else None, current.__cause__, current.__context__]


def http_failure(status: int, reason: str, url: str | None) -> Failure:
    where = f" from {url}" if url else ""
    detail = f"HTTP Error {status}: {reason}{where}".strip()
    if status == 429:
        return Failure(detail, 503, True)
    if status == 408:
        return Failure(detail, 504, True)
    if status >= 500:
        return Failure(detail, 502, True)
    return Failure(detail, 422, False)


def _from_http_library(exc: BaseException) -> bool:
    return type(exc).__module__.split(".")[0] in ("requests", "urllib3")


def _redirect_refusal(exc: BaseException) -> str | None:
    """What to say of a redirect to a URL that is not http(s). The first request of a fetch is
    always http(s) (checked, or refused by yt-dlp before any network use), so only a redirect gets
    requests this far with another scheme."""
    from requests.exceptions import InvalidSchema

    if not isinstance(exc, InvalidSchema):
        return None
    found = NO_ADAPTER.search(str(exc))
    target = found.group("url") if found else ""
    scheme = urlsplit(target).scheme.lower() if target else ""
    if scheme in FOLLOWED_SCHEMES:
        return None
    where = target if scheme else "a URL that is not http or https"
    return clean_message(f"the server redirected to {where}; only redirects to http and https URLs are followed")


def permanent_refusal(causes: list[BaseException]) -> str | None:
    """Why a fetch can never succeed however often it is tried, or None. The HTTP libraries derive
    their errors about what a request names (a URL, a scheme, a header) from ValueError; a server
    whose certificate does not verify will not verify a few seconds later either."""
    from yt_dlp.networking.exceptions import CertificateVerifyError

    for cause in causes:
        if (refusal := _redirect_refusal(cause)) is not None:
            return refusal
    for cause in causes:
        if isinstance(cause, CertificateVerifyError):
            return clean_message(f"the server's TLS certificate is not valid: {cause}")
        if _from_http_library(cause) and isinstance(cause, ValueError):
            return clean_message(f"the request cannot be made: {cause}") or type(cause).__name__
    return None


def classify(exc: BaseException) -> Failure:
    """Permanent (422) unless trying again may help: 5xx, 429, resets (502/503) and timeouts (504)."""
    from yt_dlp.networking.exceptions import HTTPError, TransportError

    causes = list(_causes(exc))
    for cause in causes:
        if isinstance(cause, HTTPError):
            url = getattr(cause.response, "url", None)
            return http_failure(cause.status, cause.reason or "", url)
    if (refusal := permanent_refusal(causes)) is not None:
        return Failure(refusal, 422, False)
    message = clean_message(str(exc)) or type(exc).__name__
    for cause in causes:
        if isinstance(cause, (TimeoutError, socket.timeout)) or "timed out" in str(cause).lower():
            return Failure(message, 504, True)
    for cause in causes:
        # requests (used by youtube-transcript-api) raises OSError subclasses for network failures.
        if isinstance(cause, (TransportError, ConnectionError)) or _from_http_library(cause):
            return Failure(message, 502, True)
    return Failure(message, 422, False)
