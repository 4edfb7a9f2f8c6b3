"""What each stage of a task gives: the checkpoint a resumed task starts from, and the results it shows.

A task's checkpoints are stored as JSON, one entry per finished stage, keyed by the stage's status; they
are read back through these models, which also read every shape written before them (a frames
checkpoint without its frame set's `request`, for one).
"""

import logging
from dataclasses import dataclass, field

from pydantic import BaseModel, ValidationError

from service_common.contracts import (
    Chapter,
    DownloadResult,
    FramesRequest,
    FramesResult,
    TaskStatus,
    TranscriptResult,
    TranscriptSegment,
    TranscriptSource,
    VideoInfo,
)

logger = logging.getLogger(__name__)


class ExtractedFrames(FramesResult):
    """The frames stage's checkpoint: its frames, with the media and the frame set they were read from
    (None in checkpoints written before frame sets were kept)."""

    media_id: str
    request: FramesRequest | None = None


class FrameDescriptions(BaseModel):
    """The vision stage's checkpoint: the vision model's description of each frame, in frame order."""

    analyses: list[str]


class TaskSummary(BaseModel):
    """The text stage's checkpoint: the text model's answer, chapters repaired."""

    summary: str | None = None
    key_points: list[str] | None = None
    chapters: list[Chapter] | None = None


StageCheckpoint = DownloadResult | ExtractedFrames | TranscriptResult | FrameDescriptions | TaskSummary


class AnalysedFrame(BaseModel):
    index: int
    timestamp: float
    analysis: str | None = None


class TaskResults(BaseModel):
    """The results a stage fills in, each stored in the task's column of the same name; a field left
    unset leaves its column as it is."""

    media_id: str | None = None
    video_info: VideoInfo | None = None
    notes: list[str] = []  # each stage's notes add to the earlier stages'
    transcript: str | None = None
    transcript_segments: list[TranscriptSegment] | None = None
    transcript_source: TranscriptSource | None = None
    transcript_language: str | None = None
    frame_analyses: list[str] | None = None
    frames: list[AnalysedFrame] | None = None
    summary: str | None = None
    key_points: list[str] | None = None
    chapters: list[Chapter] | None = None

    def columns(self) -> dict:
        """The values of the fields set, as their columns store them."""
        stored = self.model_dump()
        return {name: stored[name] for name in self.model_fields_set}


@dataclass
class StageOutput:
    checkpoint: StageCheckpoint
    results: TaskResults = field(default_factory=TaskResults)


def downloaded(result: DownloadResult) -> StageOutput:
    """The download stage's output: the task now uses that media, and shows the video's facts."""
    return StageOutput(result, TaskResults(media_id=result.media_id, video_info=result.video_info))


class Checkpoints(BaseModel):
    """The checkpoints of a task's finished stages; None for a stage still to run."""

    downloading: DownloadResult | None = None
    extracting_frames: ExtractedFrames | None = None
    extracting_transcript: TranscriptResult | None = None
    analyzing_vision: FrameDescriptions | None = None
    analyzing_text: TaskSummary | None = None

    @classmethod
    def from_stored(cls, stored: dict | None) -> "Checkpoints":
        """The checkpoints a task row holds. An entry that does not read as its stage's checkpoint (a shape
        no version kept here wrote, or a damaged row) is left out, so its stage runs again, rather than
        making the task impossible to claim."""
        try:
            return cls.model_validate(stored or {})
        except ValidationError:
            pass
        readable = {}
        for stage, entry in stored.items():
            try:
                cls.model_validate({stage: entry})
            except ValidationError:
                logger.warning("the %s checkpoint does not read as one; that stage runs again", stage)
                continue
            readable[stage] = entry
        return cls.model_validate(readable)

    def finished(self, stage: TaskStatus) -> bool:
        return getattr(self, stage.value) is not None

    def with_stage(self, stage: TaskStatus, checkpoint: StageCheckpoint) -> "Checkpoints":
        return self.model_copy(update={stage.value: checkpoint})
