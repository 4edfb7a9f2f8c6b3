"""The per-request proxy is only honoured when the operator listed it (ALLOWED_PROXIES).

A listed proxy is matched on its parsed parts (scheme, credentials, host, port) and then used in the
operator's own spelling: the client's string never reaches the downloader, so a URL-parser
disagreement (a stray `#`, `@` or path) cannot point the download at another proxy.
"""

from urllib.parse import urlsplit

PROXY_SCHEMES = {"http", "https", "socks4", "socks4a", "socks5", "socks5h"}


def normalize_proxy(proxy: str) -> str:
    """Canonical spelling used to compare a requested proxy with the allow-list."""
    parts = urlsplit(proxy.strip())
    host = (parts.hostname or "").lower()
    port = f":{parts.port}" if parts.port else ""
    auth = f"{parts.username}:{parts.password}@" if parts.username else ""
    return f"{parts.scheme.lower()}://{auth}{host}{port}"


def _shape_refusal(proxy: str) -> str | None:
    try:
        parts = urlsplit(proxy.strip())
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return f"proxy {proxy!r} is not a valid URL"
    if parts.scheme.lower() not in PROXY_SCHEMES or not parts.hostname:
        return f"proxy {proxy!r} must look like socks5://host:port or http://host:port"
    if parts.path.strip("/") or parts.query or parts.fragment:
        return f"proxy {proxy!r} must be scheme://host:port only, with no path, query or fragment"
    return None


def allowed_proxy(proxy: str, allowed: list[str]) -> str | None:
    """The operator's ALLOWED_PROXIES entry that `proxy` names, or None."""
    if _shape_refusal(proxy) is not None:
        return None
    wanted = normalize_proxy(proxy)
    return next((entry.strip() for entry in allowed if _shape_refusal(entry) is None
                 and normalize_proxy(entry) == wanted), None)


def proxy_refusal(proxy: str, allowed: list[str]) -> str | None:
    """Why `proxy` may not be used, or None when it may."""
    if (refusal := _shape_refusal(proxy)) is not None:
        return refusal
    if allowed_proxy(proxy, allowed) is None:
        return (
            f"proxy {proxy!r} is not allowed on this server; an operator can allow it by adding it "
            "to ALLOWED_PROXIES (comma-separated proxy URLs)"
        )
    return None
