"""Joining a video-only and an audio-only download into one file, with PyAV: packets are copied, not
decoded, so it takes about as long as reading both files once.

This is what yt-dlp would have ffmpeg do. The fetch process has no ffmpeg on purpose: where it is
found, yt-dlp hands some downloads to it, and its connections would escape the connection guard.
"""

import heapq
from collections.abc import Iterator
from pathlib import Path

import av

from ..decode.containers import NotMediaFile, open_media

# Matroska takes every codec a site serves (H.264, VP9, AV1; AAC, Opus, Vorbis) without conversion.
JOINED_FORMAT = "matroska"
JOINED_SUFFIX = ".mkv"


class CannotJoin(Exception):
    """The two files cannot be joined; the message says why in a few words."""


def _start(stream) -> float:
    return float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0


def _packets(container, stream, target, offset: float) -> Iterator[tuple[float, int, av.Packet]]:
    """The stream's packets for `target`, `offset` seconds earlier."""
    shift = round(offset / stream.time_base)
    for packet in container.demux(stream):
        if packet.dts is None:  # the empty packet that ends a stream
            continue
        packet.dts -= shift
        if packet.pts is not None:
            packet.pts -= shift
        seconds = float(packet.dts * stream.time_base)
        packet.stream = target
        yield seconds, target.index, packet


def join(video: Path, audio: Path, out: Path) -> Path:
    """Write `out` with the video track of `video` and the audio track of `audio`, in time order."""
    try:
        with open_media(video) as video_in, open_media(audio) as audio_in:
            video_stream = video_in.streams.best("video")
            audio_stream = audio_in.streams.best("audio")
            if video_stream is None or audio_stream is None:
                raise CannotJoin("the video part has no picture or the audio part no sound")
            with av.open(str(out), "w", format=JOINED_FORMAT) as joined:
                video_out = joined.add_stream_from_template(video_stream)
                audio_out = joined.add_stream_from_template(audio_stream)
                # Parts cut from MPEG-TS start at 1.4 s or so: both move back by the earlier start, which
                # keeps them in sync and starts the joined file at 0.
                offset = min(_start(video_stream), _start(audio_stream))
                # Interleaved by time, as a player reads them: the muxer need not hold one track back.
                for _, _, packet in heapq.merge(_packets(video_in, video_stream, video_out, offset),
                                                _packets(audio_in, audio_stream, audio_out, offset),
                                                key=lambda item: item[:2]):
                    joined.mux(packet)
    except (NotMediaFile, av.FFmpegError, OSError, ValueError) as exc:
        out.unlink(missing_ok=True)
        raise CannotJoin(str(exc)) from None
    except CannotJoin:
        out.unlink(missing_ok=True)
        raise
    return out


def join_parts(video: Path, audio: Path, out_dir: Path) -> dict:
    """The downloaded parts as one file: {"filepath", "ext"}, the parts removed. When they cannot be
    joined, the video part alone (frames need no sound; speech-to-text then has none)."""
    try:
        path = join(video, audio, out_dir / f"video{JOINED_SUFFIX}")
    except CannotJoin:
        audio.unlink(missing_ok=True)
        return {"filepath": str(video)}
    video.unlink(missing_ok=True)
    audio.unlink(missing_ok=True)
    return {"filepath": str(path), "ext": JOINED_SUFFIX.removeprefix(".")}
