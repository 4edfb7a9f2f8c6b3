"""Whether a yt-dlp extractor's video id names one video wherever it is seen, so that the id alone
may key the store (policy.media_key). It does when the extractor was handed a URL of its own site:
a URL its pattern claims on that host and on no other. The YouTube extractor handed youtu.be/X or
www.youtube.com/watch?v=X names YouTube's video X. It does not for extractors that take any host
(Generic, Mediasite...), for embed-only ones with no URL of their own (HTML5MediaEmbed finds a
<video> on any page and names it after the page's file name), nor for a site's extractor that built
the video from some other page it was shown: their ids are any site's file names and numbers.

Runs in the fetch process, where yt-dlp is imported once the connection guard is in place."""

from collections.abc import Callable
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

# Hosts that belong to no site (.invalid is reserved): a pattern that claims a URL on them claims any host.
# The second catches patterns that let anything follow the site's name ("site.com.attacker.example").
FOREIGN_HOSTS = ("unrelated-site.invalid", "{host}.unrelated-site.invalid")


class Extractor(Protocol):
    @classmethod
    def suitable(cls, url: str) -> bool: ...


def on_host(url: str, host: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def bound_to_host(extractor: type[Extractor], url: str) -> bool:
    """Whether the extractor claims `url` and would not claim it on a foreign host. A URL without a
    host ("kaltura:partner:entry", "peertube:host:id") cannot be tried elsewhere, so it is not bound."""
    host = urlsplit(url).hostname
    if not host or not extractor.suitable(url):
        return False
    return not any(extractor.suitable(on_host(url, foreign.format(host=host))) for foreign in FOREIGN_HOSTS)


def id_names_the_video(extractor: type[Extractor] | None, handed_urls: list[str]) -> bool:
    """Whether the extractor that produced a video was handed a URL of its own site and only such
    URLs. `handed_urls` are all the URLs extraction was asked for (HandedUrls), each given to the
    first extractor that claims it; one the extractor does not claim went to another extractor."""
    if extractor is None:
        return False
    claimed = [url for url in handed_urls if extractor.suitable(url)]
    return bool(claimed) and all(bound_to_host(extractor, url) for url in claimed)


def extractor_named(extractor_key: object) -> type[Extractor] | None:
    from yt_dlp.extractor import get_info_extractor

    try:
        return get_info_extractor(str(extractor_key))
    except KeyError:
        return None


def record_handed_urls(ydl) -> list[str]:
    """The list into which `ydl` will note every URL its extraction is asked for: the first, then each
    that an extractor hands on (a redirect's target, an embedded player's page). yt-dlp resolves
    these through the instance's extract_info, so wrapping it there sees them all."""
    handed: list[str] = []
    extract: Callable = ydl.extract_info

    def extract_info(url, *args, **kwargs):
        handed.append(str(url))
        return extract(url, *args, **kwargs)

    ydl.extract_info = extract_info
    return handed


def trusted_id(info: dict, handed_urls: list[str]) -> bool:
    """Whether the extracted video's `id` names it everywhere (see module docstring)."""
    return id_names_the_video(extractor_named(info.get("extractor_key")), handed_urls)
