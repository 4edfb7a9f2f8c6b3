"""HTTP routes: /health and the OpenAI-compatible /v1/models, /v1/chat/completions and
/v1/audio/transcriptions."""

import json
import time
import uuid
from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse, StreamingResponse
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from .completions import Completion
from .deps import Engine, Speech, StartedAt
from .errors import ApiError, describe_validation_errors
from .schemas import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionRequest,
    Choice,
    ModelCard,
    ModelList,
    Transcription,
    TranscriptionSegment,
    TranscriptionWord,
    Usage,
    VerboseTranscription,
)
from .speech import Transcript, to_srt, to_vtt

router = APIRouter()
# Words per streamed chunk: small enough to look like token streaming, few enough to stay cheap.
STREAM_WORDS_PER_CHUNK = 4




@router.get("/health")
def health() -> dict:
    return {"status": "ok", "gpu_available": False, "gpu_name": None}


@router.get("/v1/models", response_model=ModelList)
def list_models(engine: Engine, speech: Speech, started_at: StartedAt) -> ModelList:
    model_ids = [*engine.model_ids, speech.settings.speech_model_name]
    return ModelList(data=[ModelCard(id=model, created=started_at) for model in model_ids])


@router.get("/v1/models/{model_id}", response_model=ModelCard)
def get_model(model_id: str, engine: Engine, speech: Speech, started_at: StartedAt) -> ModelCard:
    if model_id != speech.settings.speech_model_name:
        engine.check_model(model_id)
    return ModelCard(id=model_id, created=started_at)


def _too_large(limit: int) -> ApiError:
    return ApiError(413, f"request body is larger than {limit} bytes", code="request_too_large")


async def _bounded_stream(request: Request, limit: int):
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        yield chunk


async def _read_body(request: Request, limit: int) -> bytes:
    return b"".join([chunk async for chunk in _bounded_stream(request, limit)])


def _parse_request(body: bytes) -> ChatCompletionRequest:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ApiError(400, f"request body is not valid JSON: {exc}", code="invalid_json") from None
    if not isinstance(payload, dict):
        raise ApiError(400, "request body must be a JSON object", code="invalid_json")
    try:
        return ChatCompletionRequest.model_validate(payload)
    except ValidationError as exc:
        raise ApiError(400, describe_validation_errors(exc.errors())) from None


@router.post("/v1/chat/completions", response_model=ChatCompletion,
             responses={400: {"description": "invalid request"}, 404: {"description": "unknown model"}})
async def chat_completions(request: Request, engine: Engine):
    """OpenAI chat completions. Body: the OpenAI request (model, messages, max_tokens,
    response_format, stream, n); images only as `data:` URLs in `image_url` parts."""
    chat = _parse_request(await _read_body(request, engine.settings.max_request_bytes))
    engine.check_model(chat.model)
    # Image analysis and ranking are CPU work: keep them off the event loop.
    completion = await run_in_threadpool(engine.complete, chat)
    completion_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
    if chat.stream:
        include_usage = bool((chat.stream_options or {}).get("include_usage"))
        return StreamingResponse(_stream(completion, chat, completion_id, created, include_usage),
                                 media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
    usage = Usage(prompt_tokens=completion.prompt_tokens, completion_tokens=completion.completion_tokens * chat.n,
                  total_tokens=completion.prompt_tokens + completion.completion_tokens * chat.n)
    choices = [Choice(index=i, message=AssistantMessage(content=completion.content),
                      finish_reason=completion.finish_reason) for i in range(chat.n)]
    return ChatCompletion(id=completion_id, created=created, model=chat.model, choices=choices, usage=usage)


def _stream(completion: Completion, chat: ChatCompletionRequest, completion_id: str, created: int,
            include_usage: bool) -> Iterator[str]:
    def event(choices: list[dict], **extra) -> str:
        chunk = {"id": completion_id, "object": "chat.completion.chunk", "created": created,
                 "model": chat.model, "choices": choices, **extra}
        return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"

    words = completion.content.split(" ")
    pieces = [" ".join(words[i:i + STREAM_WORDS_PER_CHUNK]) + (" " if i + STREAM_WORDS_PER_CHUNK < len(words)
                                                              else "")
              for i in range(0, len(words), STREAM_WORDS_PER_CHUNK)]
    for index in range(chat.n):
        yield event([{"index": index, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
        for piece in pieces:
            yield event([{"index": index, "delta": {"content": piece}, "finish_reason": None}])
        yield event([{"index": index, "delta": {}, "finish_reason": completion.finish_reason}])
    if include_usage:
        tokens = completion.completion_tokens * chat.n
        yield event([], usage={"prompt_tokens": completion.prompt_tokens, "completion_tokens": tokens,
                               "total_tokens": completion.prompt_tokens + tokens})
    yield "data: [DONE]\n\n"


TRANSCRIPTION_FORMATS = ("json", "verbose_json", "text", "srt", "vtt")
GRANULARITIES = ("segment", "word")


async def _read_form(request: Request, limit: int):
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise ApiError(400, "send the audio as multipart/form-data with a `file` part", code="invalid_request")
    # Parts larger than 1 MB spool to disk; the whole body is bounded while it streams in.
    parser = MultiPartParser(request.headers, _bounded_stream(request, limit), max_files=1, max_fields=32)
    try:
        return await parser.parse()
    except MultiPartException as exc:
        raise ApiError(400, f"invalid multipart body: {exc.message}", code="invalid_request") from None


def _field(form, name: str, default: str | None = None) -> str | None:
    value = form.get(name, default)
    if isinstance(value, UploadFile):
        raise ApiError(400, f"`{name}` must be a text field, not a file", param=name)
    return value


@router.post("/v1/audio/transcriptions",
             responses={200: {"content": {"text/plain": {}}, "description": "the transcript in the asked format"},
                        400: {"description": "invalid request or undecodable file"},
                        404: {"description": "unknown model"}, 413: {"description": "upload too large"}})
async def transcriptions(request: Request, speech: Speech):
    """OpenAI audio transcriptions. Multipart fields: `file` (any audio or video ffmpeg reads), `model`,
    `language` (ISO 639-1), `prompt`, `response_format` (json, verbose_json, text, srt, vtt),
    `timestamp_granularities[]` (segment, word; with verbose_json). Silence and non-speech give no segments."""
    form = await _read_form(request, speech.settings.speech_max_upload_bytes)
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise ApiError(400, "a `file` part with the audio is required", param="file")
    model = _field(form, "model")
    if model != speech.settings.speech_model_name:
        raise ApiError(404, f"The model `{model}` does not exist. The speech model is "
                       f"`{speech.settings.speech_model_name}`.", code="model_not_found", param="model")
    response_format = _field(form, "response_format", "json")
    if response_format not in TRANSCRIPTION_FORMATS:
        raise ApiError(400, f"response_format must be one of {', '.join(TRANSCRIPTION_FORMATS)}",
                       param="response_format")
    granularities = [g for g in form.getlist("timestamp_granularities[]") + form.getlist("timestamp_granularities")
                     if isinstance(g, str)] or ["segment"]
    unknown = sorted(set(granularities) - set(GRANULARITIES))
    if unknown:
        raise ApiError(400, f"unknown timestamp granularity {unknown[0]!r} (use segment or word)",
                       param="timestamp_granularities[]")
    if "word" in granularities and response_format != "verbose_json":
        raise ApiError(400, "word timestamps need response_format verbose_json", param="timestamp_granularities[]")
    transcript = await speech.transcribe(upload.file, _field(form, "language"), _field(form, "prompt"),
                                         word_timestamps="word" in granularities)
    return _transcription_response(transcript, response_format, granularities)


def _transcription_response(transcript: Transcript, response_format: str, granularities: list[str]):
    if response_format == "text":
        return PlainTextResponse(transcript.text)
    if response_format == "srt":
        return PlainTextResponse(to_srt(transcript))
    if response_format == "vtt":
        return PlainTextResponse(to_vtt(transcript), media_type="text/vtt")
    if response_format == "json":
        return Transcription(text=transcript.text)
    segments = [TranscriptionSegment(**{k: v for k, v in vars(s).items() if k != "words"})
                for s in transcript.segments] if "segment" in granularities else None
    words = ([TranscriptionWord(word=w.word.strip(), start=w.start, end=w.end) for w in transcript.words]
             if "word" in granularities else None)
    return VerboseTranscription(language=transcript.language, duration=transcript.duration, text=transcript.text,
                                segments=segments, words=words)
