"""What a media file holds, read with PyAV from its headers and first video frame."""

from dataclasses import dataclass
from pathlib import Path

import av

from .containers import NotMediaFile, open_media

# Decoding the first frame proves the video is readable; a few packets of other streams may come first.
MAX_PACKETS_TO_FIRST_FRAME = 500


class UnreadableMedia(Exception):
    pass


@dataclass(frozen=True)
class MediaFacts:
    duration: float | None  # seconds, None when neither the container nor a stream says
    has_video: bool
    width: int | None = None
    height: int | None = None


def _duration(container, stream) -> float | None:
    if container.duration and container.duration > 0:
        return round(container.duration / av.time_base, 3)
    if stream is not None and stream.duration and stream.time_base:
        return round(float(stream.duration * stream.time_base), 3)
    return None


def probe_media(path: Path) -> MediaFacts:
    """Duration and video presence; UnreadableMedia when the file is not media at all or its
    video stream yields no frame (truncated or corrupt)."""
    try:
        with open_media(path) as container:
            return _facts(container)
    except NotMediaFile as exc:
        raise UnreadableMedia(str(exc)) from None


def _facts(container) -> MediaFacts:
    video = container.streams.best("video")  # not a cover picture stored as a video track
    if video is None:
        audio = container.streams.best("audio")
        if audio is None:
            raise UnreadableMedia("no audio or video stream")
        return MediaFacts(duration=_duration(container, audio), has_video=False)
    duration = _duration(container, video)
    try:
        for count, packet in enumerate(container.demux(video)):
            if count > MAX_PACKETS_TO_FIRST_FRAME:
                break
            for frame in packet.decode():
                return MediaFacts(duration, True, frame.width, frame.height)
    except (av.FFmpegError, ValueError, OSError) as exc:
        raise UnreadableMedia(str(exc)) from None
    raise UnreadableMedia("the video stream has no decodable frame")
