"""Summary, key points and chapters from the transcript (with its times) and the frame analyses, in one
call when the material fits the text model's context, else map-reduce: each transcript part is
summarised on its own, then the part summaries (with their time ranges) and the frames are summarised
together, chapters included. At most
MAX_SUMMARY_PARTS parts are summarised: of a longer transcript, that many evenly spaced ones."""

from dataclasses import dataclass, field
from typing import TypeVar

from service_common.errors import PermanentError, ServiceError
from service_common.transcript_limits import clock

from .chapters import repair_chapters
from .clients.models import ModelClient
from .concurrency import all_or_nothing
from .config import ModelEndpoint
from .prompts import (
    SUMMARY_SCHEMA,
    TextAnswer,
    parse_answer,
    part_messages,
    summary_material,
    text_messages,
    timed_lines,
)

JSON_ANSWER = {"type": "json_schema", "json_schema": {"name": "video_summary", "schema": SUMMARY_SCHEMA}}
CHARS_PER_TOKEN = 3  # conservative for English; denser scripts only make parts smaller than needed
RESERVED_TOKENS = 2560  # instructions, frame lines and the answer
ANSWER_TOKENS = 1536  # summary, key points and chapters
PART_ANSWER_TOKENS = 1024
Part = TypeVar("Part")


@dataclass
class Summary:
    summary: str
    key_points: list[str]
    parts: int  # transcript parts summarised on their own (1: all in one call)
    parts_needed: int  # parts the whole transcript makes; more than `parts` when MAX_SUMMARY_PARTS cut it
    chapters: list[dict] | None = None  # repaired: see chapters.repair_chapters
    notes: list[str] = field(default_factory=list)  # what the model said it could not do


def evenly_spaced(parts: list[Part], max_parts: int) -> list[Part]:
    """At most `max_parts` of the parts, spread evenly from the first to the last, in order."""
    if len(parts) <= max_parts:
        return parts
    if max_parts == 1:
        return parts[:1]
    step = (len(parts) - 1) / (max_parts - 1)
    return [parts[round(i * step)] for i in range(max_parts)]


@dataclass
class TranscriptPart:
    text: str  # timed lines ("[MM:SS] text") when segments gave times, else bare words
    start: float | None = None
    end: float | None = None

    def time_range(self) -> str:
        """"[mm:ss–mm:ss] " when the part has times, else ""."""
        return f"[{clock(self.start)}–{clock(self.end)}] " if self.start is not None and self.end is not None else ""


def transcript_parts(text: str | None, segments: list[dict] | None, max_chars: int) -> list[TranscriptPart]:
    """The transcript cut into parts of at most `max_chars`: one "[MM:SS] text" line per segment, cut
    between lines, when segments give times; else its text, cut between words."""
    if not text:
        return []
    if segments:
        lines = timed_lines(segments)
        pieces = [(s["start"], s["end"], line[:max_chars]) for s, line in zip(segments, lines, strict=True)]
        separator = "\n"
    else:
        pieces = [(None, None, word[:max_chars]) for word in text.split()]
        separator = " "
        if len(text) <= max_chars:
            return [TranscriptPart(text)]
    parts, current, start, end, size = [], [], None, None, 0
    for piece_start, piece_end, piece in pieces:
        if current and size + len(piece) + 1 > max_chars:
            parts.append(TranscriptPart(separator.join(current), start, end))
            current, start, size = [], None, 0
        current.append(piece)
        start = piece_start if start is None else start
        end = piece_end
        size += len(piece) + 1
    if current:
        parts.append(TranscriptPart(separator.join(current), start, end))
    return parts


class Summarizer:
    def __init__(self, models: ModelClient, max_transcript_chars: int, max_parts: int):
        self._models = models
        self._max_chars = max_transcript_chars
        self._max_parts = max_parts
        self._context_chars: dict[str, int] = {}

    async def context_chars(self, endpoint: ModelEndpoint) -> int:
        """Transcript characters one call may carry: from the server's max_model_len (vLLM reports it in
        /v1/models) when it says, capped by MAX_TRANSCRIPT_CHARS."""
        key = endpoint.server_key
        if key not in self._context_chars:
            limit = self._max_chars
            try:
                card = await self._models.model_card(endpoint) or {}
                tokens = card.get("max_model_len")
                if isinstance(tokens, int) and tokens > RESERVED_TOKENS:
                    limit = min(limit, (tokens - RESERVED_TOKENS) * CHARS_PER_TOKEN)
            except ServiceError:
                pass
            self._context_chars[key] = max(limit, 1000)
        return self._context_chars[key]

    async def summarize(self, endpoint: ModelEndpoint, video_info: dict | None, transcript: str | None,
                        segments: list[dict] | None, frames: list[dict], analyses: list[str],
                        language: str | None, prompt: str | None) -> Summary:
        all_parts = transcript_parts(transcript, segments, await self.context_chars(endpoint))
        parts = evenly_spaced(all_parts, self._max_parts)
        if len(parts) > 1:
            title = (video_info or {}).get("title")
            answers = await all_or_nothing(
                self._ask(endpoint, part_messages(title, part.text, language), f"text model failed on part {i + 1}",
                          PART_ANSWER_TOKENS)
                for i, part in enumerate(parts))
            material_transcript = parts_digest(parts, [answer.summary for answer in answers])
        else:
            material_transcript = parts[0].text if parts else None
        material = summary_material(video_info, material_transcript, frames, analyses)
        answer = await self._ask(endpoint, text_messages(material, language, prompt), "text model failed",
                                 ANSWER_TOKENS)
        chapters = repair_chapters(answer.chapters, _end_of_video(video_info, segments, frames))
        return Summary(answer.summary, answer.key_points, len(parts), len(all_parts), chapters, answer.notes)

    async def _ask(self, endpoint: ModelEndpoint, messages: list[dict], what: str, max_tokens: int) -> TextAnswer:
        content = await self._models.chat(endpoint, messages, what, max_tokens=max_tokens, temperature=0,
                                          response_format=JSON_ANSWER, role="text")
        answer = parse_answer(content)
        answer.summary = answer.summary or " ".join(answer.key_points)  # a list alone still says something
        if not answer.summary:
            raise PermanentError(f"{what}: its answer was empty")
        return answer


def parts_digest(parts: list[TranscriptPart], summaries: list[str]) -> str:
    """What the final call reads in place of a long transcript: each part's summary after its time range."""
    return "(summarised in parts)\n" + "\n".join(
        part.time_range() + summary for part, summary in zip(parts, summaries, strict=True))


def _end_of_video(video_info: dict | None, segments: list[dict] | None, frames: list[dict]) -> float | None:
    """The video's duration; for a video of unknown length, the latest moment the material shows (all the
    model can know of), or None when even that is unknown."""
    duration = (video_info or {}).get("duration")
    if isinstance(duration, int | float) and duration > 0:
        return float(duration)
    times = [s["end"] for s in segments or []] + [f.get("timestamp") or 0.0 for f in frames]
    return max(times, default=0.0) or None
