"""Models exchanged between the services. The public API's shapes live in the gateway, except that a
task record is written in the public API's spelling (times, durations), so that the gateway can hand the
orchestrator's answer on as it is."""

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, Field, PlainSerializer

Quantization = Literal["int4", "int8", "fp16"]
QUANTIZATION_TIERS: tuple[str, ...] = ("int4", "int8", "fp16")
Role = Literal["vision", "text"]
# "scenes": one frame per visual scene, near-duplicates dropped; "uniform": evenly spread in time.
FrameStrategy = Literal["uniform", "scenes"]
DEFAULT_FRAME_STRATEGY: FrameStrategy = "scenes"
# Where a transcript came from, first in the chain that gave one.
TranscriptSource = Literal[
    "youtube_captions", "youtube_auto_captions", "subtitles", "automatic_captions", "embedded_subtitles",
    "speech_to_text",
]
UPLOAD_SCHEME = "upload://"  # `youtube_url` may be upload://<upload_id> for a file sent to POST /uploads
# The longest video URL accepted anywhere: the gateway refuses longer ones, and the media service too.
MAX_URL_LENGTH = 2048
# The largest `offset` a task list accepts: far beyond any real list, and inside every database's integers.
MAX_OFFSET = 1_000_000_000


def upload_id(url: str) -> str | None:
    """The upload an upload://<upload_id> URL names (slashes around it dropped); None for any other URL."""
    return url[len(UPLOAD_SCHEME):].strip("/") if url.startswith(UPLOAD_SCHEME) else None


def format_timestamp(value: datetime) -> str:
    """UTC with seconds precision and no offset ("2025-10-26T12:00:00"), the seed's spelling.

    A naive value is taken to be UTC already (that is what the orchestrator stores)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="seconds")


def _format_duration(value: float | None) -> int | float | None:
    # The seed shows whole seconds (206); keep fractions only when there are some.
    if value is not None and float(value).is_integer():
        return int(value)
    return value


Timestamp = Annotated[
    datetime,
    PlainSerializer(format_timestamp, return_type=str),
    Field(description="UTC, ISO 8601 with seconds and no offset, e.g. 2025-10-26T12:00:00"),
]


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
    frame_strategy: FrameStrategy = DEFAULT_FRAME_STRATEGY
    transcript_languages: list[str] | None = None  # preferred transcript languages, best first
    language: str | None = None  # language of the summary and key points; None: the transcript's
    prompt: str | None = None  # the user's own instructions for the analysis
    webhook_url: str | None = None  # told (POST, signed) when the task ends


class TranscriptSegment(BaseModel):
    start: float
    end: float
    text: str


class FrameAnalysis(BaseModel):
    """One analysed frame; `image_url` is relative to the API's base URL."""

    index: int
    timestamp: float
    analysis: str | None = None
    image_url: str


class TaskProgress(BaseModel):
    stage: str
    fraction: float | None = None  # 0..1 within the stage, when known
    downloaded_bytes: int | None = None
    total_bytes: int | None = None
    detail: str | None = None


class VideoInfo(BaseModel):
    title: str | None = None
    duration: Annotated[float | None, PlainSerializer(_format_duration)] = Field(
        default=None, description="Length in seconds"
    )
    channel: str | None = None


class Chapter(BaseModel):
    """One stretch of the video: from `start` to `end` (seconds), what it is about."""

    start: float = Field(description="Seconds from the start of the video")
    end: float = Field(description="Seconds from the start of the video; the next chapter's start")
    title: str
    summary: str = ""


class WebhookStatus(BaseModel):
    """Where the task's end is told, and how that went."""

    url: str
    state: Literal["waiting", "pending", "delivered", "given_up"] = Field(
        description="waiting: the task has not ended; pending: being delivered (or retried); delivered; "
                    "given_up: every attempt failed")
    attempts: int = 0
    last_status: str | None = Field(default=None, description='The last attempt\'s outcome, e.g. "HTTP 500"')
    delivered_at: Timestamp | None = None


class TaskRecord(BaseModel):
    """What the orchestrator tells the gateway about one task: field for field, and in its JSON byte for
    byte, the public API's answer to GET /tasks/{task_id} (the gateway's TaskResponse)."""

    task_id: str
    status: TaskStatus
    youtube_url: str
    created_at: Timestamp
    completed_at: Timestamp | None = None
    video_info: VideoInfo | None = None
    summary: str | None = None
    key_points: list[str] | None = None
    frame_analyses: list[str] | None = None
    transcript: str | None = None
    error: str | None = None
    # Additive fields (not in the original guide).
    frames: list[FrameAnalysis] | None = None
    transcript_segments: list[TranscriptSegment] | None = None
    transcript_source: TranscriptSource | None = None
    transcript_language: str | None = None
    frame_strategy: FrameStrategy | None = None
    progress: TaskProgress | None = None
    notes: list[str] | None = None  # things worth knowing that did not fail the task
    chapters: list[Chapter] | None = None  # in order, covering the video; None when the text model gave none
    webhook: WebhookStatus | None = None  # only for tasks submitted with a webhook_url


class TaskChange(BaseModel):
    """A task as it is after a change the asker had not seen (GET /internal/tasks/{id}/changes)."""

    version: int = Field(description="Grows with every write to the task: microseconds of its last update")
    statuses: list[TaskStatus] = Field(default_factory=list,
                                       description="Stages entered since the asker's version, oldest first")
    task: TaskRecord


class TaskListItem(BaseModel):
    """One task as a list shows it: no results, so a page costs the same however long its videos were."""

    task_id: str
    status: TaskStatus
    youtube_url: str
    created_at: Timestamp
    completed_at: Timestamp | None = None


class TaskPage(BaseModel):
    total: int
    tasks: list[TaskListItem]


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
    url: str  # http(s) URL, or upload://<upload_id>
    proxy: str | None = None
    job_id: str | None = None  # key under which GET /downloads/{job_id}/progress reports this download
    # The API key name the download is for ("" without keys): an upload is found only by the key that sent it.
    owner: str = Field(default="", max_length=200)


class DownloadProgress(BaseModel):
    job_id: str
    state: Literal["unknown", "extracting", "downloading", "processing", "done", "failed"]
    downloaded_bytes: int | None = None
    total_bytes: int | None = None
    fraction: float | None = None


class UploadResult(BaseModel):
    upload_id: str
    url: str  # upload://<upload_id>, usable as `youtube_url`
    filename: str | None = None
    size_bytes: int


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
    language: str | None = None  # the video's own language, when the site says
    filesize: int | None = None


class FramesRequest(BaseModel):
    max_frames: int = Field(ge=1)
    strategy: FrameStrategy = DEFAULT_FRAME_STRATEGY
    max_side: int | None = Field(default=None, ge=64, le=4096)  # longest side of the JPEGs; None: the service default


class FrameRef(BaseModel):
    index: int
    timestamp: float  # seconds from the start of the video: the frame's own presentation time
    width: int
    height: int


class FramesResult(BaseModel):
    frames: list[FrameRef]
    strategy: FrameStrategy = DEFAULT_FRAME_STRATEGY
    note: str | None = None  # e.g. why fewer frames than asked
    # The set these frames belong to, which names them from then on:
    # GET /media/{media_id}/frame-sets/{frame_set}/{index}.jpg. None from a media service that named none.
    frame_set: str | None = None


class TranscriptRequest(BaseModel):
    url: str
    proxy: str | None = None
    subtitles: list[SubtitleTrack] = Field(default_factory=list)
    # Preferred languages, best first; None: the video's own language, then English.
    languages: list[str] | None = None
    video_language: str | None = None


class TranscriptResult(BaseModel):
    text: str | None = None
    segments: list[TranscriptSegment] = Field(default_factory=list)
    language: str | None = None
    source: TranscriptSource | None = None  # None when no link of the chain gave one
    notes: list[str] = Field(default_factory=list)  # why earlier links gave nothing, one line each


# ---- questions about a finished task (gateway -> orchestrator) ----

MAX_QUESTION_CHARS = 1000  # a question, not a document: longer ones are refused (422)


class AskRequest(BaseModel):
    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)


class Citation(BaseModel):
    """A passage of the task an answer is drawn from: a stretch of transcript, a chapter, or a frame's
    description (then `start` and `end` are both the frame's time)."""

    start: float = Field(description="Seconds from the start of the video")
    end: float = Field(description="Seconds from the start of the video")
    text: str


class AskAnswer(BaseModel):
    answer: str = Field(description="Markers [n] in it name citations[n-1]")
    citations: list[Citation]
