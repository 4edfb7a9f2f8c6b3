"""The transcript chain; the first link that gives text wins:

1. YouTube's captions (youtube-transcript-api, in the fetch process), for YouTube URLs;
2. a subtitle or automatic-caption track that yt-dlp listed at download (fetched by the fetch process);
3. a text subtitle track embedded in the downloaded file (PyAV).

A link that applies but gives nothing adds a one-line note saying why; none of them fails the
request. Speech-to-text, the last resort, is the orchestrator's (it reads GET /media/{id}/audio).
The transcript found keeps at most MAX_TRANSCRIPT_CUES cues and MAX_TRANSCRIPT_TEXT_CHARS characters;
a note says where it was cut.
"""

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from service_common.contracts import SubtitleTrack, TranscriptRequest, TranscriptResult, TranscriptSegment
from service_common.transcript_limits import capped_transcript

from ..child_process import run_job
from ..config import MediaSettings
from ..decode.decoder import Decoder
from ..errors import MediaError
from .languages import language_rank, wanted_languages
from .subtitle_formats import READABLE_FORMATS, parse_subtitles

log = logging.getLogger(__name__)

YOUTUBE_HOSTS = {"youtube.com", "m.youtube.com", "music.youtube.com", "youtube-nocookie.com"}
YOUTUBE_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
PATH_PREFIXES = ("/shorts/", "/embed/", "/live/", "/v/")
MAX_SUBTITLE_BYTES = 20 * 2**20
MAX_TRACKS_TRIED = 3


@dataclass
class ChainOutcome:
    result: TranscriptResult
    final: bool  # False when a link failed in a way that asking again later may fix: do not cache


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


def ranked_tracks(tracks: list[SubtitleTrack], languages: list[str]) -> list[SubtitleTrack]:
    """Readable tracks, best first: wanted languages in order (exact code before the same base
    language), and within one language a track a person wrote before automatic captions; vtt
    before srt before ass. Tracks in languages nobody asked for follow, in the same order."""
    usable = [t for t in tracks if t.ext.lower() in READABLE_FORMATS]

    def key(t: SubtitleTrack) -> tuple:
        rank, inexact = language_rank(t.language, languages)
        return rank, t.automatic, inexact, READABLE_FORMATS.index(t.ext.lower())

    return sorted(usable, key=key)


def choose_track(tracks: list[SubtitleTrack], languages: list[str]) -> SubtitleTrack | None:
    ranked = ranked_tracks(tracks, languages)
    return ranked[0] if ranked else None


def _found(segments: list[TranscriptSegment], language: str | None, source: str, notes: list[str],
           settings: MediaSettings) -> TranscriptResult:
    text = " ".join(s.text for s in segments)
    found = TranscriptResult(text=text, segments=segments, language=language, source=source, notes=notes)
    return capped_transcript(found, settings.max_transcript_cues, settings.max_transcript_text_chars)


async def _youtube_captions(
    video_id: str,
    request: TranscriptRequest,
    languages: list[str],
    proxy: str | None,
    settings: MediaSettings,
    work_dir: Path,
) -> dict:
    job = {
        "action": "youtube_transcript",
        "video_id": video_id,
        "languages": languages,
        "video_language": request.video_language,
        "proxy": proxy,
        "socket_timeout": settings.socket_timeout_s,
        **settings.egress_policy(),
    }
    try:
        return await run_job(job, settings.subtitle_timeout_s, "YouTube captions", work_dir)
    except MediaError as exc:
        return {"segments": [], "note": exc.message, "final": not exc.retryable}


async def _track_segments(
    track: SubtitleTrack, proxy: str | None, settings: MediaSettings, work_dir: Path
) -> tuple[list[TranscriptSegment], str | None, bool]:
    """(segments, why there are none, whether that answer is final)."""
    kind = "automatic captions" if track.automatic else "subtitles"
    what = f"the {track.language} {kind} ({track.ext})"
    out_path = work_dir / f"subtitles.{track.ext.lower()}"
    job = {
        "action": "fetch",
        "url": track.url,
        "proxy": proxy,
        "out_path": str(out_path),
        "max_bytes": MAX_SUBTITLE_BYTES,
        "socket_timeout": settings.socket_timeout_s,
        **settings.egress_policy(),
    }
    try:
        await run_job(job, settings.subtitle_timeout_s, f"fetching {what}", work_dir)
    except MediaError as exc:
        return [], exc.message, not exc.retryable
    try:
        segments = parse_subtitles(out_path.read_bytes(), track.ext)
    except Exception as exc:  # noqa: BLE001 - webvtt raises several kinds on bad files
        log.info("unreadable %s from %s: %s", what, track.url, exc)
        return [], f"{what} could not be read", True
    finally:
        out_path.unlink(missing_ok=True)
    return segments, (None if segments else f"{what} are empty"), True


async def fetch_transcript(
    request: TranscriptRequest,
    proxy: str | None,
    settings: MediaSettings,
    work_dir: Path,
    video_path: Path | None = None,
    decoder: Decoder | None = None,
) -> ChainOutcome:
    """The first transcript that the chain finds; an empty result (not an error) when there is none."""
    languages = wanted_languages(request.languages, request.video_language)
    notes: list[str] = []
    final = True

    video_id = youtube_video_id(request.url)
    if video_id:
        found = await _youtube_captions(video_id, request, languages, proxy, settings, work_dir)
        segments = [TranscriptSegment(**s) for s in found.get("segments") or []]
        if segments:
            return ChainOutcome(_found(segments, found.get("language"), found["source"], notes, settings), True)
        notes.append(found.get("note") or "YouTube gave no captions")
        final = final and bool(found.get("final", True))

    for track in ranked_tracks(request.subtitles, languages)[:MAX_TRACKS_TRIED]:
        segments, note, track_final = await _track_segments(track, proxy, settings, work_dir)
        if segments:
            source = "automatic_captions" if track.automatic else "subtitles"
            return ChainOutcome(_found(segments, track.language, source, notes, settings), final)
        notes.append(note or "a subtitle track gave no text")
        final = final and track_final
    if request.subtitles and not ranked_tracks(request.subtitles, languages):
        formats = ", ".join(sorted({t.ext for t in request.subtitles}))
        notes.append(f"the site's subtitle tracks are in formats that are not read ({formats})")

    if video_path is not None:
        # Read in a decode process (killed with the request): a hostile file must not hold a thread.
        embedded = await (decoder or Decoder(settings)).subtitles(video_path, languages, work_dir)
        if embedded.segments:
            found = _found(embedded.segments, embedded.language, "embedded_subtitles", notes, settings)
            return ChainOutcome(found, final)
        if embedded.note:
            notes.append(embedded.note)

    return ChainOutcome(TranscriptResult(notes=notes), final)
