"""Download a video once: checked URL and proxy, extraction in the guarded child process, which
names the video (its media key: two URLs of one video are one download), the download unless the
store has it, a readable-video and duration check, then the finished directory renamed into the
store. Uploads (upload://<id>) are already in the store."""

import asyncio
import contextlib
import logging
import re
import shutil
from collections.abc import Callable
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

from service_common.contracts import (
    UPLOAD_SCHEME,
    DownloadRequest,
    DownloadResult,
    SubtitleTrack,
    VideoInfo,
)
from service_common.proxies import allowed_proxy, proxy_refusal

from .config import MediaSettings
from .decode_jobs import Decoder
from .download_job import DownloadChild
from .metrics import DOWNLOADED_BYTES, DOWNLOADS, count_download_end
from .policy import Limits, duration_refusal, media_id_for_key
from .probe import MediaFacts, UnreadableMedia
from .progress import ProgressBoard
from .store import MEDIA_ID, STORED_VIDEO, MediaStore
from .worker_client import failure

log = logging.getLogger(__name__)

MAX_URL_LENGTH = 4096
HTML5_NUMBER = re.compile(r" \(\d+\)$")
CANCEL_WAIT_S = 10.0  # a cancelled download stops at once (its child is killed); this only bounds the wait


def checked_url(url: str, what: str) -> str:
    """The URL if the service may fetch it at all (http or https with a host), else a 422.
    An upload://<id> URL passes as it is: it names a stored file, nothing is fetched for it."""
    url = url.strip()
    if url.startswith(UPLOAD_SCHEME) and MEDIA_ID.match(url[len(UPLOAD_SCHEME) :]):
        return url
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
    return allowed_proxy(proxy, settings.allowed_proxies)  # the operator's spelling, never the client's


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


class KeyedLocks:
    """One asyncio.Lock per key while anyone holds or waits for it (counted, so a waiter that has
    been woken but not yet run never finds its lock replaced by a fresh one)."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str):
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class Downloader:
    def __init__(self, settings: MediaSettings, store: MediaStore, progress: ProgressBoard | None = None,
                 decoder: Decoder | None = None):
        self.settings = settings
        self.store = store
        self.decoder = decoder or Decoder(settings)
        self.progress = progress or ProgressBoard()
        self._locks = KeyedLocks()
        self._running: dict[str, set[asyncio.Task]] = {}  # by job id

    def cached(self, media_id: str) -> DownloadResult | None:
        with self.store.using(media_id):  # answering from the store is a use
            record = self.store.load_record(media_id)
        return DownloadResult(**record["result"]) if record else None

    def _by_alias(self, url: str, proxy: str | None) -> DownloadResult | None:
        media_id = self.store.media_id_by_alias(url, proxy)
        return self.cached(media_id) if media_id else None

    async def download(self, request: DownloadRequest) -> DownloadResult:
        job_id = request.job_id
        # Its own task, so that cancel(job_id) stops this request's work and no other's. A caller that
        # goes away does not stop it: a worker that died mid-download leaves the fetch running for the
        # worker that takes the task over, which waits for it on the per-video lock and finds it stored.
        # Callers that give up on purpose (stage time limit, deleted task) cancel by job id.
        work = asyncio.ensure_future(self._download(request))
        if job_id:
            self._running.setdefault(job_id, set()).add(work)
        work.add_done_callback(partial(self._finished, job_id))
        try:
            result = await asyncio.shield(work)
        except asyncio.CancelledError:
            if asyncio.current_task().cancelling():
                raise  # the request itself is being cancelled (caller gone): the work goes on
            self.progress.update(job_id, "failed")
            raise failure("download cancelled", 409, False) from None
        except BaseException:
            self.progress.update(job_id, "failed")
            raise
        self.progress.update(job_id, "done", result.filesize, result.filesize)
        return result

    def _finished(self, job_id: str | None, work: asyncio.Task) -> None:
        jobs = self._running.get(job_id, set()) if job_id else set()
        jobs.discard(work)
        if job_id and not jobs:
            self._running.pop(job_id, None)
        # Counted here, once per download whoever waited for it (successes where they happen: fetched or not).
        count_download_end(None if work.cancelled() else work.exception(), work.cancelled())

    async def cancel(self, job_id: str, wait_s: float = CANCEL_WAIT_S) -> bool:
        """Stop the downloads running for `job_id` (killing their fetch processes and removing their
        partial files) and wait for them to stop; False when none ran. A request that waits for one
        of them to fetch the same video is not stopped: it goes on and fetches the video itself."""
        jobs = set(self._running.get(job_id, ()))
        for job in jobs:
            job.cancel()
        if jobs:
            await asyncio.wait(jobs, timeout=wait_s)
        return bool(jobs)

    async def _download(self, request: DownloadRequest) -> DownloadResult:
        if request.url.strip().startswith(UPLOAD_SCHEME):
            done = self._uploaded(request.url.strip(), request.owner)
            DOWNLOADS.labels("upload").inc()
            return done
        url = checked_url(request.url, "download")
        proxy = checked_proxy(request.proxy, self.settings, "download")
        self.progress.update(request.job_id, "extracting")
        if (done := self._by_alias(url, proxy)) is not None:
            DOWNLOADS.labels("cached").inc()
            return done
        async with self._locks.hold(f"url:{url}"):  # the same URL asked twice at once is extracted once
            if (done := self._by_alias(url, proxy)) is not None:
                DOWNLOADS.labels("cached").inc()
                return done
            return await self._fetch(url, proxy, request.job_id)

    def _uploaded(self, url: str, owner: str) -> DownloadResult:
        """An upload, for the key that sent it only: to any other it is not there (the same answer)."""
        upload_id = url[len(UPLOAD_SCHEME) :].strip("/")
        record = self.store.load_record(upload_id)
        done = self.cached(upload_id) if record is not None and record.get("owner", "") == owner else None
        if done is None:
            raise failure(f"download failed: upload {upload_id[:64]} not found", 422, False)
        return done

    def _on_event(self, job_id: str | None) -> Callable[[dict], None]:
        def on_event(event: dict) -> None:
            if event.get("event") == "progress" and event.get("state") in ("extracting", "downloading"):
                self.progress.update(job_id, event["state"], event.get("downloaded_bytes"), event.get("total_bytes"))

        return on_event

    async def _fetch(self, url: str, proxy: str | None, job_id: str | None) -> DownloadResult:
        job_dir = self.store.new_work_dir()
        media_dir = job_dir / "media"
        media_dir.mkdir()
        job = {
            "url": url,
            "proxy": proxy,
            "out_dir": str(media_dir),
            **self.settings.egress_policy(),
            "max_bytes": self.settings.max_download_mb * 2**20,
            "max_duration_s": self.settings.max_duration_s,
            "max_height": self.settings.max_height,
            "socket_timeout": self.settings.socket_timeout_s,
        }
        on_event = self._on_event(job_id)
        try:
            async with DownloadChild(job, job_dir, self.settings.download_timeout_s) as child:
                key = await child.extract(on_event)
                media_id = media_id_for_key(key)
                # Busy from here on: the media may be stored already, or will be when this ends.
                with self.store.using(media_id):
                    # Two URLs of one video (or one URL asked twice at once) are downloaded once.
                    async with self._locks.hold(media_id):
                        if (done := self.cached(media_id)) is None:
                            info = await child.download(on_event)
                            self.progress.update(job_id, "processing")
                            done = await self._keep(media_id, key, url, info, media_dir)
                            DOWNLOADS.labels("downloaded").inc()
                            DOWNLOADED_BYTES.inc(done.filesize or 0)
                            log.info("downloaded media %s: %s bytes", media_id, done.filesize)
                        else:
                            DOWNLOADS.labels("cached").inc()
            self.store.set_alias(url, media_id, proxy)
            return done
        finally:
            shutil.rmtree(job_dir, ignore_errors=True)

    async def _keep(self, media_id: str, key: str, url: str, info: dict, media_dir: Path) -> DownloadResult:
        """Check the downloaded file against the policy and move it into the store."""
        video = Path(info["filepath"])
        if video.parent.resolve() != media_dir.resolve():
            raise failure("download failed: the video was written outside its directory", 502, True)
        try:
            facts = await self.decoder.probe(video, "probing the downloaded file")  # in a worker: it may be hostile
        except UnreadableMedia:
            raise failure(f"download failed: the file from {url} is not a readable video", 422, False) from None
        if not facts.has_video:
            raise failure(f"download failed: the file from {url} has no video stream (audio only)", 422, False)
        limits = Limits(self.settings.max_download_mb * 2**20, self.settings.max_duration_s, self.settings.max_height)
        # Generic downloads have no duration until the file is read: the limit applies here too.
        if refusal := duration_refusal(info.get("duration") or facts.duration, limits):
            raise failure(f"download failed: {refusal}", 422, False)
        download = build_result(media_id, url, info, facts, video.stat().st_size)
        stored = video.rename(media_dir / STORED_VIDEO)
        record = {
            "result": download.model_dump(mode="json"),
            "video_file": stored.name,
            "url": url,
            "media_key": key,
        }
        self.store.commit(media_id, media_dir, record)
        return download
