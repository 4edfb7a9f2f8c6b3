"""Download a video once per URL: checked URL and proxy, a fetch in the guarded child process,
a readable-video check, then the finished directory renamed into the store."""

import asyncio
import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

from service_common.contracts import DownloadRequest, DownloadResult, SubtitleTrack, VideoInfo
from service_common.proxies import proxy_refusal

from .config import MediaSettings
from .frames import UnreadableVideo, probe_video
from .store import MediaStore, media_id_for
from .worker_client import failure, run_job

MAX_URL_LENGTH = 4096
HTML5_NUMBER = re.compile(r" \(\d+\)$")


def checked_url(url: str, what: str) -> str:
    """The URL if the service may fetch it at all (http or https with a host), else a 422."""
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise failure(f"{what} failed: the URL is longer than {MAX_URL_LENGTH} characters", 422, False)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise failure(f"{what} failed: {url!r} is not a valid URL", 422, False) from None
    if parts.scheme.lower() not in ("http", "https"):
        scheme = parts.scheme or "none"
        raise failure(
            f"{what} failed: URL scheme {scheme!r} is not supported (only http and https)", 422, False
        )
    if not parts.hostname:
        raise failure(f"{what} failed: the URL {url!r} has no host", 422, False)
    return url


def checked_proxy(proxy: str | None, settings: MediaSettings, what: str) -> str | None:
    if not proxy:
        return None
    refusal = proxy_refusal(proxy, settings.allowed_proxies)
    if refusal:
        raise failure(f"{what} failed: {refusal}", 422, False)
    return proxy.strip()


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


def build_result(media_id: str, url: str, info: dict, measured_duration: float | None) -> DownloadResult:
    duration = info.get("duration")
    return DownloadResult(
        media_id=media_id,
        video_info=VideoInfo(
            title=_title(info),
            duration=float(duration) if duration else measured_duration,
            channel=_channel(info, url),
        ),
        webpage_url=info.get("webpage_url") or url,
        extractor=info.get("extractor"),
        subtitles=[SubtitleTrack(**track) for track in info.get("subtitles") or []],
    )


class Downloader:
    def __init__(self, settings: MediaSettings, store: MediaStore):
        self.settings = settings
        self.store = store
        self._locks: dict[str, asyncio.Lock] = {}

    def cached(self, media_id: str) -> DownloadResult | None:
        record = self.store.load_record(media_id)
        return DownloadResult(**record["result"]) if record else None

    async def download(self, request: DownloadRequest) -> DownloadResult:
        url = checked_url(request.url, "download")
        proxy = checked_proxy(request.proxy, self.settings, "download")
        media_id = media_id_for(url)
        if (done := self.cached(media_id)) is not None:
            return done
        lock = self._locks.setdefault(media_id, asyncio.Lock())
        try:
            async with lock:  # the same URL asked twice at once is downloaded once
                if (done := self.cached(media_id)) is not None:
                    return done
                return await self._download(media_id, url, proxy)
        finally:
            if not lock.locked():
                self._locks.pop(media_id, None)

    async def _download(self, media_id: str, url: str, proxy: str | None) -> DownloadResult:
        job_dir = self.store.new_work_dir()
        media_dir = job_dir / "media"
        media_dir.mkdir()
        try:
            job = {
                "action": "download",
                "url": url,
                "proxy": proxy,
                "out_dir": str(media_dir),
                "allow_cidrs": self.settings.egress_allow_cidrs,
                "max_bytes": self.settings.max_download_mb * 2**20,
                "max_height": self.settings.max_height,
                "socket_timeout": self.settings.socket_timeout_s,
            }
            result = await run_job(job, self.settings.download_timeout_s, "download", job_dir)
            info = result["info"]
            video = Path(info["filepath"])
            if video.parent.resolve() != media_dir.resolve():
                raise failure("download failed: the video was written outside its directory", 502, True)
            try:
                measured = await asyncio.to_thread(probe_video, video)
            except UnreadableVideo:
                raise failure(
                    f"download failed: the file from {url} is not a readable video", 422, False
                ) from None
            download = build_result(media_id, url, info, measured)
            record = {"result": download.model_dump(mode="json"), "video_file": video.name, "url": url}
            self.store.commit(media_id, media_dir, record)
            return download
        finally:
            shutil.rmtree(job_dir, ignore_errors=True)
