"""Frames of a media as the API serves them: each (strategy, max_frames, max_side) extracted once.

The choice of frames is in selection.py, the decoding in decoding.py.

MEDIA_DIR/<media_id>/frames-<strategy>-<max_frames>-<max_side>/   0.jpg, 1.jpg, ..., frames.json
MEDIA_DIR/<media_id>/frames.json   the set asked for last: what GET .../frames/{i}.jpg serves
"""

import json
import os
import shutil
import threading
from pathlib import Path

from service_common.contracts import DEFAULT_FRAME_STRATEGY, FramesRequest, FramesResult, FrameStrategy

from .decoding import UnreadableVideo
from .selection import MAX_FRAMES, extract_frames, probe_video
from .store import MediaStore, write_json_atomically

__all__ = ["UnreadableVideo", "frame_file", "frames_for", "probe_video"]

FRAME_SET = "frames.json"

# The same set asked for twice at once (a retried stage) is extracted once: the second waits.
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def set_name(strategy: FrameStrategy, max_frames: int, max_side: int) -> str:
    return f"frames-{strategy}-{max_frames}-{max_side}"


def _lock_for(key: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(key, threading.Lock())


def _load(directory: Path) -> FramesResult | None:
    try:
        return FramesResult(**json.loads((directory / FRAME_SET).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def frames_for(store: MediaStore, media_id: str, request: FramesRequest, default_max_side: int) -> FramesResult | None:
    """The frames for this request, extracted once; None when the media is unknown.

    Raises UnreadableVideo when the video gives no frames.
    """
    media_dir = store.media_dir(media_id)
    video = store.video_path(media_id)
    if media_dir is None or video is None:
        return None
    max_side = request.max_side or default_max_side
    max_frames = min(request.max_frames, MAX_FRAMES)
    name = set_name(request.strategy, max_frames, max_side)
    set_dir = media_dir / name
    with _lock_for(f"{media_id}/{name}"):
        result = _load(set_dir)
        if result is None:
            work_dir = store.new_work_dir()
            try:
                result = extract_frames(video, request.strategy, request.max_frames, max_side, work_dir)
                write_json_atomically(work_dir / FRAME_SET, result.model_dump(mode="json"))
                try:
                    os.rename(work_dir, set_dir)  # complete or absent, never half-written
                except OSError:
                    pass  # another process finished the same set first; both hold the same frames
            finally:
                shutil.rmtree(work_dir, ignore_errors=True)
    latest = {"dir": name, "strategy": request.strategy, "max_frames": max_frames, "max_side": max_side}
    write_json_atomically(media_dir / FRAME_SET, latest)
    return result


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
