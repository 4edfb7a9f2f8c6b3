"""The per-request proxy is only honoured when the operator listed it (ALLOWED_PROXIES)."""

from urllib.parse import urlsplit

PROXY_SCHEMES = {"http", "https", "socks4", "socks4a", "socks5", "socks5h"}


def normalize_proxy(proxy: str) -> str:
    """Canonical spelling used to compare a requested proxy with the allow-list."""
    parts = urlsplit(proxy.strip())
    host = (parts.hostname or "").lower()
    port = f":{parts.port}" if parts.port else ""
    auth = f"{parts.username}:{parts.password}@" if parts.username else ""
    return f"{parts.scheme.lower()}://{auth}{host}{port}"


def proxy_refusal(proxy: str, allowed: list[str]) -> str | None:
    """Why `proxy` may not be used, or None when it may."""
    try:
        parts = urlsplit(proxy.strip())
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return f"proxy {proxy!r} is not a valid URL"
    if parts.scheme.lower() not in PROXY_SCHEMES or not parts.hostname:
        return f"proxy {proxy!r} must look like socks5://host:port or http://host:port"
    if normalize_proxy(proxy) not in {normalize_proxy(p) for p in allowed}:
        return (
            f"proxy {proxy!r} is not allowed on this server; an operator can allow it by adding it "
            "to ALLOWED_PROXIES (comma-separated proxy URLs)"
        )
    return None
