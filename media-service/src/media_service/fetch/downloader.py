"""Download a video once: checked URL and proxy, extraction in the guarded child process, which
names the video (its media key: two URLs of one video are one download), the download unless the
store has it, a readable-video and duration check, then the finished directory renamed into the
store. Uploads (upload://<id>) are already in the store."""

import asyncio
import logging
from functools import partial
from pathlib import Path

from service_common.contracts import DownloadRequest, DownloadResult, upload_id

from ..config import MediaSettings
from ..decode.decoder import Decoder
from ..decode.probe import UnreadableMedia
from ..errors import MediaError
from ..keyed_locks import KeyedLocks
from ..metrics import DOWNLOADED_BYTES, DOWNLOADS, count_download_end
from ..store.media_store import STORED_VIDEO, MediaStore
from .download_child import DownloadChild, OnEvent
from .policy import Limits, media_id_for_key, stored_video_refusal
from .progress import ProgressBoard
from .results import build_result
from .urls import checked_proxy, checked_url

log = logging.getLogger(__name__)

CANCEL_WAIT_S = 10.0  # a cancelled download stops at once (its child is killed); this only bounds the wait


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
            raise MediaError("download cancelled", 409) from None
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
        if (uploaded := upload_id(request.url.strip())) is not None:
            done = self._uploaded(uploaded, request.owner)
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

    def _uploaded(self, media_id: str, owner: str) -> DownloadResult:
        """An upload, for the key that sent it only: to any other it is not there (the same answer)."""
        record = self.store.load_record(media_id)
        done = self.cached(media_id) if record is not None and record.get("owner", "") == owner else None
        if done is None:
            raise MediaError(f"download failed: upload {media_id[:64]} not found")
        return done

    def _on_event(self, job_id: str | None) -> OnEvent:
        def on_event(event: dict) -> None:
            if event.get("event") == "progress" and event.get("state") in ("extracting", "downloading"):
                self.progress.update(job_id, event["state"], event.get("downloaded_bytes"), event.get("total_bytes"))

        return on_event

    async def _fetch(self, url: str, proxy: str | None, job_id: str | None) -> DownloadResult:
        with self.store.scratch_dir() as job_dir:
            media_dir = job_dir / "media"
            media_dir.mkdir()
            job = {
                "url": url,
                "proxy": proxy,
                "out_dir": str(media_dir),
                **self.settings.egress_policy(),
                **Limits.from_settings(self.settings).as_job(),
                "socket_timeout": self.settings.socket_timeout_s,
            }
            return await self._extract_then_download(job, job_dir, media_dir, job_id)

    async def _extract_then_download(
        self, job: dict, job_dir: Path, media_dir: Path, job_id: str | None
    ) -> DownloadResult:
        url, proxy = job["url"], job["proxy"]
        on_event = self._on_event(job_id)
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

    async def _keep(self, media_id: str, key: str, url: str, info: dict, media_dir: Path) -> DownloadResult:
        """Check the downloaded file against the policy and move it into the store."""
        video = Path(info["filepath"])
        if video.parent.resolve() != media_dir.resolve():
            raise MediaError("download failed: the video was written outside its directory", 502, True)
        try:
            # In a decode process: the file may be hostile.
            facts = await self.decoder.probe(video, "probing the downloaded file")
        except UnreadableMedia:
            raise MediaError(f"download failed: the file from {url} is not a readable video") from None
        limits = Limits.from_settings(self.settings)
        shown = f"the file from {url}"
        if refusal := stored_video_refusal(facts.has_video, info.get("duration") or facts.duration, limits, shown):
            raise MediaError(f"download failed: {refusal}")
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
