"""The public API's request and response bodies, exactly as the seed's API guide shapes them.

Anything added later must be additive (new optional fields) so seed clients keep working.
"""

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictInt, StrictStr, field_validator
from pydantic_core import PydanticCustomError

from service_common.contracts import (
    DEFAULT_FRAME_STRATEGY,
    MAX_QUESTION_CHARS,
    Chapter,
    Citation,
    FrameAnalysis,
    FrameStrategy,
    TaskProgress,
    TaskStatus,
    Timestamp,
    TranscriptSegment,
    TranscriptSource,
    VideoInfo,
    WebhookStatus,
)

from .urls import MAX_URL_LENGTH, http_url_problem, video_url_problem

Quantization = Literal["int4", "int8", "fp16"]
LANGUAGE_PATTERN = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$"
STARTED_MESSAGE = "The video analysis task has started."


STATUS_DESCRIPTION = (
    "pending, downloading, extracting_frames, extracting_transcript, analyzing_vision, "
    "analyzing_text, completed or failed"
)


class AnalyzeRequest(BaseModel):
    """Body of POST /analyze. Unknown fields are ignored so newer clients work with this server."""

    youtube_url: StrictStr = Field(
        description=f"http(s) URL of the video (YouTube or any site yt-dlp supports), at most "
        f"{MAX_URL_LENGTH} characters",
        examples=["https://www.youtube.com/watch?v=dQw4w9WgXcQ"],
    )
    max_frames: StrictInt = Field(
        default=8,
        ge=1,
        description="Maximum number of frames to extract and describe; at most the server's "
        "MAX_FRAMES_LIMIT (64 unless the operator changed it)",
    )
    vision_quantization: Quantization = Field(
        default="int4", description="Vision model quantization: int4 (recommended), int8 or fp16"
    )
    text_quantization: Quantization = Field(
        default="int4", description="Text model quantization: int4 (recommended), int8 or fp16"
    )
    proxy: StrictStr | None = Field(
        default=None,
        description="Proxy for downloading, e.g. socks5://127.0.0.1:9050; only proxies the operator "
        "listed in ALLOWED_PROXIES are accepted. An empty string means no proxy.",
        examples=[None],
    )

    frame_strategy: FrameStrategy = Field(
        default=DEFAULT_FRAME_STRATEGY,
        description="scenes (default): one frame per visual scene, near-duplicates dropped, so a static "
        "slide is described once; uniform: frames evenly spread in time",
    )
    transcript_languages: list[Annotated[StrictStr, Field(pattern=LANGUAGE_PATTERN)]] | None = Field(
        default=None,
        max_length=10,
        description="Preferred transcript languages, best first (e.g. [\"en\", \"pt-BR\"]); default: the "
        "video's own language, then English",
    )

    language: StrictStr | None = Field(
        default=None, min_length=2, max_length=40, pattern=r"^[A-Za-z][A-Za-z \-]*$",
        description="Language of the summary and key points, e.g. \"en\" or \"Korean\"; default: the "
        "transcript's language",
    )
    prompt: StrictStr | None = Field(
        default=None, max_length=2000, description="Your own instructions for the analysis, e.g. "
        "\"focus on the pricing announcements\"",
    )
    webhook_url: StrictStr | None = Field(
        default=None, max_length=MAX_URL_LENGTH, description="Told when the task ends: a signed POST "
        "(Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature headers) of "
        "{\"type\": \"task.completed\" or \"task.failed\", \"timestamp\", \"data\": {\"task_id\", \"status\", "
        "\"error\", \"url\"}}, retried until delivered; needs WEBHOOK_SECRET on the server",
    )

    @field_validator("youtube_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        problem = video_url_problem(value)
        if problem is not None:
            raise PydanticCustomError(problem[0], problem[1])
        return value

    @field_validator("webhook_url")
    @classmethod
    def _check_webhook_url(cls, value: str | None) -> str | None:
        problem = None if value is None else http_url_problem(value, "webhook_url")
        if problem is not None:
            raise PydanticCustomError(problem[0], problem[1])
        return value

    @field_validator("proxy")
    @classmethod
    def _empty_proxy_is_none(cls, value: str | None) -> str | None:
        # Form-driven clients send "" for an unset field; that is not a request for a proxy.
        return value if value and value.strip() else None


class AnalyzeResponse(BaseModel):
    task_id: str = Field(
        description="UUID of the new task", examples=["550e8400-e29b-41d4-a716-446655440000"]
    )
    status: TaskStatus = Field(description="Always pending for a new task")
    message: str = Field(examples=[STARTED_MESSAGE])


class TaskSummary(BaseModel):
    """One row of GET /tasks."""

    task_id: str
    status: TaskStatus = Field(description=STATUS_DESCRIPTION)
    youtube_url: str
    created_at: Timestamp
    completed_at: Timestamp | None = None


class TaskResponse(TaskSummary):
    """GET /tasks/{task_id}: status while running; the results once completed; error once failed."""

    video_info: VideoInfo | None = Field(default=None, description="Known once the download started")
    summary: str | None = None
    key_points: list[str] | None = None
    frame_analyses: list[str] | None = Field(default=None, description="One description per frame")
    transcript: str | None = Field(default=None, description="Full subtitle text, when the video has one")
    error: str | None = Field(default=None, description="Why the task failed (status failed only)")
    # Additive fields (not in the original guide).
    frames: list[FrameAnalysis] | None = Field(
        default=None, description="Each analysed frame with its timestamp (seconds) and image URL")
    transcript_segments: list[TranscriptSegment] | None = Field(
        default=None, description="The transcript with start and end times (seconds)")
    transcript_source: TranscriptSource | None = Field(
        default=None, description="Where the transcript came from")
    transcript_language: str | None = None
    frame_strategy: FrameStrategy | None = None
    progress: TaskProgress | None = Field(default=None, description="Live progress of the running stage")
    notes: list[str] | None = Field(default=None, description="Things worth knowing that did not fail the task")
    chapters: list[Chapter] | None = Field(
        default=None, description="The video's parts in order, each with its start and end (seconds), a title "
        "and a one-sentence summary, in the summary's language: the first starts at 0, each ends where the "
        "next starts, the last at the end of the video. Null when the text model gave none (notes says so)")
    webhook: WebhookStatus | None = Field(
        default=None, description="For a task submitted with webhook_url: the delivery of its end")


class TaskListResponse(BaseModel):
    total: int = Field(description="Number of tasks in all, not only in this page")
    tasks: list[TaskSummary] = Field(description="Newest first")


class DeleteResponse(BaseModel):
    message: str = Field(examples=["Task 550e8400-e29b-41d4-a716-446655440000 has been deleted."])


class EndpointStatus(BaseModel):
    role: str = Field(description="vision or text")
    tier: str = Field(description="Quantization tier this model endpoint serves")
    model: str
    reachable: bool
    gpu_available: bool
    gpu_name: str | None = None
    detail: str | None = None


class HealthComponents(BaseModel):
    orchestrator: bool = Field(description="The task service answered")
    database: bool = Field(description="The task database answered")
    endpoints: list[EndpointStatus] = Field(default_factory=list, description="Deployed model endpoints")


class HealthResponse(BaseModel):
    status: Literal["healthy", "degraded", "unhealthy"] = Field(
        description="healthy: everything answers; degraded: the API works but some model endpoint does "
        "not; unhealthy (HTTP 503): the task service or its database is unreachable"
    )
    gpu_available: bool = Field(description="A reachable model endpoint runs on a GPU")
    gpu_name: str | None = Field(default=None, description="GPU of the first such endpoint")
    active_tasks: int = Field(description="Tasks waiting or running")
    components: HealthComponents | None = None
    detail: str | None = Field(default=None, description="Why the status is not healthy")


class UploadResponse(BaseModel):
    upload_id: str
    url: str = Field(description="Pass this as youtube_url to POST /analyze", examples=["upload://" + "0" * 32])
    filename: str | None = None
    size_bytes: int


class ErrorResponse(BaseModel):
    detail: str


class OpenAIErrorBody(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class OpenAIErrorResponse(BaseModel):
    """Errors under /v1 come in the OpenAI shape, which the OpenAI SDKs turn into their exceptions."""

    error: OpenAIErrorBody


class QuestionRequest(BaseModel):
    """Body of POST /tasks/{task_id}/ask."""

    question: StrictStr = Field(
        min_length=1, max_length=MAX_QUESTION_CHARS, examples=["When is the red square shown?"],
        description=f"A question about the analysed video, at most {MAX_QUESTION_CHARS} characters")

    @field_validator("question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise PydanticCustomError("string_blank", "the question is empty")
        return value


class AnswerResponse(BaseModel):
    answer: str = Field(description="Drawn only from the task's transcript, chapters and frame descriptions; "
                        "a marker [n] in it names citations[n-1]")
    citations: list[Citation] = Field(
        description="The passages the answer is drawn from, each with its start and end (seconds): a stretch "
        "of transcript, a chapter, or a frame's description (start and end both the frame's time)")
