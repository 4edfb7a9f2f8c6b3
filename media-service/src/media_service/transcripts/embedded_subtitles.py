"""Text subtitle tracks inside the downloaded file (mov_text in MP4, SubRip/ASS/WebVTT in MKV), via PyAV.

FFmpeg decodes every text subtitle format to ASS events ("ReadOrder,Layer,Style,Name,MarginL,
MarginR,MarginV,Effect,Text"), so one reader serves them all. Image subtitles (DVD, Blu-ray PGS)
would need OCR and are left out.
"""

import logging
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import av

from service_common.contracts import TranscriptSegment

from ..decode.containers import NotMediaFile, open_media
from .languages import language_rank, normalize_language
from .subtitle_formats import ass_text, clean_caption_text

log = logging.getLogger(__name__)

TEXT_CODECS = {"mov_text", "subrip", "srt", "ass", "ssa", "webvtt", "text"}
ASS_FIELDS_BEFORE_TEXT = 8
# A broken or hostile file must not make the service read forever.
MAX_CUES = 100_000


@dataclass
class EmbeddedTranscript:
    segments: list[TranscriptSegment] = field(default_factory=list)
    language: str | None = None
    note: str | None = None  # why there are no segments although the file has subtitle tracks


def ass_event_text(event: str) -> str:
    """The spoken text of one ASS event line, without override tags and with line breaks as spaces."""
    if event.startswith("Dialogue:"):  # full event lines, as FFmpeg wrote them before 3.0
        return ass_text(event.split(",", 9)[-1])
    if event.count(",") >= ASS_FIELDS_BEFORE_TEXT:
        return ass_text(event.split(",", ASS_FIELDS_BEFORE_TEXT)[-1])
    return ass_text(event)


def _cue_text(subtitle_set) -> str:
    parts = []
    for rect in subtitle_set:
        kind = getattr(rect, "type", b"")
        if kind == b"ass":
            parts.append(ass_event_text(rect.ass.decode("utf-8", "replace")))
        elif kind == b"text":
            parts.append(clean_caption_text(rect.text.decode("utf-8", "replace")))
    return " ".join(p for p in parts if p)


def _choose_stream(streams, wanted: list[str]):
    """The text track in the best wanted language; a default-flagged track breaks ties, then file order."""

    def key(stream):
        language = normalize_language(stream.metadata.get("language"))
        default = bool(getattr(stream, "disposition", 0) & getattr(av.stream.Disposition, "default", 0))
        return language_rank(language, wanted), not default

    return min(streams, key=key)


def read_embedded_subtitles(path: Path, wanted: list[str]) -> EmbeddedTranscript:
    """The cues of the file's best text subtitle track; no segments and no note when there is none."""
    with ExitStack() as opened:
        try:
            container = opened.enter_context(open_media(path))
        except NotMediaFile as exc:
            log.info("cannot open %s for subtitles: %s", path, exc)
            return EmbeddedTranscript()
        streams = list(container.streams.subtitles)
        if not streams:
            return EmbeddedTranscript()
        text_streams = [s for s in streams if s.codec_context.name in TEXT_CODECS]
        if not text_streams:
            codecs = ", ".join(sorted({s.codec_context.name for s in streams}))
            return EmbeddedTranscript(note=f"the file's subtitle tracks are images ({codecs}), which are not read")
        stream = _choose_stream(text_streams, wanted)
        language = normalize_language(stream.metadata.get("language"))
        try:
            segments = _read_cues(container, stream)
        except (av.FFmpegError, UnicodeError, ValueError) as exc:
            log.info("embedded subtitles of %s unreadable: %s", path, exc)
            return EmbeddedTranscript(note="the file's subtitle track could not be read")
    if not segments:
        return EmbeddedTranscript(note="the file's subtitle track is empty")
    return EmbeddedTranscript(segments=segments, language=language)


def _read_cues(container, stream) -> list[TranscriptSegment]:
    segments: list[TranscriptSegment] = []
    last_text = None
    for packet in container.demux(stream):
        if packet.size == 0 or packet.pts is None:
            continue  # flush packets, and mov_text's empty gap samples
        subtitle_set = stream.decode2(packet)
        if subtitle_set is None:
            continue
        text = _cue_text(subtitle_set)
        if not text:
            continue
        start = float(packet.pts * packet.time_base) + subtitle_set.start_display_time / 1000
        if packet.duration:
            end = float((packet.pts + packet.duration) * packet.time_base)
        else:
            end = start + max(0, subtitle_set.end_display_time - subtitle_set.start_display_time) / 1000
        if text == last_text and segments and abs(segments[-1].end - start) < 0.05:
            segments[-1].end = round(end, 3)  # one line split over two events
            continue
        segments.append(TranscriptSegment(start=round(start, 3), end=round(end, 3), text=text))
        last_text = text
        if len(segments) >= MAX_CUES:
            break
    segments.sort(key=lambda s: s.start)
    return segments
