"""Frames of a media as the API serves them: each (strategy, max_frames, max_side) extracted once.

The choice of frames is in selection.py, the decoding in decoding.py; both run in a decode process
(decode/decoder.py).

MEDIA_DIR/<media_id>/frames-<strategy>-<max_frames>-<max_side>/   0.jpg, 1.jpg, ..., frames.json
MEDIA_DIR/<media_id>/frames.json   the set asked for last: what GET .../frames/{i}.jpg serves when the
                                   caller names no set (callers that keep the set's id never need it)

A set's id is its folder's name: the frames call returns it, and the set's JPEGs are asked for by it, so
that a task reads the set it extracted whatever other tasks of the same video asked for since.
"""

import asyncio
import json
import re
from pathlib import Path

from service_common.contracts import DEFAULT_FRAME_STRATEGY, FramesRequest, FramesResult, FrameStrategy

from ..atomic_files import move_into_place, write_json_atomically
from ..decode.decoder import Decoder
from ..keyed_locks import KeyedLocks
from ..metrics import FRAME_EXTRACTION_SECONDS, timed
from ..store.media_store import MediaStore
from .selection import MAX_FRAMES

FRAME_SET = "frames.json"
SET_ID = re.compile(r"frames-[a-z_]+-[0-9]{1,4}-[0-9]{2,5}")


def set_name(strategy: FrameStrategy, max_frames: int, max_side: int) -> str:
    return f"frames-{strategy}-{max_frames}-{max_side}"


def _load(directory: Path) -> FramesResult | None:
    try:
        return FramesResult(**json.loads((directory / FRAME_SET).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


class FrameSets:
    """Extracts each frame set once: the same set asked for twice at once (a retried stage) waits
    for the first, or does the work itself when the first was cancelled."""

    def __init__(self, store: MediaStore, decoder: Decoder, default_max_side: int):
        self.store = store
        self.decoder = decoder
        self.default_max_side = default_max_side
        self._locks = KeyedLocks()

    async def frames_for(self, media_id: str, request: FramesRequest) -> FramesResult | None:
        """The frames for this request, extracted once; None when the media is unknown.

        Raises UnreadableVideo when the video gives no frames, a MediaError when decoding it
        reaches a limit.
        """
        store = self.store
        media_dir = store.media_dir(media_id)
        video = await asyncio.to_thread(store.video_path, media_id)
        if media_dir is None or video is None:
            return None
        max_side = request.max_side or self.default_max_side
        max_frames = min(request.max_frames, MAX_FRAMES)
        name = set_name(request.strategy, max_frames, max_side)
        set_dir = media_dir / name
        async with self._locks.hold(f"{media_id}/{name}"):
            result = await asyncio.to_thread(_load, set_dir)
            if result is None:
                result = await self._extract(video, request.strategy, max_frames, max_side, set_dir)
        latest = {"dir": name, "strategy": request.strategy, "max_frames": max_frames, "max_side": max_side}
        write_json_atomically(media_dir / FRAME_SET, latest)
        return result.model_copy(update={"frame_set": name})

    async def _extract(self, video: Path, strategy: FrameStrategy, max_frames: int, max_side: int,
                       set_dir: Path) -> FramesResult:
        with self.store.scratch_dir() as work_dir:
            with timed(FRAME_EXTRACTION_SECONDS, strategy):
                result = await self.decoder.frames(video, strategy, max_frames, max_side, work_dir)
            write_json_atomically(work_dir / FRAME_SET, result.model_dump(mode="json"))
            # Complete or absent, never half-written; a set another process finished first holds the same frames.
            move_into_place(work_dir, set_dir, FRAME_SET)
        return result


def frame_in_set(store: MediaStore, media_id: str, frame_set: str, index: int) -> Path | None:
    """A frame of the set with this id (as the frames call returned it); None for any other name."""
    media_dir = store.media_dir(media_id)
    if media_dir is None or index < 0 or not SET_ID.fullmatch(frame_set):
        return None
    path = media_dir / frame_set / f"{index}.jpg"
    return path if path.is_file() else None


def frame_file(
    store: MediaStore,
    media_id: str,
    index: int,
    strategy: FrameStrategy | None = None,
    max_frames: int | None = None,
    max_side: int | None = None,
) -> Path | None:
    """A frame of the set named by the arguments; what is not named is taken from the latest set."""
    media_dir = store.media_dir(media_id)
    if media_dir is None or index < 0:
        return None
    try:
        latest = json.loads((media_dir / FRAME_SET).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        latest = {}
    if strategy is None and max_frames is None and max_side is None:
        name = latest.get("dir")
    else:
        strategy = strategy or latest.get("strategy") or DEFAULT_FRAME_STRATEGY
        max_frames = min(max_frames or latest.get("max_frames") or 0, MAX_FRAMES)
        max_side = max_side or latest.get("max_side")
        name = set_name(strategy, max_frames, max_side) if max_frames and max_side else None
    if not isinstance(name, str) or not name.startswith("frames-") or "/" in name:
        return None
    path = media_dir / name / f"{index}.jpg"
    return path if path.is_file() else None
