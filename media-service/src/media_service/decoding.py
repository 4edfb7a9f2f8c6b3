"""Reading chosen frames of a video with PyAV, without decoding the whole file.

Decoding every frame of a 10-min 720p video takes tens of seconds; decoding only its keyframes
takes about a second and a half, and one keyframe after a seek a few tens of milliseconds. So
frames are served by keyframes wherever that is close enough, and exact decoding (forward from the
keyframe before a moment up to it) is the exception. PyAV rather than OpenCV: OpenCV's seeking is
approximate on some containers and does not say which frame it landed on.
"""

import itertools
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from .containers import NotMediaFile, format_name, open_media
from .decode_budget import charge

# A decoded frame is width*height*1.5 bytes before any scaling; above this a file is refused
# rather than risking the service's memory (16384x16384 is ~400 MB per frame).
MAX_PIXELS = 16384 * 16384
# Two times closer than this are one moment (times of the same frame computed twice).
SAME_TIME_S = 1e-6
# How far before a moment a seek goes when one to the moment itself lands after it (None: the start).
SEEK_BACK_S = (0.0, 1.0, 4.0, 16.0, 64.0, None)
# Frame threading keeps one decoded frame per thread; for huge frames that multiplies memory.
FRAME_THREADS_MAX_PIXELS = 3840 * 2160


class UnreadableVideo(Exception):
    """The file cannot give frames; the message says why in a few words, for an API error."""


class NoVideoStream(UnreadableVideo):
    pass


@dataclass(frozen=True)
class Clock:
    """Converts between seconds from the start of the video and the stream's own timestamps."""

    start: float  # the stream's first timestamp, in seconds (not 0 in e.g. MPEG-TS)
    time_base: float

    def pts(self, seconds: float) -> int:
        return round((seconds + self.start) / self.time_base)  # round: a keyframe's own time maps back to it

    def seconds(self, frame: av.VideoFrame) -> float | None:
        return None if frame.pts is None else frame.pts * self.time_base - self.start


class Video:
    """One open video stream; frame times are seconds from the start of the video."""

    def __init__(self, container: av.container.InputContainer, path: Path):
        self.container = container
        self.path = path
        self._exact: tuple[av.container.InputContainer, av.video.stream.VideoStream] | None = None
        self._exact_opened = ExitStack()
        # FFmpeg's choice, as players make it: a cover picture stored as a one-frame video track, or a
        # second angle, is not the video, whichever comes first in the file.
        stream = container.streams.best("video")
        if stream is None:
            raise NoVideoStream("has no video stream")
        self.stream = stream
        context = self.stream.codec_context
        width, height = context.width, context.height
        if width <= 0 or height <= 0:
            raise UnreadableVideo("has a video stream without a frame size")
        if width * height > MAX_PIXELS:
            raise UnreadableVideo(f"has frames too large to decode ({width}x{height})")
        if width * height <= FRAME_THREADS_MAX_PIXELS:
            context.thread_type = "AUTO"
        time_base = self.stream.time_base
        if not time_base:
            raise UnreadableVideo("has a video stream without timestamps")
        start = self.stream.start_time * time_base if self.stream.start_time is not None else 0
        self.clock = Clock(float(start), float(time_base))
        self.width, self.height = width, height
        self.pixel_aspect = pixel_aspect(context.sample_aspect_ratio or self.stream.sample_aspect_ratio)

    def duration(self) -> float | None:
        if self.stream.duration:
            return float(self.stream.duration * self.stream.time_base)
        if self.container.duration:  # WebM and MKV often only give the container's
            return self.container.duration / av.time_base - self.clock.start
        return self._scanned_duration()

    def _scanned_duration(self) -> float | None:
        # Reading packets without decoding is cheap (~0.15 s for 10 min of 720p).
        end = None
        try:
            for packet in self.container.demux(self.stream):
                if packet.pts is not None:
                    last = (packet.pts + (packet.duration or 0)) * self.clock.time_base - self.clock.start
                    end = last if end is None else max(end, last)
        except av.FFmpegError:
            pass  # a damaged tail: the readable part decides
        self._rewind()
        return end

    def _rewind(self) -> None:
        self._seek(self.container, self.stream, None)

    def _seek(self, container, stream, seconds: float | None) -> bool:
        """Seek to a keyframe at or before `seconds`, or to the very start (None or not after 0)."""
        try:
            if seconds is None or seconds <= 0:
                # Not the first frame's own timestamp: MPEG-TS seeks to that land a keyframe late.
                container.seek(0, backward=True)
            else:
                container.seek(self.clock.pts(seconds), stream=stream, backward=True)
        except av.FFmpegError:
            return False
        return True

    def _timed_frames(self, container, stream, damage: list | None = None) -> Iterator[tuple[float, av.VideoFrame]]:
        """Frames from the current position with their times. A decoding error ends them (a truncated
        or damaged file) and is added to `damage`."""
        try:
            for frame in container.decode(stream):
                charge(frame)
                time = self.clock.seconds(frame)
                if time is not None:
                    yield time, frame
        except (av.FFmpegError, EOFError) as error:
            if damage is not None:
                damage.append(error)

    def _frames_from_keyframe(self, container, stream, seconds: float, damage: list | None = None
                              ) -> tuple[Iterator, bool]:
        """Timed frames decoded from a keyframe at or before `seconds` (from the first frame when there
        is none), and whether that keyframe may not be the last one before `seconds`.

        In MP4, WebM and MKV a seek lands on the keyframe asked for. In MPEG-TS (what an HLS download
        is) it often lands a keyframe late, or past the end after the last keyframe; then the seek goes
        further back and decoding skips forward.
        """
        for back in SEEK_BACK_S:
            start = None if back is None else seconds - back
            if not self._seek(container, stream, start):
                break
            if damage is not None:
                damage.clear()  # only the attempt that is kept counts
            frames = self._timed_frames(container, stream, damage)
            first = next(frames, None)  # None: landed past the last keyframe (MPEG-TS), or a damaged part
            at_start = start is None or start <= 0
            if first is not None and (first[0] <= seconds + SAME_TIME_S or at_start):
                return itertools.chain([first], frames), back != 0
            if at_start:
                break
        return iter(()), False

    def _every_frame_decoder(self) -> tuple[av.container.InputContainer, av.video.stream.VideoStream]:
        """The file opened a second time, for decoding every frame. Some decoders (libdav1d, for AV1)
        read `skip_frame` only when they open: once asked for keyframes only, they never give another
        kind, so the keyframe reads and the exact reads cannot share one decoder."""
        if self._exact is None:
            # The same demuxer as the first open: the bytes chose it, and they have not changed.
            container = self._exact_opened.enter_context(open_media(self.path, format_name(self.container)))
            stream = container.streams[self.stream.index]
            stream.codec_context.thread_type = self.stream.codec_context.thread_type
            self._exact = container, stream
        return self._exact

    def close(self) -> None:
        self._exact = None
        self._exact_opened.close()

    def keyframe_at_or_before(self, seconds: float) -> tuple[float, av.VideoFrame] | None:
        """The last keyframe at or before `seconds` (the first one when none is), with its own time;
        None if nothing decodes."""
        self.stream.codec_context.skip_frame = "NONKEY"
        frames, look_further = self._frames_from_keyframe(self.container, self.stream, seconds)
        found = next(frames, None)
        if look_further:
            for time, frame in frames:  # keyframes only: the rest never reaches the decoder's output
                if time > seconds + SAME_TIME_S:
                    break
                found = time, frame
        return found

    def exact_frames(self, targets: list[tuple[float, float]]) -> Iterator[tuple[float, float, av.VideoFrame]]:
        """For each (target, keyframe before it) in time order: (target, time, frame shown then).

        Decoding runs forward from a keyframe; a target whose keyframe is not ahead of where decoding
        already is continues from there instead of seeking back, so nothing is decoded twice.
        """
        container, stream = self._every_frame_decoder()
        frames: Iterator[tuple[float, av.VideoFrame]] = iter(())
        damage: list[Exception] = []
        position = None  # time of the last frame decoded
        previous: tuple[float, av.VideoFrame] | None = None
        for target, keyframe in targets:
            if position is None or keyframe > position or target < position:
                frames, _ = self._frames_from_keyframe(container, stream, keyframe, damage)
                previous = None
            shown = None
            for time, frame in frames:
                position = time
                if time > target:
                    # The frame on screen at `target` is the last one that started at or before it.
                    shown = previous or (time, frame)
                    previous = (time, frame)
                    break
                previous = (time, frame)
            else:
                # The target lies past the last frame: the last frame shows, unless the frames stopped
                # at damage (a cut-off file whose index promises more): then nothing is known there.
                shown = None if damage else previous
            if shown is not None:
                yield target, shown[0], shown[1]

    def keyframes(self) -> Iterator[tuple[float, av.VideoFrame]]:
        """Every keyframe of the file in order: only keyframe packets reach the decoder."""
        self._rewind()
        context = self.stream.codec_context
        context.skip_frame = "NONKEY"
        try:
            for packet in self.container.demux(self.stream):
                # The last packet (no data) drains the decoder; other non-key packets are never decoded.
                if packet.size and not packet.is_keyframe:
                    continue
                for frame in context.decode(packet):
                    charge(frame)
                    time = self.clock.seconds(frame)
                    if time is not None:
                        yield time, frame
        except (av.FFmpegError, EOFError):
            return


@contextmanager
def open_video(path) -> Iterator[Video]:
    with ExitStack() as opened:
        try:
            container = opened.enter_context(open_media(path))
        except NotMediaFile as exc:
            raise UnreadableVideo(str(exc).replace("media file", "video file")) from None
        video = Video(container, Path(path))
        opened.callback(video.close)
        yield video


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
