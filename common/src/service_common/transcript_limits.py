"""How much of a transcript a task keeps: at most so many cues and so many characters of text.

A subtitle track can be far longer than any real video needs (hundreds of thousands of cues); the
task's answer, its database row and the text model's work all grow with it. The media service cuts
a transcript where it is made, and the orchestrator cuts again whatever reaches it (speech-to-text,
or a media service with other settings), both with these functions.
"""

from .contracts import TranscriptResult, TranscriptSegment


def clock(seconds: float) -> str:
    """A time in a video as people read it: "07:05", "1:23:45"."""
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours:d}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60:02d}:{rest % 60:02d}"


def _cut_note(at: float, kept: str, setting: str) -> str:
    return f"the transcript was cut at {clock(at)} after {kept} ({setting})"


def _words_within(text: str, room: int) -> str:
    """The start of `text` in at most `room` characters, ending at a word boundary when there is one."""
    if len(text) <= room:
        return text
    cut = text.rfind(" ", 0, room + 1)  # a space just past the room still ends the last word that fits
    return text[:cut] if cut > 0 else text[:room]


def capped_segments(segments: list[TranscriptSegment], max_cues: int,
                    max_chars: int) -> tuple[list[TranscriptSegment], str | None]:
    """The first segments that fit both caps (their texts joined by spaces count against `max_chars`;
    the segment that crosses it keeps what fits), and a note saying where the cut was, or None."""
    kept: list[TranscriptSegment] = []
    used = 0
    for segment in segments:
        if len(kept) >= max_cues:
            return kept, _cut_note(segment.start, f"{max_cues:,} cues", "MAX_TRANSCRIPT_CUES")
        separator = 1 if kept else 0
        room = max_chars - used - separator
        if len(segment.text) > room:
            head = _words_within(segment.text, room) if room > 0 else ""
            if head:
                kept.append(segment.model_copy(update={"text": head}))
            return kept, _cut_note(segment.start, f"{max_chars:,} characters", "MAX_TRANSCRIPT_TEXT_CHARS")
        kept.append(segment)
        used += separator + len(segment.text)
    return kept, None


def capped_transcript(result: TranscriptResult, max_cues: int, max_chars: int) -> TranscriptResult:
    """The result itself when it fits both caps; else its first part that fits, with a note saying where
    it was cut. The text is rebuilt from the kept segments, so text and segments still agree."""
    segments, note = capped_segments(result.segments, max_cues, max_chars)
    text = result.text
    if note is not None:
        text = " ".join(s.text for s in segments) or None
    elif text is not None and len(text) > max_chars:  # text without segments (or longer than they are)
        text = _words_within(text, max_chars)
        note = f"the transcript was cut after {max_chars:,} characters (MAX_TRANSCRIPT_TEXT_CHARS)"
    if note is None:
        return result
    return result.model_copy(update={"text": text, "segments": segments, "notes": [*result.notes, note]})
