"""Frames at evenly spread moments of a video, read with OpenCV and saved as JPEG."""

import json
import math
import os
import shutil
from pathlib import Path

import cv2

from service_common.contracts import FrameRef

from .store import MediaStore, write_json_atomically

JPEG_QUALITY = 90
# More frames than this say nothing more about a video and would only cost seeks and disk.
MAX_FRAMES = 256


class UnreadableVideo(Exception):
    pass


def probe_video(path: Path) -> float | None:
    """The duration in seconds if OpenCV can read a frame of the file; raises UnreadableVideo if not."""
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise UnreadableVideo(str(path))
        ok, frame = capture.read()
        if not ok or frame is None:
            raise UnreadableVideo(str(path))
        count = capture.get(cv2.CAP_PROP_FRAME_COUNT)
        fps = capture.get(cv2.CAP_PROP_FPS)
        if count > 0 and fps > 0 and math.isfinite(count / fps):
            return round(count / fps, 3)
        return None
    finally:
        capture.release()


def target_times(duration: float, max_frames: int) -> list[float]:
    """Centres of `max_frames` equal slices of the video: never the black first frame or the very end."""
    return [(i + 0.5) * duration / max_frames for i in range(max_frames)]


def extract_frames(path: Path, duration: float | None, max_frames: int, out_dir: Path) -> list[FrameRef]:
    """Write 0.jpg, 1.jpg, ... into out_dir; each FrameRef has the timestamp of the frame it shows.

    Fewer frames than asked come back when the video has fewer distinct frames than that.
    """
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise UnreadableVideo(str(path))
    try:
        if not duration or duration <= 0:
            duration = _measured_duration(capture)
        frames: list[FrameRef] = []
        last_ms = -1.0
        for target in target_times(duration, max_frames):
            capture.set(cv2.CAP_PROP_POS_MSEC, target * 1000)
            ok, image = capture.read()
            if not ok or image is None:
                continue
            # After read() the position is the timestamp of the frame just decoded.
            shown_ms = capture.get(cv2.CAP_PROP_POS_MSEC)
            if shown_ms <= last_ms:
                continue  # the seek landed on a frame already taken (very short videos)
            last_ms = shown_ms
            index = len(frames)
            if not cv2.imwrite(
                str(out_dir / f"{index}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
            ):
                raise OSError(f"cannot write frame {index} to {out_dir}")
            height, width = image.shape[:2]
            frames.append(
                FrameRef(index=index, timestamp=round(shown_ms / 1000, 3), width=width, height=height)
            )
        if not frames:
            raise UnreadableVideo(str(path))
        return frames
    finally:
        capture.release()


def _measured_duration(capture: cv2.VideoCapture) -> float:
    count = capture.get(cv2.CAP_PROP_FRAME_COUNT)
    fps = capture.get(cv2.CAP_PROP_FPS)
    if count > 0 and fps > 0:
        return count / fps
    # No usable header: decode to the end once and take the last frame's timestamp.
    last_ms = 0.0
    while capture.grab():
        last_ms = capture.get(cv2.CAP_PROP_POS_MSEC)
    capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
    return max(last_ms / 1000, 0.001)


FRAME_SET = "frames.json"


def _load_frame_set(directory: Path) -> list[FrameRef] | None:
    try:
        data = json.loads((directory / FRAME_SET).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return [FrameRef(**frame) for frame in data["frames"]]


def frames_for(store: MediaStore, media_id: str, max_frames: int) -> list[FrameRef] | None:
    """The frames for this request, extracted once; None when the media is unknown.

    The last set asked for is the one that GET .../frames/{index}.jpg serves.
    """
    media_dir = store.media_dir(media_id)
    video = store.video_path(media_id)
    if media_dir is None or video is None:
        return None
    max_frames = min(max_frames, MAX_FRAMES)
    set_dir = media_dir / f"frames-{max_frames}"
    frames = _load_frame_set(set_dir)
    if frames is None:
        work_dir = store.new_work_dir()
        try:
            duration = (
                (store.load_record(media_id) or {}).get("result", {}).get("video_info", {}).get("duration")
            )
            frames = extract_frames(video, duration, max_frames, work_dir)
            write_json_atomically(work_dir / FRAME_SET, {"frames": [f.model_dump() for f in frames]})
            try:
                os.rename(work_dir, set_dir)
            except OSError:
                pass  # another request finished the same set first; both are the same frames
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)
    write_json_atomically(media_dir / FRAME_SET, {"dir": set_dir.name})
    return frames


def frame_file(store: MediaStore, media_id: str, index: int) -> Path | None:
    media_dir = store.media_dir(media_id)
    if media_dir is None or index < 0:
        return None
    try:
        set_name = json.loads((media_dir / FRAME_SET).read_text(encoding="utf-8"))["dir"]
    except (OSError, ValueError, KeyError):
        return None
    path = media_dir / set_name / f"{index}.jpg"
    return path if path.is_file() else None
