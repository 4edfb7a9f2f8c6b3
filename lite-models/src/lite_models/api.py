"""HTTP routes: /health and the OpenAI-compatible /v1/models and /v1/chat/completions."""

import json
import time
import uuid
from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import ValidationError

from .completions import Completion, CompletionEngine
from .errors import ApiError, describe_validation_errors
from .schemas import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionRequest,
    Choice,
    ModelCard,
    ModelList,
    Usage,
)

router = APIRouter()
# Words per streamed chunk: small enough to look like token streaming, few enough to stay cheap.
STREAM_WORDS_PER_CHUNK = 4


def _engine(request: Request) -> CompletionEngine:
    return request.app.state.engine


@router.get("/health")
def health() -> dict:
    return {"status": "ok", "gpu_available": False, "gpu_name": None}


@router.get("/v1/models", response_model=ModelList)
def list_models(request: Request) -> ModelList:
    created = request.app.state.started_at
    return ModelList(data=[ModelCard(id=model, created=created) for model in _engine(request).model_ids])


@router.get("/v1/models/{model_id}", response_model=ModelCard)
def get_model(model_id: str, request: Request) -> ModelCard:
    _engine(request).check_model(model_id)
    return ModelCard(id=model_id, created=request.app.state.started_at)


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"request body is larger than {limit} bytes", code="request_too_large")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"request body is larger than {limit} bytes", code="request_too_large")
        chunks.append(chunk)
    return b"".join(chunks)


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
async def chat_completions(request: Request):
    """OpenAI chat completions. Body: the OpenAI request (model, messages, max_tokens,
    response_format, stream, n); images only as `data:` URLs in `image_url` parts."""
    engine = _engine(request)
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
