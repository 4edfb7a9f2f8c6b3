"""The subset of the OpenAI chat completions schema the lite server reads and writes.

Unknown request fields (temperature, top_p, seed, tools, ...) are accepted and ignored, as
vLLM ignores what it does not use, so that any OpenAI client can talk to this server.
"""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ImageUrl(BaseModel):
    model_config = ConfigDict(extra="allow")
    url: str
    detail: str | None = None


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None
    # Some clients send the URL as a bare string instead of {"url": ...}.
    image_url: ImageUrl | str | None = None

    @model_validator(mode="after")
    def _check_payload(self) -> "ContentPart":
        if self.type == "text" and self.text is None:
            raise ValueError("a text part needs a 'text' field")
        if self.type == "image_url" and self.image_url is None:
            raise ValueError("an image_url part needs an 'image_url' field")
        if self.type not in ("text", "image_url"):
            raise ValueError(f"unsupported content part type {self.type!r} (use 'text' or 'image_url')")
        return self

    @property
    def url(self) -> str | None:
        if isinstance(self.image_url, ImageUrl):
            return self.image_url.url
        return self.image_url


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "\n".join(p.text for p in self.content or [] if p.type == "text" and p.text)

    def image_urls(self) -> list[str]:
        if not isinstance(self.content, list):
            return []
        return [p.url for p in self.content if p.type == "image_url" and p.url is not None]


class ResponseFormat(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: Literal["text", "json_object", "json_schema"]
    json_schema: dict[str, Any] | None = None


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    n: int = Field(default=1, ge=1, le=8)
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    response_format: ResponseFormat | None = None

    @property
    def token_limit(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens

    @property
    def wants_json(self) -> bool:
        return self.response_format is not None and self.response_format.type != "text"


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int
    message: AssistantMessage
    finish_reason: Literal["stop", "length"]


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage


class DeviceInfo(BaseModel):
    gpu_available: bool = False
    gpu_name: str | None = None


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "lite-models"
    # Not in OpenAI's schema: lets the gateway's /health report that this backend has no GPU.
    device: DeviceInfo = DeviceInfo()


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class TranscriptionWord(BaseModel):
    word: str
    start: float
    end: float


class TranscriptionSegment(BaseModel):
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


class Transcription(BaseModel):
    text: str


class VerboseTranscription(BaseModel):
    task: Literal["transcribe"] = "transcribe"
    language: str
    duration: float
    text: str
    segments: list[TranscriptionSegment] | None = None
    words: list[TranscriptionWord] | None = None
