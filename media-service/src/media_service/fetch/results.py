"""A download's answer: what the fetch process found out about the video, in the shared contract."""

import re
from urllib.parse import urlsplit

from service_common.contracts import DownloadResult, SubtitleTrack, VideoInfo

from ..decode.probe import MediaFacts

HTML5_NUMBER = re.compile(r" \(\d+\)$")


def _title(info: dict) -> str | None:
    title = info.get("title")
    # yt-dlp names a page's embedded videos "<page title> (1)", "(2)"...; people know the page title.
    if title and info.get("extractor") == "html5":
        return HTML5_NUMBER.sub("", title)
    return title


def _channel(info: dict, url: str) -> str | None:
    for key in ("channel", "uploader", "uploader_id"):
        if info.get(key):
            return str(info[key])
    host = urlsplit(info.get("webpage_url") or url).hostname
    return host.removeprefix("www.") if host else None


def build_result(
    media_id: str, url: str, info: dict, facts: MediaFacts | None, filesize: int | None
) -> DownloadResult:
    duration = info.get("duration") or (facts.duration if facts else None)
    return DownloadResult(
        media_id=media_id,
        video_info=VideoInfo(
            title=_title(info),
            duration=float(duration) if duration else None,
            channel=_channel(info, url),
        ),
        webpage_url=info.get("webpage_url") or url,
        extractor=info.get("extractor"),
        subtitles=[SubtitleTrack(**track) for track in info.get("subtitles") or []],
        language=info.get("language"),
        filesize=filesize,
    )
