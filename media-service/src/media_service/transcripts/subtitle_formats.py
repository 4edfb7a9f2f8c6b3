"""Subtitle files as transcript segments: WebVTT, SubRip and SBV through webvtt-py, ASS/SSA by hand."""

import html
import io
import re

import webvtt

from service_common.contracts import TranscriptSegment

READABLE_FORMATS = ("vtt", "srt", "ass", "ssa", "sbv")  # the order of preference among tracks
TAG = re.compile(r"<[^>]*>")
ASS_OVERRIDE = re.compile(r"\{[^}]*\}")
ASS_BREAK = re.compile(r"\\[Nnh]")
ASS_TIME = re.compile(r"^(\d+):(\d{1,2}):(\d{1,2}(?:\.\d+)?)$")


def clean_caption_text(text: str) -> str:
    """One line of plain text: no markup, entities decoded, whitespace collapsed."""
    return " ".join(html.unescape(TAG.sub("", text or "")).split())


def ass_text(text: str) -> str:
    """The spoken text of an ASS event's Text field: no override tags {\\...}, line breaks as spaces."""
    return clean_caption_text(ASS_BREAK.sub(" ", ASS_OVERRIDE.sub("", text)))


def _ass_seconds(stamp: str) -> float | None:
    match = ASS_TIME.match(stamp.strip())
    if not match:
        return None
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def parse_ass(text: str) -> list[tuple[float, float, str]]:
    """(start, end, text) of the Dialogue events of an ASS/SSA script, in the order of its Format line."""
    columns = ["layer", "start", "end", "style", "name", "marginl", "marginr", "marginv", "effect", "text"]
    cues = []
    in_events = False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("["):
            in_events = line.lower() == "[events]"
            continue
        if not in_events:
            continue
        key, _, value = line.partition(":")
        if key.lower() == "format":
            columns = [c.strip().lower() for c in value.split(",")]
        elif key.lower() == "dialogue" and "text" in columns:
            fields = value.strip().split(",", len(columns) - 1)
            if len(fields) != len(columns):
                continue
            row = dict(zip(columns, fields, strict=True))
            start, end = _ass_seconds(row.get("start", "")), _ass_seconds(row.get("end", ""))
            if start is not None and end is not None:
                cues.append((start, end, ass_text(row["text"])))
    cues.sort(key=lambda c: c[0])
    return cues


def _cues(text: str, ext: str) -> list[tuple[float, float, str]]:
    if ext in ("ass", "ssa"):
        return parse_ass(text)
    captions = webvtt.from_buffer(io.StringIO(text), format=ext)
    return [(c.start_time.in_milliseconds() / 1000, c.end_time.in_milliseconds() / 1000, c.text) for c in captions]


def parse_subtitles(data: bytes, ext: str) -> list[TranscriptSegment]:
    """Cues as segments, without markup, and without the repeated lines of rolling auto-captions.

    Automatic captions show each line twice (first as the new line, then as the line above the next
    one), so a line equal to the line just emitted is dropped.
    """
    text = data.decode("utf-8-sig", errors="replace")
    segments: list[TranscriptSegment] = []
    last_line = None
    for start, end, cue_text in _cues(text, ext.lower()):
        fresh = []
        for line in cue_text.split("\n"):
            line = clean_caption_text(line)
            if not line or line == last_line:
                continue
            fresh.append(line)
            last_line = line
        if fresh:
            segments.append(TranscriptSegment(start=start, end=end, text=" ".join(fresh)))
    return segments
