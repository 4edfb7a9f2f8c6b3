"""Reading chosen frames of a video with PyAV, without decoding the whole file.

Decoding every frame of a 10-min 720p video takes tens of seconds; decoding only its keyframes
takes about a second and a half, and one keyframe after a seek a few tens of milliseconds. So
frames are served by keyframes wherever that is close enough, and exact decoding (forward from the
keyframe before a moment up to it) is the exception. PyAV rather than OpenCV: OpenCV's seeking is
approximate on some containers and does not say which frame it landed on.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import av
import cv2
import numpy as np

# A decoded frame is width*height*1.5 bytes before any scaling; above this a file is refused
# rather than risking the service's memory (16384x16384 is ~400 MB per frame).
MAX_PIXELS = 16384 * 16384
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

    def __init__(self, container: av.container.InputContainer):
        self.container = container
        if not container.streams.video:
            raise NoVideoStream("has no video stream")
        self.stream = container.streams.video[0]
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
        try:
            self.container.seek(self.clock.pts(0), stream=self.stream, backward=True)
        except av.FFmpegError:
            pass

    def _frames(self) -> Iterator[av.VideoFrame]:
        """Frames from the current position; a decoding error ends them (truncated files)."""
        try:
            yield from self.container.decode(self.stream)
        except (av.FFmpegError, EOFError):
            return

    def keyframe_at_or_before(self, seconds: float) -> tuple[float, av.VideoFrame] | None:
        """The keyframe a seek to `seconds` lands on, with its own time; None if nothing decodes."""
        self.stream.codec_context.skip_frame = "NONKEY"
        try:
            self.container.seek(max(self.clock.pts(seconds), 0), stream=self.stream, backward=True)
        except av.FFmpegError:
            return None
        for frame in self._frames():
            time = self.clock.seconds(frame)
            if time is not None:
                return time, frame
        return None

    def exact_frames(self, targets: list[tuple[float, float]]) -> Iterator[tuple[float, float, av.VideoFrame]]:
        """For each (target, keyframe before it) in time order: (target, time, frame shown then).

        Decoding runs forward from a keyframe; a target whose keyframe is not ahead of where decoding
        already is continues from there instead of seeking back, so nothing is decoded twice.
        """
        self.stream.codec_context.skip_frame = "DEFAULT"
        frames: Iterator[av.VideoFrame] = iter(())
        position = None  # time of the last frame decoded
        previous: tuple[float, av.VideoFrame] | None = None
        for target, keyframe in targets:
            if position is None or keyframe > position or target < position:
                try:
                    self.container.seek(max(self.clock.pts(keyframe), 0), stream=self.stream, backward=True)
                except av.FFmpegError:
                    continue
                frames, previous = self._frames(), None
            shown = None
            for frame in frames:
                time = self.clock.seconds(frame)
                if time is None:
                    continue
                position = time
                if time > target:
                    # The frame on screen at `target` is the last one that started at or before it.
                    shown = previous or (time, frame)
                    previous = (time, frame)
                    break
                previous = (time, frame)
            else:
                shown = previous  # the target lies past the last frame: the last frame shows
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
                    time = self.clock.seconds(frame)
                    if time is not None:
                        yield time, frame
        except (av.FFmpegError, EOFError):
            return


@contextmanager
def open_video(path) -> Iterator[Video]:
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except (av.FFmpegError, OSError, UnicodeDecodeError):
        raise UnreadableVideo("is not a video file that can be read") from None
    try:
        yield Video(container)
    finally:
        container.close()


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


def to_bgr(frame: av.VideoFrame, max_side: int, pixel_aspect: float = 1.0) -> np.ndarray:
    """The frame as a player shows it, as a BGR array for OpenCV: stretched to square pixels, turned as
    its display matrix says, and scaled down first so that a huge frame never exists in RGB."""
    width, height = scaled_size(max(1, round(frame.width * pixel_aspect)), frame.height, max_side)
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
