"""Calls to the media service: download, progress, frames, transcript, frame images, audio, clean-up."""

from datetime import UTC, datetime
from urllib.parse import quote

import httpx

from service_common.contracts import (
    DownloadProgress,
    DownloadRequest,
    DownloadResult,
    FramesRequest,
    FramesResult,
    TranscriptRequest,
    TranscriptResult,
)
from service_common.http import error_from_response, request_json, with_retries


class MediaClient:
    def __init__(self, client: httpx.AsyncClient, base_url: str):
        self._client = client
        self._base = base_url.rstrip("/")

    async def download(self, url: str, proxy: str | None, job_id: str, timeout_s: float,
                       owner: str = "") -> DownloadResult:
        body = DownloadRequest(url=url, proxy=proxy, job_id=job_id, owner=owner).model_dump()
        # Not retried here: a download is long, and the task is retried as a whole after a transient failure.
        response = await request_json(self._client, "POST", f"{self._base}/downloads", "download failed",
                                      json=body, timeout=timeout_s)
        return DownloadResult.model_validate(response.json())

    async def download_progress(self, job_id: str) -> DownloadProgress:
        response = await request_json(self._client, "GET", f"{self._base}/downloads/{job_id}/progress",
                                      "reading download progress failed", timeout=5)
        return DownloadProgress.model_validate(response.json())

    async def frames(self, media_id: str, request: FramesRequest, timeout_s: float) -> FramesResult:
        response = await with_retries(lambda: request_json(
            self._client, "POST", f"{self._base}/media/{media_id}/frames", "frame extraction failed",
            json=request.model_dump(), timeout=timeout_s))
        return FramesResult.model_validate(response.json())

    async def frame_image(self, media_id: str, index: int, frame_set: str | None = None,
                          request: FramesRequest | None = None) -> bytes:
        """One frame's JPEG, of the set with the id `frame_set`; frames extracted before sets had ids name
        theirs by the `request` that made it (or, before that, by nothing: the media's latest set)."""
        if frame_set is not None:
            url, params = f"{self._base}/media/{media_id}/frame-sets/{quote(frame_set, safe='')}/{index}.jpg", {}
        else:
            url = f"{self._base}/media/{media_id}/frames/{index}.jpg"
            params = {k: v for k, v in (request.model_dump() if request else {}).items() if v is not None}
        response = await with_retries(lambda: request_json(
            self._client, "GET", url, "reading a frame failed", params=params, timeout=60))
        return response.content

    async def transcript(self, media_id: str, request: TranscriptRequest, timeout_s: float) -> TranscriptResult:
        response = await with_retries(lambda: request_json(
            self._client, "POST", f"{self._base}/media/{media_id}/transcript", "transcript failed",
            json=request.model_dump(), timeout=timeout_s))
        return TranscriptResult.model_validate(response.json())

    async def audio_info(self, media_id: str) -> dict:
        response = await with_retries(lambda: request_json(
            self._client, "GET", f"{self._base}/media/{media_id}/audio/info", "reading the audio failed",
            timeout=60))
        return response.json()

    async def audio_window(self, media_id: str, start_s: float, duration_s: float) -> bytes:
        """16 kHz mono WAV of [start_s, start_s + duration_s)."""
        response = await with_retries(lambda: request_json(
            self._client, "GET", f"{self._base}/media/{media_id}/audio", "reading the audio failed",
            params={"start": f"{start_s:.3f}", "duration": f"{duration_s:.3f}"}, timeout=300))
        return response.content

    async def stored_media(self) -> dict:
        """{"total_bytes", "work_bytes", "media": [{"media_id", "bytes", "last_used_at", "busy"}]}."""
        response = await request_json(self._client, "GET", f"{self._base}/media", "listing media failed",
                                      timeout=60)
        return response.json()

    async def delete_media(self, media_id: str, unused_since: datetime | None = None) -> str:
        """"deleted" (or already gone); "busy": the media service is working on it, ask again later;
        "kept": it was used after `unused_since`."""
        if unused_since is not None and unused_since.tzinfo is None:
            unused_since = unused_since.replace(tzinfo=UTC)  # naive times here are UTC
        params = {"unused_since": unused_since.isoformat()} if unused_since else {}
        response = await self._client.request("DELETE", f"{self._base}/media/{media_id}", params=params,
                                              timeout=30)
        if response.status_code == 409:
            return "busy" if response.json().get("retryable") else "kept"
        if response.status_code not in (204, 404):
            raise error_from_response(response, "deleting media failed")
        return "deleted"

    async def cancel_download(self, job_id: str) -> None:
        """Stop the download started for `job_id`, if one is running, and drop its partial files."""
        await request_json(self._client, "DELETE", f"{self._base}/downloads/{job_id}", "cancelling a download failed",
                           timeout=30)
