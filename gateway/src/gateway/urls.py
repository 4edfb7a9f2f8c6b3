"""Shape checks for the submitted video URL.

These only decide whether the text is a well-formed http(s) URL worth queueing. Whether the host
may be fetched (public addresses only) is decided where the connection is made, because DNS can
change between now and then.
"""

import ipaddress
import re
import unicodedata
from urllib.parse import urlsplit

from service_common.contracts import MAX_URL_LENGTH

ALLOWED_SCHEMES = ("http", "https")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
UPLOAD_URL = re.compile(r"^upload://[A-Za-z0-9_-]{8,64}$")


def _is_valid_hostname(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    host = host.removesuffix(".")
    try:
        # IDNA turns an internationalised name into the ASCII form DNS actually resolves.
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return False
    if not ascii_host or len(ascii_host) > 253:
        return False
    labels = ascii_host.split(".")
    # A dotted all-numeric name that is not a valid IP (e.g. 999.1.1.1) is a typo, not a hostname.
    if all(label.isdigit() for label in labels):
        return False
    return all(_LABEL.match(label) for label in labels)


def video_url_problem(url: str) -> tuple[str, str] | None:
    """(error type, message) saying why `url` cannot be analysed, or None when it is acceptable."""
    if url.startswith("upload://"):
        if UPLOAD_URL.match(url):
            return None
        return "url_upload", "youtube_url upload://… must be the url that POST /uploads returned"
    problem = http_url_problem(url, "youtube_url")
    if problem is not None and problem[0] == "url_scheme":
        return problem[0], problem[1] + ", or be upload://…"
    return problem


def http_url_problem(url: str, field: str) -> tuple[str, str] | None:
    """(error type, message) saying why `url` is not a well-formed http(s) URL to send to, or None."""
    if not url:
        return "url_empty", f"{field} must not be empty"
    if len(url) > MAX_URL_LENGTH:
        return "url_too_long", f"{field} must be at most {MAX_URL_LENGTH} characters long"
    for char in url:
        # Whitespace and control/format characters are how URL-confusion tricks are smuggled in.
        if char.isspace() or unicodedata.category(char).startswith("C"):
            return "url_characters", f"{field} must not contain whitespace or control characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        return "url_parsing", f"{field} is not a valid URL"
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        got = f"'{scheme}:'" if scheme else "no scheme"
        return "url_scheme", f"{field} must start with http:// or https:// (got {got})"
    if parts.username is not None or parts.password is not None:
        # "https://youtube.com@evil.example/" reads like YouTube but goes elsewhere.
        return "url_credentials", f"{field} must not contain a user name or password"
    host = parts.hostname
    if not host:
        return "url_host", f"{field} must name a host, as in https://www.youtube.com/watch?v=VIDEO_ID"
    if not _is_valid_hostname(host):
        return "url_host", f"{field}'s host is not a valid host name or IP address"
    return None
