"""HTTP routes of the media service (internal: the orchestrator calls them)."""

import asyncio
import contextlib
import hashlib
import json
import shutil
from collections.abc import Coroutine
from typing import Any, TypeVar

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse

from service_common.contracts import (
    DownloadRequest,
    DownloadResult,
    ErrorBody,
    FramesRequest,
    FramesResult,
    TranscriptRequest,
    TranscriptResult,
)
from service_common.errors import ServiceError

from .download import Downloader, checked_proxy, checked_url
from .frames import UnreadableVideo, frame_file, frames_for
from .store import MediaStore, write_json_atomically
from .transcripts import fetch_transcript
from .worker_client import failure

T = TypeVar("T")
DISCONNECT_POLL_S = 0.5

ERRORS = {
    422: {"model": ErrorBody},
    404: {"model": ErrorBody},
    502: {"model": ErrorBody},
    503: {"model": ErrorBody},
    504: {"model": ErrorBody},
}

router = APIRouter()


def not_found(media_id: str) -> Exception:
    return failure(f"media {media_id} not found", 404, False)


def _downloader(request: Request) -> Downloader:
    return request.app.state.downloader


def _store(request: Request) -> MediaStore:
    return request.app.state.store


async def unless_caller_leaves(request: Request, work: Coroutine[Any, Any, T]) -> T:
    """Run `work`, cancelling it (and so killing its fetch process) if the caller hangs up first:
    a caller that gave up (stage timeout, deleted task) must not leave a download running."""
    job = asyncio.ensure_future(work)
    while True:
        done, _ = await asyncio.wait({job}, timeout=DISCONNECT_POLL_S)
        if done:
            return job.result()
        if await request.is_disconnected():
            job.cancel()
            with contextlib.suppress(asyncio.CancelledError, ServiceError):
                await job
            raise failure("the caller went away before the fetch finished", 499, True)


@router.get("/health")
async def health() -> dict:
    return {"status": "ok"}


@router.post("/downloads", response_model=DownloadResult, responses=ERRORS)
async def create_download(body: DownloadRequest, request: Request) -> DownloadResult:
    return await unless_caller_leaves(request, _downloader(request).download(body))


@router.post("/media/{media_id}/frames", response_model=FramesResult, responses=ERRORS)
async def create_frames(media_id: str, body: FramesRequest, request: Request) -> FramesResult:
    store = _store(request)
    try:
        frames = await asyncio.to_thread(frames_for, store, media_id, body.max_frames)
    except UnreadableVideo:
        raise failure(f"frames failed: the video of {media_id} cannot be read", 422, False) from None
    if frames is None:
        raise not_found(media_id)
    return FramesResult(frames=frames)


@router.get(
    "/media/{media_id}/frames/{index}.jpg", responses={200: {"content": {"image/jpeg": {}}}, **ERRORS}
)
async def get_frame(media_id: str, index: int, request: Request) -> FileResponse:
    path = frame_file(_store(request), media_id, index)
    if path is None:
        raise failure(f"frame {index} of media {media_id} not found", 404, False)
    return FileResponse(path, media_type="image/jpeg")


@router.post("/media/{media_id}/transcript", response_model=TranscriptResult, responses=ERRORS)
async def create_transcript(media_id: str, body: TranscriptRequest, request: Request) -> TranscriptResult:
    checked_url(body.url, "transcript")
    proxy = checked_proxy(body.proxy, request.app.state.settings, "transcript")
    store = _store(request)
    # Cached beside the media when it exists; the transcript does not need the video file itself.
    media_dir = store.media_dir(media_id)
    key = hashlib.sha256(body.model_dump_json(exclude={"proxy"}).encode()).hexdigest()[:16]
    cache = media_dir / f"transcript-{key}.json" if media_dir else None
    if cache and cache.is_file():
        return TranscriptResult(**json.loads(cache.read_text(encoding="utf-8")))
    work_dir = store.new_work_dir()
    try:
        result = await unless_caller_leaves(
            request, fetch_transcript(body, proxy, request.app.state.settings, work_dir))
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    if cache and store.media_dir(media_id):
        write_json_atomically(cache, result.model_dump(mode="json"))
    return result


@router.delete("/media/{media_id}", status_code=204, responses=ERRORS)
async def delete_media(media_id: str, request: Request) -> Response:
    if not await asyncio.to_thread(_store(request).delete, media_id):
        raise not_found(media_id)
    return Response(status_code=204)
