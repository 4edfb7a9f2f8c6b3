"""Reading the material a summary request carries into sentence-sized units.

The orchestrator sends `Title:`/`Duration:` lines, a `Transcript:` section and a `Frames:`
section of `[00:12] description` lines; anything else is read as plain prose.
"""

import re
from dataclasses import dataclass, field

_HEADER = re.compile(r"^\s*#*\s*([A-Za-z][\w /()&-]{0,40}?)\s*:\s*(.*)$")
_METADATA_KEYS = {
    "title", "duration", "channel", "uploader", "author", "url", "link", "language", "date", "upload date",
    "published", "views", "view count", "source", "video", "video id", "id", "length", "tags", "categories",
}
_STAMP_CLOCK = r"(?:\d{1,2}:)?\d{1,2}:\d{2}(?:[.,]\d+)?"
# "[01:23]", "00:01.000 --> 00:04.000", and a time range in brackets ("[00:00–05:00]", what the
# summaries of a long transcript's parts are headed with).
_TIMESTAMP = re.compile(
    r"^\s*(?:[-*•]\s*)?(?:frame\s*\d+\s*)?[\[(]?\s*" + _STAMP_CLOCK
    + r"(?:\s*(?:-->|[-–—])\s*" + _STAMP_CLOCK + r")?\s*[\])]?\s*[-–:]?\s*", re.IGNORECASE)
_CLOCK = re.compile(r"(?:\d{1,2}:)?\d{1,2}:\d{2}")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+|(?<=[。！？])[」』”’）)]*\s*")
# A time mark carried from a transcript line into the sentences made of it; stripped afterwards.
_MARK = "\u2063"
_MARKED = re.compile(_MARK + r"(\S+?)" + _MARK + r"\s*")
# Spoken Korean sentences end in these verb endings even where captions leave out the full stop.
_KOREAN_END = re.compile(r"[\uac00-\ud7a3]*(?:다|요|죠|까|니다|세요)$")
_ABBREVIATIONS = ("mr.", "mrs.", "ms.", "dr.", "prof.", "st.", "vs.", "e.g.", "i.e.", "etc.", "no.", "approx.")
_WORDS = re.compile(r"\S+")
# "I" is capitalised mid-sentence too, so it does not mark a new sentence.
_NEW_SENTENCE = re.compile(r"^(?:\u2063\S+?\u2063\s*)?[\"'“(]?(?!I\b)[A-Z]")
_CONTINUES = (".", "!", "?", "…", ",", ";", ":", "-", "–", "—")

# Auto-generated captions often have no punctuation at all; sentence splitting then finds one
# huge "sentence", so such text is cut into caption-line groups of readable length instead.
_MIN_UNIT_WORDS, _MAX_UNIT_WORDS = 10, 45


@dataclass
class Material:
    title: str | None = None
    transcript: list[str] = field(default_factory=list)
    frames: list[str] = field(default_factory=list)
    # The timestamp each frame line gave ("00:12"), or None; parallel to `frames`.
    frame_times: list[str | None] = field(default_factory=list)
    prose: list[str] = field(default_factory=list)
    duration: str | None = None
    # The timestamp of the caption line each transcript sentence starts in, or None; parallel to `transcript`.
    transcript_times: list[str | None] = field(default_factory=list)


def _section_of(name: str) -> str:
    name = name.lower()
    if any(word in name for word in ("transcript", "caption", "subtitle", "speech", "audio")):
        return "transcript"
    if any(word in name for word in ("frame", "visual", "scene", "screen", "image")):
        return "frames"
    return "prose"


def _split_long(words: list[str]) -> list[str]:
    if len(words) <= _MAX_UNIT_WORDS:
        return [" ".join(words)]
    chunks, current = [], []
    for word in words:
        current.append(word)
        at_pause = word.endswith((",", ";", ":")) and len(current) >= _MIN_UNIT_WORDS * 2
        if at_pause or len(current) >= _MAX_UNIT_WORDS // 2 + 5:
            chunks.append(" ".join(current))
            current = []
    if current:
        if len(current) < _MIN_UNIT_WORDS and chunks:
            chunks[-1] += " " + " ".join(current)
        else:
            chunks.append(" ".join(current))
    return chunks


def split_sentences(lines: list[str]) -> list[str]:
    """Sentences of consecutive lines; blank lines ('') end a sentence even without punctuation."""
    words = sum(len(_WORDS.findall(line)) for line in lines)
    enders = sum(len(re.findall(r"[.!?…](?:\s|$)|[。！？]", line)) for line in lines)
    if words and enders * 40 < words:
        return _caption_groups(lines)
    units = []
    for paragraph in _paragraphs(lines):
        text = " ".join(paragraph.split())
        pieces = [p for p in _SENTENCE_END.split(text) if p.strip()]
        merged: list[str] = []
        for piece in pieces:
            if merged and merged[-1].lower().endswith(_ABBREVIATIONS):
                merged[-1] += " " + piece
            else:
                merged.append(piece.strip())
        for sentence in merged:
            units.extend(_split_long(sentence.split()))
    return units


def _paragraphs(lines: list[str]) -> list[str]:
    """Caption lines often break mid-sentence, so lines are joined, except where the next line
    plainly starts a new sentence (a capital after a line with no closing punctuation)."""
    paragraphs, current = [], []
    for line in lines:
        if not line:
            if current:
                paragraphs.append(" ".join(current))
            current = []
            continue
        new_sentence = _NEW_SENTENCE.match(line) or _KOREAN_END.search(current[-1] if current else "")
        if current and new_sentence and not current[-1].endswith(_CONTINUES):
            paragraphs.append(" ".join(current))
            current = []
        current.append(line)
    if current:
        paragraphs.append(" ".join(current))
    return paragraphs


def _caption_groups(lines: list[str]) -> list[str]:
    units, current = [], []
    for line in lines + [""]:
        current.extend(line.split())
        ends_korean = bool(line and _KOREAN_END.search(line))
        if (not line and current) or len(current) >= _MIN_UNIT_WORDS or ends_korean:
            units.extend(_split_long(current))
            current = []
    return units


def parse_material(text: str) -> Material:
    material = Material()
    buckets: dict[str, list[str]] = {"transcript": [], "frames": [], "prose": []}
    section = "prose"
    for raw in text.splitlines():
        line = raw.strip()
        header = _HEADER.match(line)
        if header:
            key, rest = header.group(1).strip(), header.group(2).strip()
            words_in_key = len(key.split())
            looks_like_field = (words_in_key <= 2 and key[:1].isupper() and 0 < len(rest.split()) <= 6
                                and not rest.endswith((".", "!", "?")))
            if section == "prose" and (key.lower() in _METADATA_KEYS or looks_like_field):
                if key.lower() == "title" and rest and material.title is None:
                    material.title = rest.strip("\"'“”")
                if key.lower() in ("duration", "length") and rest and material.duration is None:
                    material.duration = rest
                continue
            if not rest and words_in_key <= 6:
                section = _section_of(key)
                buckets[section].append("")
                continue
            if words_in_key <= 3 and _section_of(key) != "prose" and section == "prose":
                section = _section_of(key)
                line = rest
        if section == "frames":
            stamp = _TIMESTAMP.match(line)
            description = line[stamp.end():].strip() if stamp else line
            if description:
                material.frames.append(" ".join(description.split()))
                clock = _CLOCK.search(stamp.group(0)) if stamp else None
                material.frame_times.append(clock.group(0) if clock else None)
            continue
        mark = ""
        if section == "transcript":
            stamp = _TIMESTAMP.match(line)
            clock = _CLOCK.search(stamp.group(0)) if stamp else None
            line = line[stamp.end():] if stamp else line
            if "-->" in line or line.strip().upper() == "WEBVTT" or line.strip().isdigit():
                continue
            mark = f"{_MARK}{clock.group(0)}{_MARK} " if clock and line.strip() else ""
        buckets[section].append(mark + _BULLET.sub("", line).strip())
    material.transcript, material.transcript_times = _unmarked(split_sentences(buckets["transcript"]))
    material.prose = split_sentences(buckets["prose"])
    return material


def _unmarked(units: list[str]) -> tuple[list[str], list[str | None]]:
    """Sentences without their time marks, and the time each starts at (the last mark seen)."""
    texts, times, current = [], [], None
    for unit in units:
        marks = _MARKED.findall(unit)
        text = " ".join(_MARKED.sub(" ", unit).split())
        starts_marked = unit.lstrip().startswith(_MARK)
        time = marks[0] if marks and (starts_marked or current is None) else current
        current = marks[-1] if marks else current
        if text:
            texts.append(text)
            times.append(time)
    return texts, times
