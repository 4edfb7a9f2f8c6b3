"""Chapters from the text model's answer, repaired into an ordered cover of the video.

A model's chapters can come out of order, twice, past the end, with times spelled many ways, or not
starting at the beginning; what the task publishes is always in order, starts at 0, and each chapter
ends where the next one starts (the last at the end of the video)."""

import math
import re

MAX_CHAPTERS = 100  # far more than a summary call's answer can hold; bounds what one answer may store
MAX_TITLE_CHARS = 200
MAX_CHAPTER_SUMMARY_CHARS = 2000

# Bounded lengths: no time needs more, and int() refuses very long digit strings with an error.
_WHOLE = re.compile(r"^[0-9]{1,9}$")
_SECONDS = re.compile(r"^[0-9]{1,9}(?:\.[0-9]{1,6})?$")


def parse_time(value: object) -> float | None:
    """Seconds from "MM:SS", "H:MM:SS", plain seconds ("83", 83.5), also in the brackets key points
    use ("[01:23]"); None for anything else ("01:75", "soon", -5)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        fields = value.strip().removeprefix("[").removesuffix("]").strip().split(":")
        *larger, last = fields
        if len(larger) > 2 or not _SECONDS.match(last) or not all(_WHOLE.match(f) for f in larger):
            return None
        if larger and float(last) >= 60 or len(larger) == 2 and int(larger[1]) >= 60:
            return None
        seconds = float(last)
        for unit, field in zip((60, 3600), reversed(larger), strict=False):
            seconds += unit * int(field)
    else:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _text(value: object, limit: int) -> str:
    return value.strip()[:limit] if isinstance(value, str) else ""


def repair_chapters(raw: object, end_of_video: float | None) -> list[dict] | None:
    """[{start, end, title, summary}] in order from 0 to `end_of_video`, or None when the answer has no
    usable chapter. Entries without a readable start or a title are dropped; starts past the end are
    clamped to it; chapters that share a start (after clamping) become one, the first one's title kept
    and the summaries joined; a chapter left with no length (one that starts at the very end) is folded
    into the one before it. With no end known at all, the last chapter ends where it starts."""
    if not isinstance(raw, list):
        return None
    end = end_of_video if end_of_video is not None and end_of_video > 0 else None
    found: list[tuple[float, str, str]] = []
    for entry in raw[:MAX_CHAPTERS]:
        if not isinstance(entry, dict):
            continue
        start = parse_time(entry.get("start"))
        title = _text(entry.get("title"), MAX_TITLE_CHARS)
        if start is None or not title:
            continue
        found.append((start if end is None else min(start, end), title,
                      _text(entry.get("summary"), MAX_CHAPTER_SUMMARY_CHARS)))
    if not found:
        return None
    found.sort(key=lambda chapter: chapter[0])  # stable: of equal starts, the model's first stays first
    found[0] = (0.0, *found[0][1:])  # a video's chapters cover it from its beginning
    chapters: list[dict] = []
    for start, title, summary in found:
        if chapters and start in (chapters[-1]["start"], end):
            _fold_into(chapters[-1], summary)
        else:
            chapters.append({"start": start, "end": start, "title": title, "summary": summary})
    for chapter, following in zip(chapters, chapters[1:], strict=False):
        chapter["end"] = following["start"]
    chapters[-1]["end"] = end if end is not None else chapters[-1]["start"]
    return chapters


def _fold_into(chapter: dict, summary: str) -> None:
    if summary and summary not in chapter["summary"]:
        chapter["summary"] = f"{chapter['summary']} {summary}".strip()[:MAX_CHAPTER_SUMMARY_CHARS]
