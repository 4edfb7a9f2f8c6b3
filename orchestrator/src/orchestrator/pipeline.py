"""The stages of one task, each a function of the request and the checkpoints before it."""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from service_common.contracts import (
    DEFAULT_FRAME_STRATEGY,
    FrameRef,
    FramesRequest,
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
from .config import ModelEndpoint, OrchestratorSettings
from .deployments import Deployments
from .prompts import vision_messages
from .speech_windows import AudioWindow, drop_doubted, merge_windows, only_hallucinations, plan_windows
from .stage_results import (
    AnalysedFrame,
    Checkpoints,
    ExtractedFrames,
    FrameDescriptions,
    StageOutput,
    TaskResults,
    TaskSummary,
    downloaded,
)
from .summarize import Summarizer

log = logging.getLogger(__name__)

ProgressReporter = Callable[[dict], Awaitable[None]]


@dataclass
class StageContext:
    task_id: str
    request: dict
    checkpoints: Checkpoints
    report: ProgressReporter  # the task's live progress (fenced write; may raise LeaseLost)
    owner: str = ""  # the API key name that created the task


def frames_request(request: dict) -> FramesRequest:
    return FramesRequest(max_frames=request["max_frames"],
                         strategy=request.get("frame_strategy") or DEFAULT_FRAME_STRATEGY)


@dataclass
class Pipeline:
    settings: OrchestratorSettings
    media: MediaClient
    models: ModelClient
    speech: SpeechClient | None = None
    deployments: Deployments = field(kw_only=True)

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
        return downloaded(result)

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
        media_id = ctx.checkpoints.downloading.media_id
        request = frames_request(ctx.request)
        result = await self.media.frames(media_id, request, self.settings.frames_timeout_s)
        if not result.frames:
            raise PermanentError("frame extraction failed: no frame could be read from the video")
        checkpoint = ExtractedFrames(**dict(result), media_id=media_id, request=request)
        return StageOutput(checkpoint, TaskResults(notes=[result.note] if result.note else []))

    async def extract_transcript(self, ctx: StageContext) -> StageOutput:
        download = ctx.checkpoints.downloading
        request = TranscriptRequest(
            url=ctx.request["youtube_url"], proxy=ctx.request.get("proxy"), subtitles=download.subtitles,
            languages=ctx.request.get("transcript_languages"), video_language=download.language)
        # Speech-to-text gets what is left of the stage's time limit, less a margin to store the result:
        # a slow speech server costs the transcript, not the task.
        deadline = asyncio.get_running_loop().time() + 0.9 * self.settings.transcript_timeout_s
        result = await self.media.transcript(download.media_id, request, self.settings.transcript_timeout_s)
        if result.text is None and self.speech is not None:
            result = await self._speech_to_text(download.media_id, request, result, ctx, deadline)
        # What is kept is bounded here too: speech-to-text, or a media service with larger caps, may give more.
        result = capped_transcript(result, self.settings.max_transcript_cues, self.settings.max_transcript_text_chars)
        return StageOutput(result, TaskResults(
            transcript=result.text or None, transcript_source=result.source, transcript_language=result.language,
            notes=result.notes, transcript_segments=result.segments or None))

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
        extracted = ctx.checkpoints.extracting_frames
        frames = extracted.frames
        done = 0

        async def describe(frame: FrameRef) -> str:
            nonlocal done
            jpeg = await self.media.frame_image(extracted.media_id, frame.index, extracted.frame_set,
                                                extracted.request)
            analysis = await self.models.chat(endpoint, vision_messages(jpeg),
                                              f"vision model failed on frame {frame.index}", max_tokens=300,
                                              temperature=0, role="vision")
            done += 1
            await ctx.report({"stage": TaskStatus.ANALYZING_VISION.value, "fraction": done / len(frames),
                              "detail": f"{done} of {len(frames)} frames"})
            return analysis

        analyses = await all_or_nothing(describe(f) for f in frames)
        per_frame = [AnalysedFrame(index=f.index, timestamp=f.timestamp, analysis=a)
                     for f, a in zip(frames, analyses, strict=True)]
        return StageOutput(FrameDescriptions(analyses=analyses), TaskResults(frame_analyses=analyses, frames=per_frame))

    async def analyze_text(self, ctx: StageContext) -> StageOutput:
        endpoint = self._endpoint("text", ctx.request["text_quantization"])
        checkpoints = ctx.checkpoints
        transcript = checkpoints.extracting_transcript
        language = ctx.request.get("language") or transcript.language
        frames = [f.model_dump() for f in checkpoints.extracting_frames.frames]
        result = await self.summarizer.summarize(
            endpoint, checkpoints.downloading.video_info.model_dump(), transcript.text,
            [s.model_dump() for s in transcript.segments], frames, checkpoints.analyzing_vision.analyses, language,
            ctx.request.get("prompt"))
        notes = [f"the transcript was summarised in {result.parts} parts"] if result.parts > 1 else []
        if result.parts_needed > result.parts:
            notes.append(f"the transcript needed {result.parts_needed} parts; {result.parts} evenly spaced ones "
                         f"were summarised (MAX_SUMMARY_PARTS)")
        notes += [f"the text model noted: {note}" for note in result.notes]
        if result.chapters is None:
            notes.append("the text model gave no chapters")
        answer = TaskSummary(summary=result.summary, key_points=result.key_points, chapters=result.chapters)
        return StageOutput(answer, TaskResults(**dict(answer), notes=notes))

    def _endpoint(self, role: str, tier: str) -> ModelEndpoint:
        endpoint = self.deployments.endpoint(role, tier)
        if endpoint is None:
            raise PermanentError(f"no {role} model is deployed for tier {tier}")
        return endpoint


class AudioUnreadable(PermanentError):
    """The media service could not decode the soundtrack (an undecodable or damaged audio track)."""
