"""Pictures from decoded frames: as a player shows them (scaled, turned, square pixels) for a model
or a person, and as tiny thumbnails for comparing frames with each other."""

import av
import cv2
import numpy as np


def scaled_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """The size with the longest side at most max_side, keeping the aspect ratio; never larger."""
    scale = min(1.0, max_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def quarter_turns(frame: av.VideoFrame) -> int:
    """How many quarter turns counter-clockwise the frame is shown with (0-3).

    Phones store a portrait video as landscape pictures plus a display matrix that says "turn by 90
    degrees"; players apply it, and so must frames a model or a person looks at. Angles that are not
    quarter turns are rounded to the nearest one; a mirroring in the matrix is not applied.
    """
    try:
        angle = float(frame.rotation or 0)
    except (TypeError, ValueError):  # a display matrix PyAV cannot read
        return 0
    return round(angle / 90) % 4 if np.isfinite(angle) else 0


def pixel_aspect(sample_aspect_ratio) -> float:
    """Width over height of one stored pixel: 1 for nearly every video, 32/27 for a widescreen DVD.
    A ratio that is missing (0/1) or absurd counts as square pixels."""
    try:
        ratio = float(sample_aspect_ratio or 0)
    except (TypeError, ValueError, ZeroDivisionError):
        return 1.0
    return ratio if 0.25 <= ratio <= 4 else 1.0


def to_bgr(frame: av.VideoFrame, max_side: int, aspect: float = 1.0) -> np.ndarray:
    """The frame as a player shows it, as a BGR array for OpenCV: stretched to square pixels (`aspect`
    is a stored pixel's width over its height), turned as its display matrix says, and scaled down
    first so that a huge frame never exists in RGB."""
    width, height = scaled_size(max(1, round(frame.width * aspect)), frame.height, max_side)
    image = frame.reformat(width=width, height=height, format="bgr24", interpolation="AREA").to_ndarray()
    turns = quarter_turns(frame)
    return np.ascontiguousarray(np.rot90(image, turns)) if turns else image


def _plane(frame: av.VideoFrame, index: int, step: int) -> np.ndarray:
    plane = frame.planes[index]
    rows = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
    return rows[::step, : plane.width : step]


def thumbnail(frame: av.VideoFrame, width: int = 64, height: int = 36) -> np.ndarray:
    """A tiny BGR image for comparing frames; computed for every keyframe, so it must be cheap.

    For 8-bit 4:2:0 (nearly every video) the planes are scaled directly: every few pixels, then
    averaged, about twice as fast as a colour conversion at full size. Colours are approximate,
    which does not matter when frames are only compared with each other.
    """
    if frame.format.name in ("yuv420p", "yuvj420p"):
        step = max(1, frame.width // (width * 4))
        planes = [
            cv2.resize(_plane(frame, i, step), (width, height), interpolation=cv2.INTER_AREA) for i in range(3)
        ]
        return cv2.cvtColor(cv2.merge(planes), cv2.COLOR_YUV2BGR)
    return frame.reformat(width=width, height=height, format="bgr24", interpolation="AREA").to_ndarray()
