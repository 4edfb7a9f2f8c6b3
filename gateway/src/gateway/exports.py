"""A task's results as files: its transcript as SubRip (.srt) and WebVTT (.vtt) subtitles, and the whole
analysis as a Markdown report.

Pure functions of a task (the orchestrator's TaskRecord, which is the public TaskResponse field for field):
no I/O, so they are tested on their own (tests/gateway/test_exports_units.py); routes/exports.py serves
them. Whatever comes from the video or the models (titles, transcript lines, summaries) is text that must
not change the file's structure:

- subtitles: a segment's text is one cue whatever it holds. Blank lines (which end a cue), control and
  odd line-break characters, runs of spaces and `-->` (which marks a timing line) are normalised away;
  in WebVTT, `&`, `<` and `>` are written as character references, since there they start markup. A
  segment left with no text is dropped. Cues are in order of their start; one whose end is not after
  its start (zero-length or inverted) is shown until the next cue starts, for at most
  FALLBACK_CUE_MS; a negative start is 0.
- the report: every such text is escaped so that a Markdown renderer shows it as written, never as a
  link, an image, HTML, code, a heading or a list (see `markdown_text`). Its transcript is the same cues
  as the subtitles'.
"""

import hashlib
import math
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

from service_common.contracts import TaskRecord, TranscriptSegment

# How long a cue whose source gave no usable end (end <= start) is shown, unless the next cue starts sooner.
FALLBACK_CUE_MS = 2000
# The longest file name (without its extension) a Content-Disposition gets from a title.
MAX_NAME_CHARS = 80

TRANSCRIPT_SOURCES = {
    "youtube_captions": "YouTube captions",
    "youtube_auto_captions": "YouTube automatic captions",
    "subtitles": "the site's subtitles",
    "automatic_captions": "the site's automatic captions",
    "embedded_subtitles": "subtitles inside the file",
    "speech_to_text": "speech-to-text",
}

# `-->` separates a cue's start and end: in a cue's text it would make a timing line (or, in WebVTT, a
# malformed cue). Any run of dashes before `>` becomes one, which no parser reads as a timing arrow.
_ARROW = re.compile(r"-{2,}>")


def clean_text(text: str) -> str:
    """`text` without what no text file should carry: control characters other than whitespace (line
    breaks of any kind and tabs are kept for the callers to normalise), and lone surrogates, which UTF-8
    cannot encode."""
    return "".join(c for c in text if c.isspace() or unicodedata.category(c) not in ("Cc", "Cs"))


def one_line(text: str) -> str:
    """`text` on one line: every run of whitespace or line breaks (any kind) is one space."""
    return " ".join(clean_text(text).split())


# ---- subtitles ----


@dataclass
class Cue:
    start_ms: int
    end_ms: int
    lines: list[str]


def cue_lines(text: str) -> list[str]:
    """The lines a segment's text is shown on: no blank line, no control character, no `-->`, each line's
    spaces collapsed. Empty when the text has nothing to show."""
    lines = (" ".join(line.split()) for line in clean_text(text).splitlines())
    return [_ARROW.sub("->", line) for line in lines if line]


def _ms(seconds: float) -> int | None:
    return round(seconds * 1000) if math.isfinite(seconds) else None


def timed_cues(segments: list[TranscriptSegment]) -> list[Cue]:
    """The segments as cues a player can show: in order of their start, each with some text and an end
    after its start (see the module's docstring)."""
    cues = []
    for segment in segments:
        lines, start = cue_lines(segment.text), _ms(segment.start)
        if not lines or start is None:
            continue
        start = max(start, 0)
        end = _ms(segment.end)
        cues.append(Cue(start, start if end is None else end, lines))
    cues.sort(key=lambda cue: cue.start_ms)  # stable: segments that start together keep their order
    for i, cue in enumerate(cues):
        if cue.end_ms <= cue.start_ms:
            following = next((c.start_ms for c in cues[i + 1:] if c.start_ms > cue.start_ms), None)
            cue.end_ms = cue.start_ms + FALLBACK_CUE_MS
            if following is not None:
                cue.end_ms = min(cue.end_ms, following)
    return cues


def _stamp(ms: int, separator: str) -> str:
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{separator}{millis:03d}"


def srt_timestamp(ms: int) -> str:
    """SubRip's HH:MM:SS,mmm (more hour digits past 99 hours)."""
    return _stamp(ms, ",")


def vtt_timestamp(ms: int) -> str:
    """WebVTT's HH:MM:SS.mmm."""
    return _stamp(ms, ".")


def to_srt(segments: list[TranscriptSegment]) -> str:
    """SubRip: numbered cues from 1, `start --> end`, the text, a blank line after each. The text is left
    as it is otherwise: SubRip has no way to escape `<`, which some players read as formatting tags."""
    blocks = [
        "\n".join([str(number), f"{srt_timestamp(cue.start_ms)} --> {srt_timestamp(cue.end_ms)}", *cue.lines])
        for number, cue in enumerate(timed_cues(segments), start=1)
    ]
    return "".join(block + "\n\n" for block in blocks)


def _vtt_escape(line: str) -> str:
    return line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(segments: list[TranscriptSegment]) -> str:
    """WebVTT: the `WEBVTT` header, then each cue's `start --> end` and its text (markup characters written
    as character references), a blank line before each cue."""
    parts = ["WEBVTT\n"]
    for cue in timed_cues(segments):
        parts.append(f"\n{vtt_timestamp(cue.start_ms)} --> {vtt_timestamp(cue.end_ms)}\n")
        parts.append("".join(_vtt_escape(line) + "\n" for line in cue.lines))
    return "".join(parts)


# ---- file names ----


def _name_from(title: str, keep) -> str:
    kept = "".join(c if keep(c) else "-" for c in title)
    return re.sub(r"-{2,}", "-", kept).strip("-")[:MAX_NAME_CHARS].strip("-")


def content_disposition(title: str | None, task_id: str, extension: str) -> str:
    """`attachment` with a file name made from the video's title: ASCII letters, digits, `_` and `-` only
    (accents dropped, anything else a `-`), then the extension, so it can name no folder, no hidden file
    and break no header; `task-<id>` when the title leaves nothing. A title with other letters also gets
    a UTF-8 `filename*` (RFC 6266) made the same way from its letters and digits, which browsers prefer."""
    title = one_line(title or "")
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    plain = _name_from(ascii_title, lambda c: c.isascii() and (c.isalnum() or c == "_"))
    wide = _name_from(title, lambda c: c.isalnum() or c == "_")
    fallback = f"task-{task_id}"
    header = f'attachment; filename="{plain or fallback}.{extension}"'
    if wide and wide != plain:
        header += f"; filename*=UTF-8''{quote(f'{wide}.{extension}', safe='')}"
    return header


def etag(body: bytes) -> str:
    """A strong ETag for a file: a hash of its bytes, quoted."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def etag_matches(if_none_match: str | None, current: str) -> bool:
    """Whether an If-None-Match header names `current` (weakly compared, as RFC 9110 says for it) or is `*`."""
    if not if_none_match:
        return False
    tags = [tag.strip() for tag in if_none_match.split(",")]
    return "*" in tags or any(tag.removeprefix("W/") == current for tag in tags)


# ---- the Markdown report ----

# ASCII punctuation a CommonMark or GFM renderer may read as markup anywhere in a line: escapes and
# entities, code spans, emphasis, links and images, raw HTML and autolinks, strikethrough, table cells.
_INLINE = re.compile(r"([\\`*_\[\]<>&~|])")
# What makes a line something else when it starts it (after up to 3 spaces, which are dropped anyway):
# a heading, a block quote (`>` is escaped already), a list item, a setext underline, a thematic break,
# a code fence (backticks and tildes are escaped already).
_LINE_START = re.compile(r"^([#+=-])")
_ORDERED = re.compile(r"^(\d{1,9})([.)])")
# What a link's target keeps as it is; anything else (spaces, parentheses, angle brackets, backslashes,
# non-ASCII) is percent-encoded, so that nothing in it can end the link.
_URL_SAFE = "/-._~%!$&'*+,;=:@?#[]"


def markdown_text(text: str | None) -> str:
    """One line of text from the video or a model, escaped so that Markdown shows it as written: whitespace
    collapsed (a line break cannot start a heading, a list or a code block), markup characters
    backslash-escaped (`\\[link\\](http://evil)` is text, `\\<script>` is text) and so is whatever would make
    the line a heading, a list item or a rule."""
    escaped = _INLINE.sub(r"\\\1", one_line(text or ""))
    escaped = _LINE_START.sub(r"\\\1", escaped)
    return _ORDERED.sub(r"\1\\\2", escaped)


def markdown_paragraphs(text: str | None) -> str:
    """Text that may have paragraphs (a summary, a frame's description): each paragraph escaped as one
    line by `markdown_text`, blank lines between them."""
    paragraphs = re.split(r"\n\s*\n", "\n".join(clean_text(text or "").splitlines()))
    return "\n\n".join(escaped for escaped in map(markdown_text, paragraphs) if escaped)


def clock(seconds: float | None, tenths: bool = False) -> str:
    """1:02:03, 2:03, or with tenths 2:03.4 (a frame's time, which rarely falls on a whole second)."""
    if seconds is None or not math.isfinite(seconds):
        return "?"
    seconds = max(seconds, 0.0)
    whole = int(seconds)
    hours, minutes, secs = whole // 3600, whole // 60 % 60, whole % 60
    text = f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
    if tenths:
        text += f".{int((seconds - whole) * 10)}"
    return text


def _link_target(image_url: str, base_url: str | None) -> str | None:
    """Where a frame's image is: its path on this API (absolute when `base_url` is given), percent-encoded
    so that no character ends the link. Anything that is not such a path (another scheme, another host)
    is not linked."""
    if not image_url.startswith("/") or image_url.startswith("//"):
        return None
    return quote((base_url or "").rstrip("/") + image_url, safe=_URL_SAFE)


def _source(url: str) -> str:
    """The video's URL: a link when it is a plain http(s) URL (nothing in it can end the link), else text."""
    if re.fullmatch(r"https?://[^\s<>\\]+", url, flags=re.ASCII) and url.isascii() and url.isprintable():
        return f"<{url}>"
    return markdown_text(url)


def report_title(task: TaskRecord) -> str:
    return one_line((task.video_info.title if task.video_info else None) or "") or "Untitled video"


def to_markdown(task: TaskRecord, base_url: str | None = None) -> str:
    """The task's results as a Markdown document: what was analysed, the summary, key points, chapters,
    each frame (time, image, description), the transcript with its times, and the notes. `base_url` (the
    API's, e.g. http://localhost:8000) makes the frames' image links absolute; without it they are paths."""
    info = task.video_info
    out = [f"# {markdown_text(report_title(task))}", ""]
    facts = [("Source", _source(task.youtube_url))]
    if info and info.channel:
        facts.append(("Channel", markdown_text(info.channel)))
    facts.append(("Duration", clock(info.duration if info else None)))
    facts.append(("Task", task.task_id))
    when = f"{task.created_at:%Y-%m-%d %H:%M:%S} UTC"
    if task.completed_at:
        when += f", completed {task.completed_at:%Y-%m-%d %H:%M:%S} UTC"
    facts.append(("Created", when))
    out += [f"- **{name}:** {value}" for name, value in facts]

    out += ["", "## Summary", "", markdown_paragraphs(task.summary) or "No summary."]

    out += ["", "## Key points", ""]
    points = [markdown_text(point) for point in task.key_points or []]
    out += [f"- {point}" for point in points if point] or ["No key points."]

    out += ["", "## Chapters", ""]
    for chapter in task.chapters or []:
        line = f"- **{clock(chapter.start)}–{clock(chapter.end)}** {markdown_text(chapter.title)}"
        summary = markdown_text(chapter.summary)
        out.append(f"{line}: {summary}" if summary else line)
    if not task.chapters:
        out.append("No chapters.")

    out += ["", "## Frames", ""]
    strategy = f" ({task.frame_strategy} strategy)" if task.frame_strategy else ""
    frames = task.frames or []
    out.append(f"{len(frames)} frame{'' if len(frames) == 1 else 's'}{strategy}." if frames else "No frames.")
    for frame in frames:
        at = clock(frame.timestamp, tenths=True)
        out += ["", f"### Frame {frame.index + 1} at {at}", ""]
        target = _link_target(frame.image_url, base_url)
        if target is not None:
            out += [f"![Frame {frame.index + 1} at {at}]({target})", ""]
        out.append(markdown_paragraphs(frame.analysis) or "No description.")

    out += ["", "## Transcript", ""]
    cues = timed_cues(task.transcript_segments or [])
    if cues:
        source = TRANSCRIPT_SOURCES.get(task.transcript_source or "", "an unknown source")
        language = f" ({markdown_text(task.transcript_language)})" if task.transcript_language else ""
        out += [f"From {source}{language}.", ""]
        out += [f"- **{clock(cue.start_ms / 1000)}–{clock(cue.end_ms / 1000)}** {markdown_text(' '.join(cue.lines))}"
                for cue in cues]
    elif task.transcript:
        out.append(markdown_paragraphs(task.transcript))
    else:
        out.append("No transcript.")

    if task.notes:
        out += ["", "## Notes", ""]
        out += [f"- {markdown_text(note)}" for note in task.notes if markdown_text(note)]
    return "\n".join(out) + "\n"
