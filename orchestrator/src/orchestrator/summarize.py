"""Summary and key points from the transcript and the frame analyses, in one call when the material
fits the text model's context, else map-reduce: each transcript part is summarised on its own, then
the part summaries (with their time ranges) and the frames are summarised together. At most
MAX_SUMMARY_PARTS parts are summarised: of a longer transcript, that many evenly spaced ones."""

from dataclasses import dataclass

from service_common.errors import PermanentError, ServiceError
from service_common.transcript_limits import clock

from .clients.models import ModelClient
from .concurrency import all_or_nothing
from .config import ModelEndpoint
from .prompts import SUMMARY_SCHEMA, parse_summary, part_messages, summary_material, text_messages

JSON_ANSWER = {"type": "json_schema", "json_schema": {"name": "video_summary", "schema": SUMMARY_SCHEMA}}
CHARS_PER_TOKEN = 3  # conservative for English; denser scripts only make parts smaller than needed
RESERVED_TOKENS = 2048  # instructions, frame lines and the answer


@dataclass
class Summary:
    summary: str
    key_points: list[str]
    parts: int  # transcript parts summarised on their own (1: all in one call)
    parts_needed: int  # parts the whole transcript makes; more than `parts` when MAX_SUMMARY_PARTS cut it


def evenly_spaced(parts: list[str], max_parts: int) -> list[str]:
    """At most `max_parts` of the parts, spread evenly from the first to the last, in order."""
    if len(parts) <= max_parts:
        return parts
    if max_parts == 1:
        return parts[:1]
    step = (len(parts) - 1) / (max_parts - 1)
    return [parts[round(i * step)] for i in range(max_parts)]


def transcript_parts(text: str | None, segments: list[dict] | None, max_chars: int) -> list[str]:
    """The transcript cut into parts of at most `max_chars`, at segment (else word) boundaries,
    each part starting with its time range when segments give one."""
    if not text:
        return []
    if len(text) <= max_chars:
        return [text]
    pieces = ([(s["start"], s["end"], s["text"]) for s in segments] if segments
              else [(None, None, word) for word in text.split()])
    parts, current, start, end, size = [], [], None, None, 0
    for piece_start, piece_end, piece in pieces:
        if current and size + len(piece) + 1 > max_chars:
            parts.append(_part(start, end, current))
            current, start, size = [], None, 0
        current.append(piece[:max_chars])
        start = piece_start if start is None else start
        end = piece_end
        size += len(piece) + 1
    if current:
        parts.append(_part(start, end, current))
    return parts


def _part(start: float | None, end: float | None, pieces: list[str]) -> str:
    span = f"[{clock(start)}–{clock(end)}] " if start is not None and end is not None else ""
    return span + " ".join(pieces)


def _time_range(part: str) -> str:
    """The "[mm:ss–mm:ss] " prefix transcript_parts gave a part, or "" when it has none."""
    return part.split("] ", 1)[0] + "] " if part.startswith("[") else ""


class Summarizer:
    def __init__(self, models: ModelClient, max_transcript_chars: int, max_parts: int):
        self._models = models
        self._max_chars = max_transcript_chars
        self._max_parts = max_parts
        self._context_chars: dict[str, int] = {}

    async def context_chars(self, endpoint: ModelEndpoint) -> int:
        """Transcript characters one call may carry: from the server's max_model_len (vLLM reports it in
        /v1/models) when it says, capped by MAX_TRANSCRIPT_CHARS."""
        key = f"{endpoint.base_url}|{endpoint.model}"
        if key not in self._context_chars:
            limit = self._max_chars
            try:
                cards = await self._models.list_models(endpoint)
                card = next((c for c in cards if isinstance(c, dict) and c.get("id") == endpoint.model), {})
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
                self._ask(endpoint, part_messages(title, part, language), f"text model failed on part {i + 1}")
                for i, part in enumerate(parts))
            digest = "\n".join(_time_range(part) + summary
                               for part, (summary, _points) in zip(parts, answers, strict=True))
            transcript = "(summarised in parts)\n" + digest
        material = summary_material(video_info, transcript, frames, analyses)
        summary, key_points = await self._ask(endpoint, text_messages(material, language, prompt),
                                              "text model failed")
        return Summary(summary, key_points, len(parts), len(all_parts))

    async def _ask(self, endpoint: ModelEndpoint, messages: list[dict], what: str) -> tuple[str, list[str]]:
        content = await self._models.chat(endpoint, messages, what, max_tokens=1024, temperature=0,
                                          response_format=JSON_ANSWER)
        summary, key_points = parse_summary(content)
        summary = summary or " ".join(key_points)  # an answer that is only a list still says something
        if not summary:
            raise PermanentError(f"{what}: its answer was empty")
        return summary, key_points
