"""Reading chosen frames of a video with PyAV, without decoding the whole file.

Decoding every frame of a 10-min 720p video takes tens of seconds; decoding only its keyframes
takes about a second and a half, and one keyframe after a seek a few tens of milliseconds. So
frames are served by keyframes wherever that is close enough, and exact decoding (forward from the
keyframe before a moment up to it) is the exception. Keyframes are read by handing the decoder
their packets alone: FFmpeg's VP9 decoder ignores `skip_frame`, so a decoder left to skip the other
frames itself decodes all of them. PyAV rather than OpenCV: OpenCV's seeking is approximate on
some containers and does not say which frame it landed on.
"""

import itertools
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import av
from av.stream import Discard

from ..decode.budget import charge
from ..decode.containers import NotMediaFile, format_name, open_media
from .pictures import pixel_aspect

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

    def seconds(self, pts: int | None) -> float | None:
        return None if pts is None else pts * self.time_base - self.start


@dataclass(frozen=True)
class KeyPacket:
    """A keyframe's packet, read from the file but not decoded, and the time it is shown."""

    time: float
    packet: av.Packet


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
        # This open reads keyframes only (every frame is decoded from a second one, see
        # _every_frame_decoder): MP4's demuxer then passes over the other packets without reading them.
        stream.discard = Discard.nonkey
        context = self.stream.codec_context
        width, height = context.width, context.height
        if width <= 0 or height <= 0:
            raise UnreadableVideo("has a video stream without a frame size")
        if width * height > MAX_PIXELS:
            raise UnreadableVideo(f"has frames too large to decode ({width}x{height})")
        self._thread_type = "AUTO" if width * height <= FRAME_THREADS_MAX_PIXELS else "SLICE"
        context.thread_type = self._thread_type
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
        self.stream.discard = Discard.default  # the end of the last packet counts, keyframe or not
        try:
            for packet in self.container.demux(self.stream):
                if packet.pts is not None:
                    last = (packet.pts + (packet.duration or 0)) * self.clock.time_base - self.clock.start
                    end = last if end is None else max(end, last)
        except av.FFmpegError:
            pass  # a damaged tail: the readable part decides
        self.stream.discard = Discard.nonkey
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
                time = self.clock.seconds(frame.pts)
                if time is not None:
                    yield time, frame
        except (av.FFmpegError, EOFError) as error:
            if damage is not None:
                damage.append(error)

    def _frames_from_keyframe(self, container, stream, seconds: float, damage: list | None = None) -> Iterator:
        """Timed frames decoded from a keyframe at or before `seconds` (from the first frame when there
        is none).

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
                return itertools.chain([first], frames)
            if at_start:
                break
        return iter(())

    def _every_frame_decoder(self) -> tuple[av.container.InputContainer, av.video.stream.VideoStream]:
        """The file opened a second time, for decoding every frame. Some decoders (libdav1d, for AV1)
        read `skip_frame` only when they open: once asked for keyframes only, they never give another
        kind, so the keyframe reads and the exact reads cannot share one decoder."""
        if self._exact is None:
            # The same demuxer as the first open: the bytes chose it, and they have not changed.
            container = self._exact_opened.enter_context(open_media(self.path, format_name(self.container)))
            stream = container.streams[self.stream.index]
            stream.codec_context.thread_type = self._thread_type
            self._exact = container, stream
        return self._exact

    def close(self) -> None:
        self._exact = None
        self._exact_opened.close()

    def keyframe_at_or_before(self, seconds: float) -> tuple[float, av.VideoFrame] | None:
        """The last keyframe at or before `seconds` (the first one when none is), with its own time;
        None if nothing decodes."""
        before, after = self.keyframes_around(seconds, 0.0)
        found = before or after
        return None if found is None else self.decode_keyframe(found)

    def keyframes_around(self, seconds: float, reach: float) -> tuple[KeyPacket | None, KeyPacket | None]:
        """The last keyframe at or before `seconds`, and the first one after it when that comes within
        `reach` or none comes before: found by a seek and reading the packets in between, none of them
        decoded. Both None when nothing can be read from there (a truncated file).

        In MP4, WebM and MKV a seek lands on the keyframe asked for. In MPEG-TS (what an HLS download
        is) it often lands a keyframe late, or past the end after the last keyframe; then the seek goes
        further back and the reading goes forward past the keyframes in between.
        """
        for back in SEEK_BACK_S:
            start = None if back is None else seconds - back
            if not self._seek(self.container, self.stream, start):
                break
            before, after = self._keyframe_packets_around(seconds, reach)
            if before is not None or start is None or start <= 0:
                return before, after
        return None, None

    def _keyframe_packets_around(self, seconds: float, reach: float) -> tuple[KeyPacket | None, KeyPacket | None]:
        before = None
        try:
            for packet in self.container.demux(self.stream):
                time = self.clock.seconds(packet.dts if packet.pts is None else packet.pts)
                if time is None or not packet.size:
                    continue
                # A keyframe is shown after every frame ahead of it in the file: the rest are out of reach.
                if time > seconds + reach + SAME_TIME_S and before is not None:
                    break
                if packet.is_keyframe:
                    if time > seconds + SAME_TIME_S:
                        return before, KeyPacket(time, packet)
                    before = KeyPacket(time, packet)
        except (av.FFmpegError, EOFError):
            pass  # a damaged part: the packets read before it count
        return before, None

    def decode_keyframe(self, keyframe: KeyPacket) -> tuple[float, av.VideoFrame] | None:
        """The frame of one keyframe with its own time: its packet alone goes to the decoder, so nothing
        else is decoded whatever the decoder makes of `skip_frame`. None if the packet does not decode."""
        context = self.stream.codec_context
        if not context.is_open:
            # Both are read when the decoder opens (libdav1d reads `skip_frame` only then). One frame at
            # a time: frame threads would only hold each back until a drain.
            context.skip_frame = "NONKEY"
            context.thread_type = "SLICE"
        frames = []
        try:
            # Frames held back (reordering, threads) come out when the decoder is drained.
            frames = context.decode(keyframe.packet) or context.decode(None)
        except (av.FFmpegError, EOFError):
            pass
        finally:
            context.flush_buffers()  # the next packet is another keyframe, and a drained decoder needs it
        found = None
        for frame in frames:
            charge(frame)
            time = self.clock.seconds(frame.pts)
            if found is None and time is not None:
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
                frames = self._frames_from_keyframe(container, stream, keyframe, damage)
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
                    time = self.clock.seconds(frame.pts)
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
