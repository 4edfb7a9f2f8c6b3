"""Transcripts: YouTube's captions through youtube-transcript-api, else a subtitle track of the video."""

import html
import io
import logging
import re
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import webvtt

from service_common.contracts import (
    SubtitleTrack,
    TranscriptRequest,
    TranscriptResult,
    TranscriptSegment,
)
from service_common.errors import ServiceError

from .config import MediaSettings
from .worker_client import run_job

log = logging.getLogger(__name__)

YOUTUBE_HOSTS = {"youtube.com", "m.youtube.com", "music.youtube.com", "youtube-nocookie.com"}
YOUTUBE_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
PATH_PREFIXES = ("/shorts/", "/embed/", "/live/", "/v/")
SUBTITLE_FORMATS = ("vtt", "srt")  # in order of preference; webvtt-py reads both
TAG = re.compile(r"<[^>]*>")
MAX_SUBTITLE_BYTES = 20 * 2**20


def youtube_video_id(url: str) -> str | None:
    """The 11-character id of a YouTube video URL (watch, youtu.be, shorts, embed, live), else None."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    host = (parts.hostname or "").lower().removeprefix("www.")
    candidate = None
    if host == "youtu.be":
        candidate = parts.path.strip("/").split("/")[0]
    elif host in YOUTUBE_HOSTS:
        if parts.path == "/watch":
            candidate = (parse_qs(parts.query).get("v") or [None])[0]
        else:
            for prefix in PATH_PREFIXES:
                if parts.path.startswith(prefix):
                    candidate = parts.path[len(prefix) :].split("/")[0]
    return candidate if candidate and YOUTUBE_ID.match(candidate) else None


def snippets_to_segments(snippets: Iterable) -> list[dict]:
    """youtube-transcript-api snippets (text, start, duration) as segment dicts, empty ones dropped."""
    segments = []
    for snippet in snippets:
        text = _clean_text(getattr(snippet, "text", ""))
        if text:
            start = float(snippet.start)
            segments.append(
                {"start": round(start, 3), "end": round(start + float(snippet.duration), 3), "text": text}
            )
    return segments


def _clean_text(text: str) -> str:
    return " ".join(html.unescape(TAG.sub("", text)).split())


def _language_rank(language: str, wanted: list[str]) -> int:
    language = language.lower()
    for rank, want in enumerate(w.lower() for w in wanted):
        if language == want:
            return 2 * rank
        if language.split("-")[0] == want.split("-")[0]:
            return 2 * rank + 1
    return 2 * len(wanted)


def choose_track(tracks: list[SubtitleTrack], languages: list[str]) -> SubtitleTrack | None:
    """Requested languages first (in order), then tracks a person wrote over automatic ones, vtt over srt."""
    usable = [t for t in tracks if t.ext.lower() in SUBTITLE_FORMATS]
    if not usable:
        return None
    return min(
        usable,
        key=lambda t: (
            _language_rank(t.language, languages),
            t.automatic,
            SUBTITLE_FORMATS.index(t.ext.lower()),
        ),
    )


def parse_subtitles(data: bytes, ext: str) -> list[TranscriptSegment]:
    """Cues as segments, without markup, and without the repeated lines of rolling auto-captions.

    Automatic captions show each line twice (first as the new line, then as the line above the next
    one), so a line equal to the line just emitted is dropped.
    """
    text = data.decode("utf-8-sig", errors="replace")
    captions = webvtt.from_buffer(io.StringIO(text), format=ext.lower())
    segments: list[TranscriptSegment] = []
    last_line = None
    for caption in captions:
        fresh = []
        for line in caption.text.split("\n"):
            line = _clean_text(line)
            if not line or line == last_line:
                continue
            fresh.append(line)
            last_line = line
        if fresh:
            start = caption.start_time.in_milliseconds() / 1000
            end = caption.end_time.in_milliseconds() / 1000
            segments.append(TranscriptSegment(start=start, end=end, text=" ".join(fresh)))
    return segments


def _result(segments: list[TranscriptSegment], language: str | None, source: str) -> TranscriptResult:
    if not segments:
        return TranscriptResult()
    text = " ".join(s.text for s in segments)
    return TranscriptResult(text=text, segments=segments, language=language, source=source)


async def fetch_transcript(
    request: TranscriptRequest, proxy: str | None, settings: MediaSettings, work_dir: Path
) -> TranscriptResult:
    """The first transcript that the chain finds; an empty result (not an error) when there is none."""
    video_id = youtube_video_id(request.url)
    languages = request.languages or [lang for lang in (request.video_language, "en") if lang]
    if video_id:
        job = {
            "action": "youtube_transcript",
            "video_id": video_id,
            "languages": languages,
            "proxy": proxy,
            "allow_cidrs": settings.egress_allow_cidrs,
        }
        try:
            result = await run_job(job, settings.subtitle_timeout_s, "transcript", work_dir)
            segments = [TranscriptSegment(**s) for s in result["segments"]]
            if segments:
                return _result(segments, result.get("language"), "youtube_captions")
        except ServiceError as exc:
            log.info("no YouTube transcript for %s (%s); trying subtitle tracks", video_id, exc.message)
    track = choose_track(request.subtitles, languages)
    if track is None:
        return TranscriptResult()
    out_path = work_dir / f"subtitles.{track.ext.lower()}"
    job = {
        "action": "fetch",
        "url": track.url,
        "proxy": proxy,
        "out_path": str(out_path),
        "max_bytes": MAX_SUBTITLE_BYTES,
        "socket_timeout": settings.socket_timeout_s,
        "allow_cidrs": settings.egress_allow_cidrs,
    }
    try:
        await run_job(job, settings.subtitle_timeout_s, "subtitle download", work_dir)
    except ServiceError as exc:
        if exc.retryable:
            raise
        # A track that is gone or refused leaves the video without a transcript; that is no failure.
        log.warning("%s", exc.message)
        return TranscriptResult()
    try:
        segments = parse_subtitles(out_path.read_bytes(), track.ext)
    except Exception as exc:  # noqa: BLE001 - webvtt raises several kinds on bad files
        log.warning("unreadable %s subtitles from %s: %s", track.ext, track.url, exc)
        return TranscriptResult()
    return _result(segments, track.language, "automatic_captions" if track.automatic else "subtitles")
