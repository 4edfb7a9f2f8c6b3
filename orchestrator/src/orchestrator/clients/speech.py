"""Speech-to-text over the OpenAI audio API (/v1/audio/transcriptions), one audio window at a time."""

from dataclasses import dataclass

from service_common.contracts import TranscriptSegment
from service_common.errors import PermanentError, ServiceError

from ..config import ModelEndpoint
from ..speech_windows import HeardSegment
from .models import ModelClient

# Answers meaning the server has no transcription endpoint at all (an older lite server, a chat-only vLLM).
NOT_SERVED = {404, 405, 501}


class SpeechUnavailable(PermanentError):
    """The speech server does not offer /audio/transcriptions."""


@dataclass
class HeardWindow:
    segments: list[HeardSegment]  # on the video's clock
    language: str | None
    timed: bool  # False: the server gave text without segments, so the window is one segment


# What to ask for, best first; a server that refuses one (400) is asked for the next.
FORMATS = (("verbose_json", ("segment", "word")), ("verbose_json", ()), ("json", ()))


class SpeechClient:
    """Transcription calls go through the ModelClient: the same per-endpoint bound, per-attempt time
    limit and retries as every other model call."""

    def __init__(self, models: ModelClient, endpoint: ModelEndpoint):
        self._models = models
        self.endpoint = endpoint

    async def transcribe(self, wav: bytes, offset_s: float, window_s: float, language: str | None) -> HeardWindow:
        """What was said in one window, times shifted by `offset_s` to the video's clock."""
        for response_format, granularities in FORMATS:
            try:
                body = await self._post(wav, response_format, granularities, language)
                break
            except SpeechUnavailable:
                raise
            except PermanentError as exc:
                if exc.status != 400 or response_format == "json":
                    raise
        words = _timed_items(body.get("words"), offset_s, window_s, "word")
        segments = [HeardSegment(segment, tuple(w for w in words if segment.start <= _middle(w) <= segment.end),
                                 doubt)
                    for segment, doubt in zip(*_segments_and_doubts(body.get("segments"), offset_s, window_s),
                                              strict=True)]
        timed = bool(segments)
        text = str(body.get("text") or "").strip()
        if not segments and text:
            segments = [HeardSegment(TranscriptSegment(start=offset_s, end=offset_s + window_s, text=text))]
        language_heard = body.get("language")
        return HeardWindow(segments, language_heard if isinstance(language_heard, str) else None, timed or not text)

    async def _post(self, wav: bytes, response_format: str, granularities: tuple[str, ...],
                    language: str | None) -> dict:
        data: dict = {"model": self.endpoint.model, "response_format": response_format, "temperature": "0"}
        if granularities:
            data["timestamp_granularities[]"] = list(granularities)
        if language:
            data["language"] = language
        try:
            response = await self._models.post(self.endpoint, "/audio/transcriptions", "speech-to-text failed",
                                               role="speech", data=data,
                                               files={"file": ("audio.wav", wav, "audio/wav")})
        except ServiceError as exc:
            if exc.status in NOT_SERVED:
                raise SpeechUnavailable(exc.message) from exc
            raise
        try:
            body = response.json()
        except ValueError:
            # response_format "text", or a server that ignores the format: the body is the text.
            return {"text": response.text}
        if isinstance(body, str):
            return {"text": body}
        if not isinstance(body, dict):
            raise PermanentError("speech-to-text failed: the answer was not a JSON object")
        return body


def _middle(segment: TranscriptSegment) -> float:
    return (segment.start + segment.end) / 2


def _timed_items(raw_items, offset_s: float, window_s: float, text_key: str) -> list[TranscriptSegment]:
    """Segments or words of an answer on the video's clock, within the window that was sent (vLLM's
    Whisper has given a segment ending at 35.5 s of a 3 s clip); malformed ones are left out."""
    items = []
    for raw in raw_items if isinstance(raw_items, list) else []:
        if not isinstance(raw, dict):
            continue
        text = str(raw.get(text_key, "")).strip()
        try:
            start, end = float(raw.get("start", 0.0)), float(raw.get("end", 0.0))
        except (TypeError, ValueError):
            continue
        if text and 0 <= start <= end:
            start, end = min(start, window_s), min(end, window_s)
            items.append(TranscriptSegment(start=offset_s + start, end=offset_s + end, text=text))
    return items


def _segments_and_doubts(raw_segments, offset_s: float,
                         window_s: float) -> tuple[list[TranscriptSegment], list[float | None]]:
    segments, doubts = [], []
    for raw in raw_segments if isinstance(raw_segments, list) else []:
        found = _timed_items([raw], offset_s, window_s, "text")
        if found:
            segments.append(found[0])
            doubt = raw.get("no_speech_prob")
            doubts.append(float(doubt) if isinstance(doubt, int | float) and not isinstance(doubt, bool) else None)
    return segments, doubts
