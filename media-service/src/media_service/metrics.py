"""The media service's Prometheus metrics (served at GET /metrics on its internal port)."""

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Counter, Histogram

from .errors import MediaError

# A decode or a transcript takes from a tenth of a second (a short clip) to minutes (hours of video).
WORK_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)

DOWNLOAD_OUTCOMES = ("downloaded", "cached", "upload", "refused", "failed", "cancelled")
DOWNLOADS = Counter("media_downloads", "Downloads asked for, by outcome: downloaded (fetched now), cached (the "
                    "store had the video), upload (an uploaded file), refused (a URL, proxy, size or duration the "
                    "policy refuses, or not a video), failed, cancelled", ["outcome"])
for _outcome in DOWNLOAD_OUTCOMES:
    DOWNLOADS.labels(_outcome)
DOWNLOADED_BYTES = Counter("media_downloaded_bytes", "Bytes of the videos fetched (as stored)")
FRAME_EXTRACTION_SECONDS = Histogram("media_frame_extraction_seconds", "Time to extract a frame set (sets served "
                                     "from the store are not counted), by strategy", ["strategy"],
                                     buckets=WORK_BUCKETS)
TRANSCRIPT_SECONDS = Histogram("media_transcript_seconds", "Time to look for a transcript (answers kept from an "
                               "earlier look are not counted), by where it came from (none: no link gave one)",
                               ["source"], buckets=WORK_BUCKETS)


def count_download_end(error: BaseException | None, cancelled: bool) -> None:
    """A download that did not end with a video: cancelled, refused (a 422: what asking again cannot change)
    or failed."""
    if cancelled:
        DOWNLOADS.labels("cancelled").inc()
    elif error is not None:
        DOWNLOADS.labels("refused" if isinstance(error, MediaError) and error.http_status == 422 else "failed").inc()


@contextmanager
def timed(histogram: Histogram, label: str) -> Iterator[None]:
    """Observe the block's time when it ends without an error."""
    started = time.monotonic()
    yield
    histogram.labels(label).observe(time.monotonic() - started)
