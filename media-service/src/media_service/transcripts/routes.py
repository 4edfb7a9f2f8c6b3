"""Routes for a video's words and sound: the transcript chain's answer (kept beside the media), and
windows of the audio for speech-to-text."""

import asyncio
import hashlib
import json
import shutil
import time

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from service_common.contracts import TranscriptRequest, TranscriptResult

from ..atomic_files import write_json_atomically
from ..deps import Decoding, Settings, Store
from ..errors import MediaError, media_not_found
from ..fetch.urls import checked_proxy, checked_url
from ..metrics import TRANSCRIPT_SECONDS
from ..routing import ERRORS, unless_caller_leaves
from .audio import MAX_WINDOW_S, NoAudio, StartPastEnd, WindowTooLong, audio_info
from .chain import fetch_transcript

router = APIRouter()


@router.post("/media/{media_id}/transcript", response_model=TranscriptResult, responses=ERRORS)
async def create_transcript(
    media_id: str, body: TranscriptRequest, request: Request, settings: Settings, store: Store, decoder: Decoding
) -> TranscriptResult:
    checked_url(body.url, "transcript")
    proxy = checked_proxy(body.proxy, settings, "transcript")
    with store.using(media_id):
        # Cached beside the media when it exists; without the media, the file's own subtitle tracks are skipped.
        media_dir = store.media_dir(media_id)
        key = hashlib.sha256(body.model_dump_json(exclude={"proxy"}).encode()).hexdigest()[:16]
        cache = media_dir / f"transcript-{key}.json" if media_dir else None
        if cache and cache.is_file():
            return TranscriptResult(**json.loads(cache.read_text(encoding="utf-8")))
        video_path = await asyncio.to_thread(store.video_path, media_id)
        started = time.monotonic()
        with store.scratch_dir() as work_dir:
            outcome = await unless_caller_leaves(
                request, fetch_transcript(body, proxy, settings, work_dir, video_path, decoder)
            )
        TRANSCRIPT_SECONDS.labels(outcome.result.source or "none").observe(time.monotonic() - started)
        # A result that a blocked or unreachable link shaped is not kept: asking again (with a proxy) may do better.
        if cache and outcome.final and store.media_dir(media_id):
            write_json_atomically(cache, outcome.result.model_dump(mode="json"))
        return outcome.result


@router.get("/media/{media_id}/audio/info", responses=ERRORS)
async def get_audio_info(media_id: str, store: Store) -> dict:
    """Whether the video has sound to transcribe, and how long it is (seconds, when known)."""
    with store.using(media_id):
        path = await asyncio.to_thread(store.video_path, media_id)
        if path is None:
            raise media_not_found(media_id)
        info = await asyncio.to_thread(audio_info, path)
    return {"has_audio": info.has_audio, "duration": info.duration}


@router.get("/media/{media_id}/audio", responses={200: {"content": {"audio/wav": {}}}, **ERRORS})
async def get_audio(
    media_id: str,
    request: Request,
    store: Store,
    decoder: Decoding,
    start: float = Query(0.0, ge=0, allow_inf_nan=False, description="seconds from the start"),
    duration: float | None = Query(
        None, gt=0, allow_inf_nan=False, description=f"seconds; default to the end, at most {MAX_WINDOW_S:g}"
    ),
) -> FileResponse:
    """A window of the video's sound as WAV, 16 kHz mono 16-bit PCM: what speech-to-text models take."""
    work_dir = store.new_work_dir()
    out = work_dir / "audio.wav"
    try:
        # The window is cut into the work dir, so the media is free again once it is written.
        with store.using(media_id):
            path = await asyncio.to_thread(store.video_path, media_id)
            if path is None:
                raise media_not_found(media_id)
            if duration is not None and duration > MAX_WINDOW_S:
                raise MediaError(f"audio failed: duration is at most {MAX_WINDOW_S:g} s per request")
            await unless_caller_leaves(request, decoder.wav(path, out, start, duration))
    except (NoAudio, StartPastEnd, WindowTooLong) as exc:
        shutil.rmtree(work_dir, ignore_errors=True)
        raise MediaError(f"audio failed: {exc}") from None
    except BaseException:
        shutil.rmtree(work_dir, ignore_errors=True)
        raise
    # Removed once the file has been sent.
    return FileResponse(out, media_type="audio/wav", background=BackgroundTask(shutil.rmtree, work_dir, True))
