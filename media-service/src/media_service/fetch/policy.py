"""What the service agrees to download: one file of at most `max_height` (or, where the best picture
comes without sound, a video and an audio file to join), no live streams, no
audio-only media, nothing longer than MAX_DURATION_S or larger than MAX_DOWNLOAD_MB; and the
key under which a video is stored, so that two URLs of one video share one download."""

import hashlib
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..config import MediaSettings

# Media keys begin with one of these, which no key of an earlier rule began with: media stored under
# an earlier rule (which let any page's file-name stem name a video) is never found by its key again.
ID_KEY = "extractor-id:"
URL_KEY = "media-url:"
# post_live: the stream has just ended and its recording is still incomplete.
LIVE_STATUSES = frozenset({"is_live", "is_upcoming", "post_live"})
LIVE_REFUSAL = "live streams cannot be analysed"
# Protocols that yt-dlp downloads in Python, under the connection guard; others (rtmp, rtsp, mms...)
# it hands to ffmpeg or rtmpdump, whose connections the guard cannot see.
NATIVE_PROTOCOLS = frozenset(
    {"http", "https", "m3u8", "m3u8_native", "http_dash_segments", "http_dash_segments_generator", "f4m", "ism"}
)
# A format id a format spec names as it is: a digit in it keeps it from being a keyword ("best", "bv").
FORMAT_ID = re.compile(r"[A-Za-z0-9_.-]*[0-9][A-Za-z0-9_.-]*")


class PolicyRefusal(Exception):
    """A download the policy refuses: one line for the caller, a permanent (422) failure."""


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_duration_s: float
    max_height: int = 720

    @classmethod
    def from_job(cls, job: dict) -> "Limits":
        max_duration = float(job.get("max_duration_s") or math.inf)
        return cls(int(job["max_bytes"]), max_duration, int(job.get("max_height", 720)))

    @classmethod
    def from_settings(cls, settings: "MediaSettings") -> "Limits":
        return cls(settings.max_download_mb * 2**20, settings.max_duration_s, settings.max_height)

    def as_job(self) -> dict:
        """The fields of a fetch job that from_job reads back."""
        return {"max_bytes": self.max_bytes, "max_duration_s": self.max_duration_s, "max_height": self.max_height}


def format_selector(max_height: int) -> str:
    """One file with video and audio if there is one, else video alone, else whatever there is
    (an audio-only answer is refused afterwards with a clear message). `<=?` lets formats of
    unknown height through: direct files have none. Never two files to merge (no ffmpeg)."""
    h = int(max_height)
    return f"b[height<=?{h}]/bv*[height<=?{h}]/b*[height<=?{h}]"


def clock(seconds: float) -> str:
    """5:12:00 for 18720 s."""
    total = int(round(seconds))
    return f"{total // 3600}:{total // 60 % 60:02d}:{total % 60:02d}"


def duration_refusal(duration: float | None, limits: Limits) -> str | None:
    if duration is None or duration <= limits.max_duration_s:
        return None
    return f"the video is {clock(duration)} long; the limit is {clock(limits.max_duration_s)} (MAX_DURATION_S)"


def stored_video_refusal(has_video: bool, duration: float | None, limits: Limits, shown: str) -> str | None:
    """Why a file read from disk (downloaded or uploaded; `shown` names it) may not be kept as a video, or
    None. Generic downloads and uploads have no duration until the file is read: the limit applies here."""
    if not has_video:
        return f"{shown} has no video stream (audio only)"
    return duration_refusal(duration, limits)


def size_refusal(limits: Limits) -> str:
    return f"the video is larger than MAX_DOWNLOAD_MB ({limits.max_bytes // 2**20} MB)"


def is_live(info: dict) -> bool:
    return bool(info.get("is_live")) or info.get("live_status") in LIVE_STATUSES


def info_refusal(info: dict, limits: Limits) -> str | None:
    """Why the extracted (not yet downloaded) video must not be downloaded, or None."""
    if is_live(info):
        return LIVE_REFUSAL
    duration = info.get("duration")
    if isinstance(duration, int | float) and (refusal := duration_refusal(float(duration), limits)):
        return refusal
    size = info.get("filesize") or info.get("filesize_approx")
    if isinstance(size, int | float) and size > limits.max_bytes:
        return size_refusal(limits)
    if info.get("vcodec") == "none":
        return "the URL has audio only: the media has no video stream"
    return None


def protocol_refusal(info: dict, protocol_of: Callable[[dict], str]) -> str | None:
    """Why the chosen format(s) must not be downloaded over their protocol, or None.
    `protocol_of` is yt-dlp's determine_protocol (a format's protocol, also when it names none)."""
    formats = info.get("requested_formats") or [info]
    unsupported = sorted({str(protocol_of(f)) for f in formats} - NATIVE_PROTOCOLS)
    if not unsupported:
        return None
    return f"the video is served over {', '.join(unsupported)}, which the service does not fetch"


def _has(kind: str, fmt: dict) -> bool:
    return fmt.get(kind) not in (None, "none")


def separate_streams(info: dict, max_height: int) -> list[dict] | None:
    """[video-only format, audio-only format] to fetch apart and join, when the best picture of at most
    `max_height` comes only without sound (YouTube offers one file with both only at 360p); None when
    one file is as good. yt-dlp lists formats worst first, so the last of a kind is its best."""
    # Only ids a format spec can name as they are ("137", "hls-720p", "dash-v1"), to be joined with ",".
    all_formats = info.get("formats") or []
    formats = [f for f in all_formats if FORMAT_ID.fullmatch(str(f.get("format_id") or ""))]
    # Codecs yt-dlp does not know (None) may be there: only "none" says a format lacks picture or sound.
    combined = [f for f in all_formats if f.get("vcodec") != "none" and f.get("acodec") != "none"]
    if any(not f.get("height") for f in combined):
        return None  # a file that may have both, of a height nobody knows: it may be the best there is
    video_only = [f for f in formats if _has("vcodec", f) and f.get("acodec") == "none"
                  and 0 < (f.get("height") or 0) <= max_height]
    audio_only = [f for f in formats if f.get("vcodec") == "none" and f.get("acodec") != "none"]
    if not video_only or not audio_only:
        return None
    best_height = max(f["height"] for f in video_only)
    if best_height <= max((f["height"] for f in combined if f["height"] <= max_height), default=0):
        return None
    video = [f for f in video_only if f["height"] == best_height][-1]
    return [video, audio_only[-1]]


def joined(info: dict, formats: list[dict]) -> dict:
    """The extracted info as if yt-dlp had chosen `formats` to merge, for the policy checks."""
    sizes = [f.get("filesize") or f.get("filesize_approx") for f in formats]
    video = formats[0]
    return {**info, "requested_formats": formats, "filesize": sum(sizes) if all(sizes) else None,
            "filesize_approx": None, "vcodec": video.get("vcodec"), "height": video.get("height"),
            "width": video.get("width"), "format_id": ",".join(f["format_id"] for f in formats)}


def media_key(info: dict, id_names_the_video: bool, proxy: str | None = None) -> str:
    """Which video this is, whatever URL named it. Where the extractor's id names the video on its
    site (`id_names_the_video`, see extractor_trust.py), the extractor and its id: watch?v=X, youtu.be/X
    and ...&t=10s are one video, through any proxy. Otherwise the id may be any page's file-name stem or
    number, so the key is what was fetched: the page, the media URL of each file (a picture and a
    sound file: both) and the proxy, through which one host name may reach another machine."""
    video_id = info.get("id")
    if id_names_the_video and video_id:
        extractor = str(info.get("extractor_key") or info.get("extractor")).lower()
        return f"{ID_KEY}{extractor}:{video_id}"
    page = info.get("webpage_url") or info.get("original_url") or ""
    formats = info.get("requested_formats") or [info]
    files = [[f.get("format_id"), f.get("url") or f.get("manifest_url")] for f in formats]
    return URL_KEY + json.dumps([page, video_id, files, proxy or None])


def media_id_for_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
