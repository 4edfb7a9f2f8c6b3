"""Download progress: the child process reports it as JSON lines on its stdout (`ProgressEvents`),
the service keeps the latest state per job id in memory (`ProgressBoard`) for
GET /downloads/{job_id}/progress."""

import json
import threading
import time
from collections import OrderedDict
from typing import IO

from service_common.contracts import DownloadProgress

FINISHED = ("done", "failed")


class ProgressEvents:
    """Child side: one JSON object per line; byte counts at most every `min_interval_s`."""

    def __init__(self, stream: IO[str], min_interval_s: float = 0.5):
        self.stream = stream
        self.min_interval_s = min_interval_s
        self._last_sent = 0.0

    def send(self, event: str, **fields) -> None:
        self.stream.write(json.dumps({"event": event, **fields}) + "\n")
        self.stream.flush()

    def downloading(self, downloaded: int | None, total: int | None, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_sent < self.min_interval_s:
            return
        self._last_sent = now
        self.send("progress", state="downloading", downloaded_bytes=downloaded, total_bytes=total)


def fraction(downloaded: int | None, total: int | None) -> float | None:
    if not downloaded or not total or total <= 0:
        return None
    return round(min(1.0, downloaded / total), 4)


class ProgressBoard:
    """Latest progress per job id. Bounded: at most `max_jobs`, oldest first out, and a finished
    job is forgotten `keep_s` after it finished (the caller has long read its result by then)."""

    def __init__(self, keep_s: float = 300.0, max_jobs: int = 1000):
        self.keep_s = keep_s
        self.max_jobs = max_jobs
        self._jobs: OrderedDict[str, tuple[DownloadProgress, float | None]] = OrderedDict()
        self._lock = threading.Lock()

    def update(
        self,
        job_id: str | None,
        state: str,
        downloaded_bytes: int | None = None,
        total_bytes: int | None = None,
    ) -> None:
        if not job_id:
            return
        with self._lock:
            previous = self._jobs.pop(job_id, (None, None))[0]
            if state in FINISHED and previous is not None and downloaded_bytes is None:
                # Keep the last byte counts: "done" after 10 MB still says 10 MB.
                downloaded_bytes, total_bytes = previous.downloaded_bytes, previous.total_bytes
            share = fraction(downloaded_bytes, total_bytes)
            if state == "done":
                share = 1.0
            progress = DownloadProgress(
                job_id=job_id,
                state=state,
                downloaded_bytes=downloaded_bytes,
                total_bytes=total_bytes,
                fraction=share,
            )
            finished_at = time.monotonic() if state in FINISHED else None
            self._jobs[job_id] = (progress, finished_at)
            self._prune()

    def get(self, job_id: str) -> DownloadProgress:
        with self._lock:
            self._prune()
            entry = self._jobs.get(job_id)
        return entry[0] if entry else DownloadProgress(job_id=job_id, state="unknown")

    def _prune(self) -> None:
        cutoff = time.monotonic() - self.keep_s
        for job_id in [j for j, (_, done) in self._jobs.items() if done is not None and done < cutoff]:
            del self._jobs[job_id]
        while len(self._jobs) > self.max_jobs:
            self._jobs.popitem(last=False)
