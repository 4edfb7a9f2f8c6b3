"""Calls to the media service: download, frames, transcript, frame images."""

import httpx

from service_common.contracts import (
    DownloadRequest,
    DownloadResult,
    FramesRequest,
    FramesResult,
    SubtitleTrack,
    TranscriptRequest,
    TranscriptResult,
)
from service_common.http import request_json, with_retries


class MediaClient:
    def __init__(self, client: httpx.AsyncClient, base_url: str):
        self._client = client
        self._base = base_url.rstrip("/")

    async def download(self, url: str, proxy: str | None, timeout_s: float) -> DownloadResult:
        body = DownloadRequest(url=url, proxy=proxy).model_dump()
        # Not retried here: a download is long, and the task is retried as a whole after a transient failure.
        response = await request_json(self._client, "POST", f"{self._base}/downloads", "download failed",
                                      json=body, timeout=timeout_s)
        return DownloadResult.model_validate(response.json())

    async def frames(self, media_id: str, max_frames: int, timeout_s: float) -> FramesResult:
        body = FramesRequest(max_frames=max_frames).model_dump()
        response = await with_retries(lambda: request_json(
            self._client, "POST", f"{self._base}/media/{media_id}/frames", "frame extraction failed",
            json=body, timeout=timeout_s))
        return FramesResult.model_validate(response.json())

    async def frame_image(self, media_id: str, index: int) -> bytes:
        response = await with_retries(lambda: request_json(
            self._client, "GET", f"{self._base}/media/{media_id}/frames/{index}.jpg", "reading a frame failed",
            timeout=60))
        return response.content

    async def transcript(self, media_id: str, url: str, proxy: str | None,
                         subtitles: list[SubtitleTrack], timeout_s: float) -> TranscriptResult:
        body = TranscriptRequest(url=url, proxy=proxy, subtitles=subtitles).model_dump()
        response = await with_retries(lambda: request_json(
            self._client, "POST", f"{self._base}/media/{media_id}/transcript", "transcript failed",
            json=body, timeout=timeout_s))
        return TranscriptResult.model_validate(response.json())
