"""Models exchanged between the services. The public API's shapes live in the gateway."""

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

Quantization = Literal["int4", "int8", "fp16"]
QUANTIZATION_TIERS: tuple[str, ...] = ("int4", "int8", "fp16")
Role = Literal["vision", "text"]


class TaskStatus(StrEnum):
    PENDING = "pending"
    DOWNLOADING = "downloading"
    EXTRACTING_FRAMES = "extracting_frames"
    EXTRACTING_TRANSCRIPT = "extracting_transcript"
    ANALYZING_VISION = "analyzing_vision"
    ANALYZING_TEXT = "analyzing_text"
    COMPLETED = "completed"
    FAILED = "failed"


# The pipeline's stages, in the order the seed gives them; each is also the status shown while it runs.
STAGES: tuple[TaskStatus, ...] = (
    TaskStatus.DOWNLOADING,
    TaskStatus.EXTRACTING_FRAMES,
    TaskStatus.EXTRACTING_TRANSCRIPT,
    TaskStatus.ANALYZING_VISION,
    TaskStatus.ANALYZING_TEXT,
)
TERMINAL_STATUSES = frozenset({TaskStatus.COMPLETED, TaskStatus.FAILED})
STATUS_ORDER: dict[str, int] = {s.value: i for i, s in enumerate(TaskStatus)}


class ErrorBody(BaseModel):
    """Body of every non-2xx answer between services."""

    detail: str
    retryable: bool = False


# ---- orchestrator task API (used by the gateway) ----


class TaskCreate(BaseModel):
    youtube_url: str
    max_frames: int = 8
    vision_quantization: Quantization = "int4"
    text_quantization: Quantization = "int4"
    proxy: str | None = None


class VideoInfo(BaseModel):
    title: str | None = None
    duration: float | None = None
    channel: str | None = None


class TaskRecord(BaseModel):
    """What the orchestrator tells the gateway about one task."""

    task_id: str
    status: TaskStatus
    youtube_url: str
    created_at: datetime
    completed_at: datetime | None = None
    video_info: VideoInfo | None = None
    summary: str | None = None
    key_points: list[str] | None = None
    frame_analyses: list[str] | None = None
    transcript: str | None = None
    error: str | None = None


class TaskPage(BaseModel):
    total: int
    tasks: list[TaskRecord]


class EndpointHealth(BaseModel):
    role: Role
    tier: str
    base_url: str
    model: str
    reachable: bool
    gpu_available: bool = False
    gpu_name: str | None = None
    detail: str | None = None


class OrchestratorHealth(BaseModel):
    database_ok: bool
    active_tasks: int
    endpoints: list[EndpointHealth] = Field(default_factory=list)


# ---- media service API (used by the orchestrator) ----


class DownloadRequest(BaseModel):
    url: str
    proxy: str | None = None


class SubtitleTrack(BaseModel):
    language: str
    ext: str
    url: str
    automatic: bool = False


class DownloadResult(BaseModel):
    media_id: str
    video_info: VideoInfo
    webpage_url: str | None = None
    extractor: str | None = None
    subtitles: list[SubtitleTrack] = Field(default_factory=list)


class FramesRequest(BaseModel):
    max_frames: int = Field(ge=1)


class FrameRef(BaseModel):
    index: int
    timestamp: float  # seconds from the start of the video
    width: int
    height: int


class FramesResult(BaseModel):
    frames: list[FrameRef]


class TranscriptRequest(BaseModel):
    url: str
    proxy: str | None = None
    subtitles: list[SubtitleTrack] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=lambda: ["en"])


class TranscriptSegment(BaseModel):
    start: float
    end: float
    text: str


class TranscriptResult(BaseModel):
    text: str | None = None
    segments: list[TranscriptSegment] = Field(default_factory=list)
    language: str | None = None
    source: str | None = None  # "youtube-transcript-api", "subtitles", or None when there is none
