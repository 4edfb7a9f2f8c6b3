"""HTTP routes of the media service (internal: the orchestrator calls them)."""

import asyncio
import contextlib
import hashlib
import json
import shutil
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from service_common.contracts import (
    DownloadProgress,
    DownloadRequest,
    DownloadResult,
    ErrorBody,
    FramesRequest,
    FramesResult,
    FrameStrategy,
    TranscriptRequest,
    TranscriptResult,
    UploadResult,
)
from service_common.errors import ServiceError

from .audio import MAX_WINDOW_S, NoAudio, StartPastEnd, WindowTooLong, audio_info
from .decode_jobs import Decoder
from .download import Downloader, checked_proxy, checked_url
from .frames import FrameSets, UnreadableVideo, frame_file
from .metrics import TRANSCRIPT_SECONDS
from .store import MediaStore, write_json_atomically
from .transcripts import fetch_transcript
from .uploads import receive_upload
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


def _decoder(request: Request) -> Decoder:
    return request.app.state.decoder


async def unless_caller_leaves(request: Request, work: Coroutine[Any, Any, T]) -> T:
    """Run `work`, cancelling it if the caller hangs up first: a caller that gave up must not leave
    work running (a decode child is killed then; a download shields its fetch from this, see
    create_download)."""
    job = asyncio.ensure_future(work)
    while True:
        done, _ = await asyncio.wait({job}, timeout=DISCONNECT_POLL_S)
        if done:
            return job.result()
        if await request.is_disconnected():
            job.cancel()
            with contextlib.suppress(asyncio.CancelledError, ServiceError):
                await job
            raise failure("the caller went away before the work finished", 499, True)


@router.get("/health")
async def health() -> dict:
    return {"status": "ok"}


@router.post("/downloads", response_model=DownloadResult, responses=ERRORS)
async def create_download(body: DownloadRequest, request: Request) -> DownloadResult:
    """A caller that hangs up stops waiting, not the fetch: the task's next worker picks it up (asking
    with the same job id). DELETE /downloads/{job_id} stops it."""
    return await unless_caller_leaves(request, _downloader(request).download(body))


@router.post("/media/{media_id}/frames", response_model=FramesResult, responses=ERRORS)
async def create_frames(media_id: str, body: FramesRequest, request: Request) -> FramesResult:
    frame_sets: FrameSets = request.app.state.frame_sets
    try:
        with _store(request).using(media_id):
            result = await unless_caller_leaves(request, frame_sets.frames_for(media_id, body))
    except UnreadableVideo as error:
        raise failure(f"frames failed: the video of {media_id} {error}", 422, False) from None
    if result is None:
        raise not_found(media_id)
    return result


@router.get(
    "/media/{media_id}/frames/{index}.jpg", responses={200: {"content": {"image/jpeg": {}}}, **ERRORS}
)
async def get_frame(
    media_id: str,
    index: int,
    request: Request,
    strategy: FrameStrategy | None = None,
    max_frames: int | None = Query(default=None, ge=1),
    max_side: int | None = Query(default=None, ge=64),
) -> Response:
    """A frame of the set the query names; what it leaves out is taken from the latest set asked for."""
    store = _store(request)
    # Read while counted as a use (a frame is small): a file streamed after the handler returned
    # could be deleted half-way.
    with store.using(media_id):
        path = frame_file(store, media_id, index, strategy, max_frames, max_side)
        image = await asyncio.to_thread(_read, path) if path else None
    if image is None:
        raise failure(f"frame {index} of media {media_id} not found", 404, False)
    return Response(image, media_type="image/jpeg")


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


@router.post("/media/{media_id}/transcript", response_model=TranscriptResult, responses=ERRORS)
async def create_transcript(media_id: str, body: TranscriptRequest, request: Request) -> TranscriptResult:
    checked_url(body.url, "transcript")
    proxy = checked_proxy(body.proxy, request.app.state.settings, "transcript")
    store = _store(request)
    with store.using(media_id):
        return await _transcript(media_id, body, proxy, request, store)


async def _transcript(
    media_id: str, body: TranscriptRequest, proxy: str | None, request: Request, store: MediaStore
) -> TranscriptResult:
    # Cached beside the media when it exists; without the media, the file's own subtitle tracks are skipped.
    media_dir = store.media_dir(media_id)
    key = hashlib.sha256(body.model_dump_json(exclude={"proxy"}).encode()).hexdigest()[:16]
    cache = media_dir / f"transcript-{key}.json" if media_dir else None
    if cache and cache.is_file():
        return TranscriptResult(**json.loads(cache.read_text(encoding="utf-8")))
    work_dir = store.new_work_dir()
    video_path = await asyncio.to_thread(store.video_path, media_id)
    started = time.monotonic()
    try:
        outcome = await unless_caller_leaves(
            request,
            fetch_transcript(body, proxy, request.app.state.settings, work_dir, video_path, _decoder(request)),
        )
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    TRANSCRIPT_SECONDS.labels(outcome.result.source or "none").observe(time.monotonic() - started)
    # A result that a blocked or unreachable link shaped is not kept: asking again (with a proxy) may do better.
    if cache and outcome.final and store.media_dir(media_id):
        write_json_atomically(cache, outcome.result.model_dump(mode="json"))
    return outcome.result


@router.get("/media/{media_id}/audio/info", responses=ERRORS)
async def get_audio_info(media_id: str, request: Request) -> dict:
    """Whether the video has sound to transcribe, and how long it is (seconds, when known)."""
    store = _store(request)
    with store.using(media_id):
        path = await asyncio.to_thread(store.video_path, media_id)
        if path is None:
            raise not_found(media_id)
        info = await asyncio.to_thread(audio_info, path)
    return {"has_audio": info.has_audio, "duration": info.duration}


@router.get("/media/{media_id}/audio", responses={200: {"content": {"audio/wav": {}}}, **ERRORS})
async def get_audio(
    media_id: str,
    request: Request,
    start: float = Query(0.0, ge=0, allow_inf_nan=False, description="seconds from the start"),
    duration: float | None = Query(
        None, gt=0, allow_inf_nan=False, description=f"seconds; default to the end, at most {MAX_WINDOW_S:g}"
    ),
) -> FileResponse:
    """A window of the video's sound as WAV, 16 kHz mono 16-bit PCM: what speech-to-text models take."""
    store = _store(request)
    work_dir = store.new_work_dir()
    out = work_dir / "audio.wav"
    try:
        # The window is cut into the work dir, so the media is free again once it is written.
        with store.using(media_id):
            path = await asyncio.to_thread(store.video_path, media_id)
            if path is None:
                raise not_found(media_id)
            if duration is not None and duration > MAX_WINDOW_S:
                raise failure(f"audio failed: duration is at most {MAX_WINDOW_S:g} s per request", 422, False)
            await unless_caller_leaves(request, _decoder(request).wav(path, out, start, duration))
    except (NoAudio, StartPastEnd, WindowTooLong) as exc:
        shutil.rmtree(work_dir, ignore_errors=True)
        raise failure(f"audio failed: {exc}", 422, False) from None
    except BaseException:
        shutil.rmtree(work_dir, ignore_errors=True)
        raise
    return FileResponse(out, media_type="audio/wav", background=BackgroundTask(shutil.rmtree, work_dir, True))


# A multipart body read as a stream (see uploads.py), described here for /docs.
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}


@router.post(
    "/uploads",
    response_model=UploadResult,
    responses={413: {"model": ErrorBody}, **ERRORS},
    openapi_extra=UPLOAD_BODY,
)
async def create_upload(request: Request) -> UploadResult:
    return await receive_upload(request, request.app.state.settings, _store(request))


@router.get("/downloads/{job_id}/progress", response_model=DownloadProgress)
async def get_download_progress(job_id: str, request: Request) -> DownloadProgress:
    """The latest progress of the download started with this job_id; state "unknown" if none."""
    return _downloader(request).progress.get(job_id)
