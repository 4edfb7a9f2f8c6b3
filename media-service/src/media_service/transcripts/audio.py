"""A window of a video's sound as 16 kHz mono 16-bit WAV, the input speech-to-text models expect."""

import math
import wave
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import av

from ..decode.containers import NotMediaFile, open_media

SAMPLE_RATE = 16_000
SAMPLE_WIDTH = 2  # bytes: signed 16-bit
# One request's window; callers cut longer audio into windows (speech-to-text APIs limit uploads
# to ~25 MB, which is ~13 min of this format, so 20 min leaves room only for compressed uploads).
MAX_WINDOW_S = 1200.0


class NoAudio(Exception):
    """The file has no audio track that can be decoded."""


class WindowTooLong(Exception):
    pass


class StartPastEnd(Exception):
    pass


@dataclass
class AudioInfo:
    has_audio: bool
    duration: float | None  # seconds of the audio track, when the container says


def _duration(container, stream) -> float | None:
    if stream.duration and stream.time_base:
        return round(float(stream.duration * stream.time_base), 3)
    if container.duration:
        return round(container.duration / av.time_base, 3)
    return None


def audio_info(path: Path) -> AudioInfo:
    try:
        with open_media(path) as container:
            stream = container.streams.best("audio")
            if stream is None:
                return AudioInfo(False, None)
            return AudioInfo(True, _duration(container, stream))
    except (NotMediaFile, av.FFmpegError, OSError):
        return AudioInfo(False, None)


def write_wav(path: Path, out: Path, start: float = 0.0, duration: float | None = None) -> float:
    """Write `duration` seconds (default: to the end) of the main audio track from `start` as WAV.

    Raises NoAudio, StartPastEnd, or WindowTooLong when more than MAX_WINDOW_S would be written.
    Returns the seconds written.
    """
    limit = duration if duration is not None else MAX_WINDOW_S
    if limit > MAX_WINDOW_S:
        raise WindowTooLong(f"duration {limit:g} s is over the limit of {MAX_WINDOW_S:g} s per request")
    with ExitStack() as opened:
        try:
            container = opened.enter_context(open_media(path))
        except NotMediaFile as exc:
            raise NoAudio("the video cannot be read") from exc
        stream = container.streams.best("audio")  # the main track, as players choose it
        if stream is None:
            raise NoAudio("the video has no audio track")
        total = _duration(container, stream)
        if total is not None and start >= total and start > 0:
            raise StartPastEnd(f"start {start:g} s is past the end of the audio ({total:g} s)")
        with wave.open(str(out), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(SAMPLE_WIDTH)
            wav.setframerate(SAMPLE_RATE)
            written = _copy_window(container, stream, wav, _origin(container, stream) + start,
                                   math.ceil(limit * SAMPLE_RATE))
        if duration is None and written > limit * SAMPLE_RATE:
            raise WindowTooLong(
                f"the audio from {start:g} s is longer than {MAX_WINDOW_S:g} s; ask for windows with duration"
            )
    return min(written, math.ceil(limit * SAMPLE_RATE)) / SAMPLE_RATE


def _origin(container, stream) -> float:
    """Where second 0 is on the file's clock: the start of the picture, as frame times count from it
    (MPEG-TS clocks start at 1.4 s; an AAC track without an edit list starts a few ms early)."""
    video = container.streams.best("video")
    clock = video if video is not None and video.start_time is not None else stream
    return float(clock.start_time * clock.time_base) if clock.start_time is not None else 0.0


def _copy_window(container, stream, wav, start: float, wanted: int) -> int:
    """Samples written from `start` on the file's clock; decoding goes one frame beyond `wanted` so
    that callers learn if more follows. Sound that starts after `start` is preceded by silence."""
    if start > _origin(container, stream):
        try:
            # A second early: some containers (MPEG-TS) land after the time asked for; the rest is skipped.
            container.seek(int((start - 1.0) / stream.time_base), stream=stream, backward=True)
        except av.FFmpegError:
            container.seek(0)  # unseekable: decode from the start and skip
    resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
    skip: int | None = None  # samples before `start`, known once the first frame says where it is
    written = 0
    stream.thread_type = "AUTO"
    try:
        for frame in _decoded(container, stream):
            if skip is None:
                first = float(frame.pts * frame.time_base) if frame.pts is not None else start
                skip = max(0, round((start - first) * SAMPLE_RATE))
                if (silence := min(round((first - start) * SAMPLE_RATE), wanted)) > 0:
                    wav.writeframes(bytes(silence * SAMPLE_WIDTH))
                    written = silence
            for out in resampler.resample(frame):
                skip, written = _emit(out, wav, skip, written, wanted)
            if written > wanted:
                return written
        for out in resampler.resample(None):
            skip, written = _emit(out, wav, skip or 0, written, wanted)
    except av.FFmpegError as exc:
        if written == 0:
            raise NoAudio("the audio track cannot be decoded") from exc
    return written  # a truncated file gives what could be decoded


def _decoded(container, stream):
    for packet in container.demux(stream):
        try:
            yield from packet.decode()
        except av.InvalidDataError:
            continue  # one damaged packet is a click, not a reason to give up


def _emit(frame, wav, skip: int, written: int, wanted: int) -> tuple[int, int]:
    samples = frame.to_ndarray().reshape(-1)
    if skip:
        dropped = min(skip, len(samples))
        samples, skip = samples[dropped:], skip - dropped
    room = wanted - written
    if room > 0:
        wav.writeframes(samples[:room].tobytes())
    # Counting past `wanted` (without writing) tells the caller that the audio goes on.
    return skip, written + len(samples)
