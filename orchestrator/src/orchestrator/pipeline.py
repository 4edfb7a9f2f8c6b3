"""The stages of one task, each a function of the request and the checkpoints before it."""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from service_common.contracts import (
    DEFAULT_FRAME_STRATEGY,
    FramesRequest,
    SubtitleTrack,
    TaskStatus,
    TranscriptRequest,
    TranscriptResult,
)
from service_common.errors import PermanentError, ServiceError
from service_common.transcript_limits import capped_transcript

from .clients.media import MediaClient
from .clients.models import ModelClient
from .clients.speech import HeardWindow, SpeechClient, SpeechUnavailable
from .concurrency import all_or_nothing
from .config import OrchestratorSettings
from .prompts import vision_messages
from .speech_windows import AudioWindow, drop_doubted, merge_windows, only_hallucinations, plan_windows
from .summarize import Summarizer

log = logging.getLogger(__name__)

ProgressReporter = Callable[[dict], Awaitable[None]]


@dataclass
class StageContext:
    task_id: str
    request: dict
    checkpoints: dict
    report: ProgressReporter  # the task's live progress (fenced write; may raise LeaseLost)
    owner: str = ""  # the API key name that created the task


@dataclass
class StageOutput:
    checkpoint: dict
    result_fields: dict  # columns of the public view that this stage fills


def frames_request(request: dict) -> FramesRequest:
    return FramesRequest(max_frames=request["max_frames"],
                         strategy=request.get("frame_strategy") or DEFAULT_FRAME_STRATEGY)


@dataclass
class Pipeline:
    settings: OrchestratorSettings
    media: MediaClient
    models: ModelClient
    speech: SpeechClient | None = None

    def __post_init__(self) -> None:
        self.summarizer = Summarizer(self.models, self.settings.max_transcript_chars,
                                     self.settings.max_summary_parts)

    async def run_stage(self, stage: TaskStatus, ctx: StageContext) -> StageOutput:
        handler = {
            TaskStatus.DOWNLOADING: self.download,
            TaskStatus.EXTRACTING_FRAMES: self.extract_frames,
            TaskStatus.EXTRACTING_TRANSCRIPT: self.extract_transcript,
            TaskStatus.ANALYZING_VISION: self.analyze_vision,
            TaskStatus.ANALYZING_TEXT: self.analyze_text,
        }[stage]
        return await handler(ctx)

    async def download(self, ctx: StageContext) -> StageOutput:
        watcher = asyncio.create_task(self._watch_download(ctx))
        try:
            result = await self.media.download(ctx.request["youtube_url"], ctx.request.get("proxy"), ctx.task_id,
                                               self.settings.download_timeout_s, owner=ctx.owner)
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        return StageOutput(result.model_dump(), {"video_info": result.video_info.model_dump()})

    async def _watch_download(self, ctx: StageContext) -> None:
        """Copy the media service's byte counts into the task while the download runs."""
        while True:
            await asyncio.sleep(self.settings.progress_interval_s)
            try:
                progress = await self.media.download_progress(ctx.task_id)
            except ServiceError:
                continue  # progress is a nicety; the download itself decides the outcome
            if progress.state in ("downloading", "processing"):
                await ctx.report({"stage": TaskStatus.DOWNLOADING.value, "fraction": progress.fraction,
                                  "downloaded_bytes": progress.downloaded_bytes,
                                  "total_bytes": progress.total_bytes, "detail": progress.state})

    async def extract_frames(self, ctx: StageContext) -> StageOutput:
        media_id = ctx.checkpoints["downloading"]["media_id"]
        request = frames_request(ctx.request)
        result = await self.media.frames(media_id, request, self.settings.frames_timeout_s)
        if not result.frames:
            raise PermanentError("frame extraction failed: no frame could be read from the video")
        checkpoint = {"media_id": media_id, "request": request.model_dump(),
                      "frames": [f.model_dump() for f in result.frames]}
        return StageOutput(checkpoint, {"notes": [result.note] if result.note else []})

    async def extract_transcript(self, ctx: StageContext) -> StageOutput:
        download = ctx.checkpoints["downloading"]
        request = TranscriptRequest(
            url=ctx.request["youtube_url"], proxy=ctx.request.get("proxy"),
            subtitles=[SubtitleTrack.model_validate(s) for s in download.get("subtitles", [])],
            languages=ctx.request.get("transcript_languages"), video_language=download.get("language"))
        # Speech-to-text gets what is left of the stage's time limit, less a margin to store the result:
        # a slow speech server costs the transcript, not the task.
        deadline = asyncio.get_running_loop().time() + 0.9 * self.settings.transcript_timeout_s
        result = await self.media.transcript(download["media_id"], request, self.settings.transcript_timeout_s)
        if result.text is None and self.speech is not None:
            result = await self._speech_to_text(download["media_id"], request, result, ctx, deadline)
        # What is kept is bounded here too: speech-to-text, or a media service with larger caps, may give more.
        result = capped_transcript(result, self.settings.max_transcript_cues, self.settings.max_transcript_text_chars)
        fields = {"transcript": result.text or None, "transcript_source": result.source,
                  "transcript_language": result.language, "notes": result.notes,
                  "transcript_segments": [s.model_dump() for s in result.segments] or None}
        return StageOutput(result.model_dump(), fields)

    async def _speech_to_text(self, media_id: str, request: TranscriptRequest, found: TranscriptResult,
                              ctx: StageContext, deadline: float) -> TranscriptResult:
        """The transcript heard in the soundtrack; whatever goes wrong, a note and no transcript, never a
        failed task: the frames still tell what the video shows."""
        try:
            async with asyncio.timeout_at(deadline):
                heard = await self._hear(media_id, request, ctx)
        except TimeoutError:
            heard = ("no transcript from the audio: speech-to-text did not finish within the transcript "
                     f"stage's time limit ({self.settings.transcript_timeout_s:g} s, TRANSCRIPT_TIMEOUT_S)")
        except SpeechUnavailable:
            heard = f"speech-to-text is not available at the speech server (model {self.speech.endpoint.model})"
        except AudioUnreadable as exc:
            heard = f"no transcript from the audio: {exc.message}"
        except ServiceError as exc:
            heard = f"no transcript from the audio: {exc.message}" + (" (after retries)" if exc.retryable else "")
        if isinstance(heard, str):
            return found.model_copy(update={"notes": [*found.notes, heard]})
        return heard.model_copy(update={"notes": [*found.notes, *heard.notes]})

    async def _hear(self, media_id: str, request: TranscriptRequest, ctx: StageContext) -> TranscriptResult | str:
        try:
            info = await self.media.audio_info(media_id)
        except PermanentError as exc:
            raise AudioUnreadable(exc.message) from exc
        duration = info.get("duration") or 0.0
        if not info.get("has_audio") or duration <= 0:
            return "the video has no audio to transcribe"
        # The caller's preferred language; otherwise the model's own detection.
        language = (request.languages or [None])[0]
        windows = plan_windows(duration, self.settings.speech_chunk_s, self.settings.speech_overlap_s)
        done = 0

        async def hear(window: AudioWindow) -> HeardWindow:
            nonlocal done
            try:
                wav = await self.media.audio_window(media_id, window.start, window.length)
            except PermanentError as exc:
                raise AudioUnreadable(exc.message) from exc
            heard = await self.speech.transcribe(wav, window.start, window.length, language)
            done += 1
            await ctx.report({"stage": TaskStatus.EXTRACTING_TRANSCRIPT.value, "fraction": done / len(windows),
                              "detail": f"speech to text, {done} of {len(windows)} audio windows"})
            return heard

        heard = await all_or_nothing(hear(w) for w in windows)
        segments = merge_windows(windows, [drop_doubted(h.segments) for h in heard])
        model = self.speech.endpoint.model
        if not segments or only_hallucinations(segments):
            return f"speech-to-text ({model}) heard no speech"
        notes = [f"transcribed from the audio by {model}"]
        if not all(h.timed for h in heard):
            notes.append(f"{model} gave no segment timings; each audio window of up to "
                         f"{self.settings.speech_chunk_s:g} s is one segment, and words where windows overlap "
                         "may repeat")
        detected = next((h.language for h in heard if h.language), None)
        return TranscriptResult(text=" ".join(s.text for s in segments), segments=segments,
                                language=language or detected, source="speech_to_text", notes=notes)

    async def analyze_vision(self, ctx: StageContext) -> StageOutput:
        endpoint = self._endpoint("vision", ctx.request["vision_quantization"])
        extracted = ctx.checkpoints["extracting_frames"]
        frames = extracted["frames"]
        frame_set = FramesRequest.model_validate(extracted["request"]) if "request" in extracted else None
        done = 0

        async def describe(frame: dict) -> str:
            nonlocal done
            jpeg = await self.media.frame_image(extracted["media_id"], frame["index"], frame_set)
            analysis = await self.models.chat(endpoint, vision_messages(jpeg),
                                              f"vision model failed on frame {frame['index']}", max_tokens=300,
                                              temperature=0, role="vision")
            done += 1
            await ctx.report({"stage": TaskStatus.ANALYZING_VISION.value, "fraction": done / len(frames),
                              "detail": f"{done} of {len(frames)} frames"})
            return analysis

        analyses = await all_or_nothing(describe(f) for f in frames)
        per_frame = [{"index": f["index"], "timestamp": f["timestamp"], "analysis": a}
                     for f, a in zip(frames, analyses, strict=True)]
        return StageOutput({"analyses": analyses}, {"frame_analyses": analyses, "frames": per_frame})

    async def analyze_text(self, ctx: StageContext) -> StageOutput:
        endpoint = self._endpoint("text", ctx.request["text_quantization"])
        transcript = ctx.checkpoints["extracting_transcript"]
        language = ctx.request.get("language") or transcript.get("language")
        result = await self.summarizer.summarize(
            endpoint, ctx.checkpoints["downloading"].get("video_info"), transcript.get("text"),
            transcript.get("segments"), ctx.checkpoints["extracting_frames"]["frames"],
            ctx.checkpoints["analyzing_vision"]["analyses"], language, ctx.request.get("prompt"))
        notes = [f"the transcript was summarised in {result.parts} parts"] if result.parts > 1 else []
        if result.parts_needed > result.parts:
            notes.append(f"the transcript needed {result.parts_needed} parts; {result.parts} evenly spaced ones "
                         f"were summarised (MAX_SUMMARY_PARTS)")
        notes += [f"the text model noted: {note}" for note in result.notes]
        if result.chapters is None:
            notes.append("the text model gave no chapters")
        answer = {"summary": result.summary, "key_points": result.key_points, "chapters": result.chapters}
        return StageOutput(answer, {**answer, "notes": notes})

    def _endpoint(self, role: str, tier: str):
        deployed = self.settings.deployments().get(role, {})
        if tier not in deployed:
            raise PermanentError(f"no {role} model is deployed for tier {tier}")
        return deployed[tier]


class AudioUnreadable(PermanentError):
    """The media service could not decode the soundtrack (an undecodable or damaged audio track)."""
