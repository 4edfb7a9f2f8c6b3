"""Which frames of a video the vision model sees, and how they are read.

Two strategies. `uniform`: the centres of `max_frames` equal slices, each served by the nearest
keyframe within reach of it (see `keyframe_reach`) that no other moment took; a moment with no
keyframe within reach is decoded exactly, one whose keyframes within reach are all taken gets no
frame. `scenes` (the default, see scenes.py for why): one frame per scene found among the
keyframes, near-duplicates dropped. Every frame reports its own presentation time, not the moment
that was asked for.
"""

import math
from dataclasses import dataclass
from pathlib import Path

import av
import cv2

from service_common.contracts import FrameRef, FramesResult, FrameStrategy

from .decoding import SAME_TIME_S, KeyPacket, UnreadableVideo, Video, open_video
from .pictures import thumbnail, to_bgr
from .scenes import Keyframe, Signature, choose, signature

JPEG_QUALITY = 90
# More frames than this say nothing more about a video and would only cost seeks and disk.
MAX_FRAMES = 256
# Scene detection needs keyframes at least this often (as a share of the video, per frame asked);
# with fewer (a screen recording with one keyframe) frames are decoded at evenly spaced moments.
SPARSE_SHARE = 4
# A video whose last decodable frame comes this long (or a slice) before its stated end is cut short.
DAMAGED_TAIL_S = 2.0
# How far from a uniform moment a keyframe may be and still show it, where that is more than half a
# slice: a twentieth of the running time, at most 5 s. Encoders put a keyframe at least every 10 s by
# default (x264: 250 frames at 25 fps), so on a long video every moment has one within reach; on a
# short one a few seconds would be far off, and its frames are cheap to decode exactly.
KEYFRAME_REACH_SHARE = 0.05
KEYFRAME_REACH_S = 5.0


@dataclass(eq=False)
class Picked:
    """A frame chosen or in the running, kept as its JPEG: a few hundred of them fit in memory."""

    time: float
    jpeg: bytes
    width: int
    height: int
    signature: Signature


def _picked(video: Video, time: float, frame: av.VideoFrame, max_side: int) -> Picked:
    image = to_bgr(frame, max_side, video.pixel_aspect)
    ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise UnreadableVideo("gave a frame that cannot be saved as JPEG")
    height, width = image.shape[:2]
    return Picked(time, jpeg.tobytes(), width, height, signature(thumbnail(frame)))


def probe_video(path: Path) -> float | None:
    """The duration in seconds if a frame of the file decodes; raises UnreadableVideo if not."""
    with open_video(path) as video:
        try:
            first = video.keyframe_at_or_before(0.0)
            duration = video.duration()
        except av.FFmpegError:
            first = None
        if first is None:
            raise UnreadableVideo("has no frame that can be decoded")
        if duration and duration > 0 and math.isfinite(duration):
            return round(duration, 3)
        return None


def _known_duration(video: Video) -> float:
    duration = video.duration()
    if not duration or duration <= 0 or not math.isfinite(duration):
        raise UnreadableVideo("has no frames with timestamps")
    return duration


def uniform_targets(duration: float, max_frames: int) -> list[float]:
    """Centres of `max_frames` equal slices of the video: never the black first frame or the very end."""
    return [(i + 0.5) * duration / max_frames for i in range(max_frames)]


def keyframe_reach(duration: float, max_frames: int) -> float:
    """How far from a uniform moment a keyframe may be and still show it."""
    return max(duration / max_frames / 2, min(KEYFRAME_REACH_S, duration * KEYFRAME_REACH_SHARE))


def _exact(video: Video, plan: list[tuple[float, float]], max_side: int) -> list[Picked]:
    return [_picked(video, time, frame, max_side) for _, time, frame in video.exact_frames(plan)]


def _nearest_free(video: Video, target: float, near: list[KeyPacket], taken: set[float]
                  ) -> tuple[float, av.VideoFrame] | None:
    """The nearest keyframe of `near` that no other moment took and that decodes, or None."""
    for keyframe in sorted(near, key=lambda k: abs(k.time - target)):  # a tie: the earlier one
        if keyframe.time not in taken:
            found = video.decode_keyframe(keyframe)
            if found is not None:
                taken.add(keyframe.time)
                return found
    return None


def uniform_frames(video: Video, duration: float, max_frames: int, max_side: int) -> tuple[list[Picked], int]:
    """The frames in time order, and how many moments got none because every keyframe within reach of
    them shows another moment (keyframes sparser than the moments: more frames would mean decoding
    most of the video)."""
    reach = keyframe_reach(duration, max_frames)
    picked: list[Picked] = []
    plan: list[tuple[float, float]] = []  # (target, keyframe before it) to decode exactly
    taken: set[float] = set()
    crowded = 0
    keyframe_before = 0.0
    for target in uniform_targets(duration, max_frames):
        before, after = video.keyframes_around(target, reach)
        keyframe_before = before.time if before is not None else keyframe_before
        near = [k for k in (before, after) if k is not None and abs(k.time - target) <= reach + SAME_TIME_S]
        if near and all(k.time in taken for k in near):
            crowded += 1
        elif (found := _nearest_free(video, target, near, taken)) is not None:
            picked.append(_picked(video, found[0], found[1], max_side))
        else:
            # No keyframe within reach (sparse here, as in a screen recording; or nothing readable, as
            # in a truncated file) or none that shows a picture alone: decode forward from the
            # keyframe before to the target itself.
            plan.append((target, keyframe_before))
    picked += _exact(video, plan, max_side)
    return sorted(picked, key=lambda p: p.time), crowded


def _sparse(keyframes: list[Keyframe], duration: float, max_frames: int) -> bool:
    if not keyframes:
        return True
    times = [k.time for k in keyframes]
    gaps = [b - a for a, b in zip([0.0, *times], [*times, duration], strict=True)]
    return max(gaps) > duration / max(2, min(max_frames, SPARSE_SHARE))


def scene_frames(video: Video, duration: float, max_frames: int, max_side: int) -> tuple[list[Picked], str]:
    keyframes = [Keyframe(time, signature(thumbnail(frame))) for time, frame in video.keyframes()]
    if _sparse(keyframes, duration, max_frames):
        # Too few keyframes to tell scenes apart: candidates at evenly spaced moments, decoded
        # exactly, then the same choice among them (near-duplicates still dropped).
        before = [k.time for k in keyframes]
        plan = [
            (t, max((k for k in before if k <= t), default=0.0)) for t in uniform_targets(duration, max_frames)
        ]
        candidates = sorted(_exact(video, plan, max_side), key=lambda p: p.time)
        by_time = {p.time: p for p in candidates}
        chosen, scenes = choose([Keyframe(p.time, p.signature) for p in by_time.values()], duration, max_frames)
        note = "keyframes too sparse to find scenes: frames taken at evenly spaced moments"
        return [by_time[k.time] for k in chosen], note
    chosen, scenes = choose(keyframes, duration, max_frames)
    picked = []
    for keyframe in chosen:
        found = video.keyframe_at_or_before(keyframe.time)
        if found is not None:
            picked.append(_picked(video, found[0], found[1], max_side))
    note = f"{scenes} scene{'s' if scenes != 1 else ''} found"
    return picked, note


def _shortfall(strategy: FrameStrategy, duration: float, max_frames: int, picked: list[Picked], crowded: int) -> str:
    """Why fewer frames than `max_frames` came out."""
    if strategy == "scenes":
        return "the others would repeat what these show"
    last = picked[-1].time
    # The moments past the last frame that decodes got that frame (as the end of a video does), and a
    # keyframe shows a moment from as far as its reach: only a last frame further back says damage.
    if duration - last > max(duration / max_frames / 2 + keyframe_reach(duration, max_frames), DAMAGED_TAIL_S):
        return f"no frame after {last:.1f} s of {duration:.1f} s can be decoded (damaged or cut short?)"
    if len(picked) + crowded < max_frames:
        return "part of the video cannot be decoded (damaged or cut short?)"
    if crowded:
        return ("keyframes are further apart than the frames asked for: one frame per keyframe, as more "
                "would mean decoding most of the video")
    return "the video is too short for more distinct frames"


def extract_frames(
    path: Path, strategy: FrameStrategy, max_frames: int, max_side: int, out_dir: Path
) -> FramesResult:
    """Write 0.jpg, 1.jpg, ... (in time order) into out_dir; raises UnreadableVideo."""
    notes = []
    if max_frames > MAX_FRAMES:
        notes.append(f"at most {MAX_FRAMES} frames are taken")
        max_frames = MAX_FRAMES
    crowded = 0
    with open_video(path) as video:
        try:
            duration = _known_duration(video)
            if strategy == "uniform":
                picked, crowded = uniform_frames(video, duration, max_frames, max_side)
            else:
                picked, note = scene_frames(video, duration, max_frames, max_side)
                notes.append(note)
        except av.FFmpegError:
            raise UnreadableVideo("could not be decoded") from None
    frames: list[FrameRef] = []
    for item in picked:
        if frames and item.time <= frames[-1].timestamp:
            continue  # two moments shown by the same frame (a very short video)
        index = len(frames)
        (out_dir / f"{index}.jpg").write_bytes(item.jpeg)
        frames.append(FrameRef(index=index, timestamp=round(item.time, 3), width=item.width, height=item.height))
    if not frames:
        raise UnreadableVideo("has no frame that can be decoded")
    if len(frames) < max_frames:
        why = _shortfall(strategy, duration, max_frames, picked, crowded)
        notes.append(f"{len(frames)} of {max_frames} frames: {why}")
    return FramesResult(frames=frames, strategy=strategy, note="; ".join(notes) or None)
