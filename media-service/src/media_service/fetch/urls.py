"""Whether a request's URL and proxy may be used at all, before anything is fetched."""

from urllib.parse import urlsplit

from service_common.contracts import MAX_URL_LENGTH, upload_id
from service_common.proxies import allowed_proxy, proxy_refusal

from ..config import MediaSettings
from ..errors import MediaError
from ..store.media_store import MEDIA_ID


def checked_url(url: str, what: str) -> str:
    """The URL if the service may fetch it at all (http or https with a host), else a 422.
    An upload://<id> URL passes as it is: it names a stored file, nothing is fetched for it."""
    url = url.strip()
    if (named := upload_id(url)) is not None and MEDIA_ID.match(named):
        return url
    if len(url) > MAX_URL_LENGTH:
        raise MediaError(f"{what} failed: the URL is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise MediaError(f"{what} failed: {url!r} is not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https"):
        scheme = parts.scheme or "none"
        raise MediaError(f"{what} failed: URL scheme {scheme!r} is not supported (only http and https)")
    if not parts.hostname:
        raise MediaError(f"{what} failed: the URL {url!r} has no host")
    return url


def checked_proxy(proxy: str | None, settings: MediaSettings, what: str) -> str | None:
    if not proxy:
        return None
    refusal = proxy_refusal(proxy, settings.allowed_proxies)
    if refusal:
        raise MediaError(f"{what} failed: {refusal}")
    return allowed_proxy(proxy, settings.allowed_proxies)  # the operator's spelling, never the client's
