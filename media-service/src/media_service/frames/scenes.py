"""Scene-aware choice of frames from keyframe signatures: pure functions, no decoding here.

Why scenes is the default strategy: a vision model sees at most `max_frames` images, and evenly
spaced ones waste that budget on whatever fills most of the running time (five minutes of one
slide gives five of eight frames, all alike) while a short but distinct part can fall between two
targets and never be seen. One frame per scene shows every distinct thing on screen, never the same
thing twice. It is affordable because encoders put keyframes at cuts and at least every few seconds,
so comparing cheap signatures (a hue/saturation/value histogram and a tiny grey thumbnail) of
consecutive keyframes finds the cuts; decoding only the keyframes of a whole file costs a small
fraction of decoding all of it.
"""

from dataclasses import dataclass

import cv2
import numpy as np

# Consecutive keyframes further apart than either threshold are in different scenes. The
# histogram catches changes of colour; the thumbnail catches a change of layout in the same colours
# (one slide to the next). Measured on generated sources: within one moving shot the values stay
# under ~0.15 and ~0.05, across cuts they are several times that.
CUT_HISTOGRAM = 0.30
CUT_THUMBNAIL = 0.10
# A slow change (a pan, a fade) never crosses the thresholds between two keyframes; compared with
# the scene's first keyframe it does, and starts a new scene there.
DRIFT_FACTOR = 1.5
# Frames closer than both are near-duplicates: one of them says all (a still slide or a paused
# screen, re-encoded). A moving test pattern differs by more than this from one second to the next.
DUPLICATE_HISTOGRAM = 0.08
DUPLICATE_THUMBNAIL = 0.01
# ...and barely a pixel of their small picture differs clearly. Title cards on one background that
# differ only in their words are alike in colours and on average, not in these pixels.
DETAIL_LEVELS = 48  # of 255: a difference no re-encoding of a still picture makes
DUPLICATE_DETAIL_SHARE = 0.01


@dataclass(frozen=True, eq=False)  # compared by identity: arrays have no single truth value
class Signature:
    histogram: np.ndarray  # H, S and V histograms, each summing to 1
    thumbnail: np.ndarray  # 16x9 grey, 0..1
    detail: np.ndarray | None = None  # the small picture itself in grey (e.g. 64x36), uint8


@dataclass(frozen=True, eq=False)
class Keyframe:
    time: float
    signature: Signature


@dataclass
class Scene:
    keyframes: list[Keyframe]
    start: float
    end: float
    cut: float = 0.0  # how different this scene is from the one before (0 for the first)

    @property
    def length(self) -> float:
        return self.end - self.start

    def representative(self) -> Keyframe:
        """The keyframe nearest the scene's middle: away from fades in and out at its ends."""
        middle = (self.start + self.end) / 2
        return min(self.keyframes, key=lambda k: abs(k.time - middle))


def signature(bgr: np.ndarray) -> Signature:
    """From a small BGR image (e.g. 64x36): cheap enough to compute for every keyframe."""
    hsv = cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV)
    parts = [
        cv2.calcHist([hsv], [0], None, [16], [0, 180]),
        cv2.calcHist([hsv], [1], None, [8], [0, 256]),
        cv2.calcHist([hsv], [2], None, [8], [0, 256]),
    ]
    histogram = np.concatenate([p.ravel() / max(p.sum(), 1.0) for p in parts]).astype(np.float32)
    detail = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    grey = cv2.resize(detail, (16, 9), interpolation=cv2.INTER_AREA)
    return Signature(histogram, grey.astype(np.float32) / 255.0, detail)


def distances(a: Signature, b: Signature) -> tuple[float, float]:
    """(histogram distance, thumbnail distance), both 0 (same) .. 1."""
    histogram = float(np.abs(a.histogram - b.histogram).sum()) / 6.0  # 3 histograms, each 0..2
    thumbnail = float(np.abs(a.thumbnail - b.thumbnail).mean())
    return histogram, thumbnail


def change(a: Signature, b: Signature) -> float:
    """How far apart two frames are, in units of the cut thresholds: > 1 is a cut."""
    histogram, thumbnail = distances(a, b)
    return max(histogram / CUT_HISTOGRAM, thumbnail / CUT_THUMBNAIL)


def near_duplicates(a: Signature, b: Signature) -> bool:
    histogram, thumbnail = distances(a, b)
    if histogram >= DUPLICATE_HISTOGRAM or thumbnail >= DUPLICATE_THUMBNAIL:
        return False
    if a.detail is None or b.detail is None or a.detail.shape != b.detail.shape:
        return True
    return bool(alike_in_detail(a.detail.reshape(1, -1), b.detail)[0])


def alike_in_detail(details: np.ndarray, detail: np.ndarray) -> np.ndarray:
    """For each row of `details` (small grey pictures, flattened), whether barely any of its pixels
    differs clearly from `detail`'s."""
    differing = np.abs(details.astype(np.int16) - detail.ravel().astype(np.int16)) > DETAIL_LEVELS
    return differing.mean(axis=1) < DUPLICATE_DETAIL_SHARE


def split_scenes(keyframes: list[Keyframe], duration: float) -> list[Scene]:
    """Consecutive keyframes grouped into scenes; a scene runs from its first keyframe to the next
    scene's (the first from 0, the last to the end), which is where the cut is known to lie."""
    scenes: list[Scene] = []
    for keyframe in keyframes:
        if scenes:
            current = scenes[-1]
            step = change(current.keyframes[-1].signature, keyframe.signature)
            drift = change(current.keyframes[0].signature, keyframe.signature) / DRIFT_FACTOR
            if max(step, drift) <= 1.0:
                current.keyframes.append(keyframe)
                continue
            current.end = keyframe.time
            scenes.append(Scene([keyframe], keyframe.time, duration, cut=max(step, drift)))
        else:
            scenes.append(Scene([keyframe], 0.0, duration))
    return scenes


def merge_to(scenes: list[Scene], count: int) -> list[Scene]:
    """At most `count` scenes, merging across the least important cuts: a weak cut between short
    scenes goes first, so the most distinct and longest scenes stay, spread over the whole video."""
    scenes = list(scenes)
    cuts = np.array([scene.cut for scene in scenes])
    starts = np.array([scene.start for scene in scenes])
    ends = np.array([scene.end for scene in scenes])
    while len(scenes) > max(count, 1):
        lengths = ends - starts
        i = int(np.argmin(cuts[1:] * np.sqrt(np.minimum(lengths[:-1], lengths[1:])))) + 1
        left, right = scenes[i - 1], scenes[i]
        scenes[i - 1 : i + 1] = [Scene(left.keyframes + right.keyframes, left.start, right.end, left.cut)]
        ends[i - 1] = ends[i]
        cuts, starts, ends = np.delete(cuts, i), np.delete(starts, i), np.delete(ends, i)
    return scenes


def choose(keyframes: list[Keyframe], duration: float, max_frames: int) -> tuple[list[Keyframe], int]:
    """Up to max_frames keyframes in time order, and the number of scenes found.

    One per scene (the scene's middle), dropping a scene that looks like one already chosen (the
    same slide shown again); when there are fewer scenes than max_frames, more frames come from
    inside the scenes, each as far in time from those chosen as possible, and only if it is not a
    near-duplicate of any of them.
    """
    scenes = split_scenes(keyframes, duration)
    pool = _Pool(keyframes)
    for scene in merge_to(scenes, max_frames):
        pool.take(scene.representative())
    while len(pool.chosen) < max_frames and pool.take_farthest():
        pass
    return sorted(pool.chosen, key=lambda k: k.time), len(scenes)


class _Pool:
    """Keyframes still worth choosing, with their distance in time to the nearest chosen one.

    Vectorised: a long video has thousands of keyframes and max_frames may be in the hundreds.
    """

    def __init__(self, keyframes: list[Keyframe]):
        self.keyframes = keyframes
        self.index = {id(k): i for i, k in enumerate(keyframes)}
        self.times = np.array([k.time for k in keyframes], np.float64)
        self.histograms = np.stack([k.signature.histogram for k in keyframes]) if keyframes else None
        self.thumbnails = np.stack([k.signature.thumbnail.ravel() for k in keyframes]) if keyframes else None
        shapes = {None if k.signature.detail is None else k.signature.detail.shape for k in keyframes}
        self.details = (np.stack([k.signature.detail.ravel() for k in keyframes])
                        if keyframes and len(shapes) == 1 and None not in shapes else None)
        self.available = np.ones(len(keyframes), bool)
        self.gap = np.full(len(keyframes), np.inf)
        self.chosen: list[Keyframe] = []

    def take(self, keyframe: Keyframe) -> bool:
        """Choose it unless it was chosen or looks like a chosen one; True if it was chosen."""
        i = self.index[id(keyframe)]
        if not self.available[i]:
            return False
        signature = keyframe.signature
        histogram = np.abs(self.histograms - signature.histogram).sum(axis=1) / 6.0
        thumbnail = np.abs(self.thumbnails - signature.thumbnail.ravel()).mean(axis=1)
        duplicates = (histogram < DUPLICATE_HISTOGRAM) & (thumbnail < DUPLICATE_THUMBNAIL)
        if self.details is not None:
            duplicates &= alike_in_detail(self.details, signature.detail)
        self.available &= ~duplicates
        self.available[i] = False
        self.gap = np.minimum(self.gap, np.abs(self.times - keyframe.time))
        self.chosen.append(keyframe)
        return True

    def take_farthest(self) -> bool:
        if not self.available.any():
            return False
        return self.take(self.keyframes[int(np.argmax(np.where(self.available, self.gap, -1.0)))])
