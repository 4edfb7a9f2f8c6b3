"""OpenAI-compatible calls straight to the deployed models: `GET /v1/models` lists them and
`POST /v1/chat/completions` (streaming too) goes to the endpoint serving the named `model`, so the
official `openai` SDK pointed at this gateway works unchanged."""

import json

import httpx
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.background import BackgroundTask

from ..deps import Models
from ..errors import json_safe
from ..schemas import OpenAIErrorResponse

router = APIRouter(prefix="/v1", tags=["openai"])


def _documented(**answers: str) -> dict:
    return {int(status.removeprefix("s")): {"model": OpenAIErrorResponse, "description": text}
            for status, text in answers.items()}


UNAVAILABLE = _documented(s503="The task service or the model server cannot be reached right now")
CHAT_REQUEST = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["model", "messages"], "additionalProperties": True,
    "properties": {"model": {"type": "string", "description": "a model id from GET /v1/models"},
                   "messages": {"type": "array", "items": {"type": "object"}},
                   "stream": {"type": "boolean"}}}}}}}


def openai_error(status: int, message: str, code: str, kind: str = "invalid_request_error") -> JSONResponse:
    """Errors in the OpenAI shape, which the SDKs turn into their own exceptions."""
    return JSONResponse({"error": {"message": json_safe(message), "type": kind, "param": None, "code": code}},
                        status_code=status)


def _card(name: str, endpoint: dict) -> dict:
    return {"id": name, "object": "model", "created": 0, "owned_by": "video-analysis",
            "roles": endpoint["roles"], "tiers": endpoint["tiers"]}


@router.get("/models", summary="Deployed models (OpenAI shape)", responses=UNAVAILABLE)
async def list_models(models: Models) -> dict:
    routes = await models.routes()
    return {"object": "list", "data": [_card(name, endpoint) for name, endpoint in routes.items()]}


@router.get("/models/{model_id:path}", summary="One deployed model (OpenAI shape)",
            responses={**_documented(s404="No such model on this server"), **UNAVAILABLE})
async def get_model(model_id: str, models: Models):
    routes = await models.routes()
    if model_id not in routes:
        return openai_error(404, f"The model '{model_id}' does not exist on this server", "model_not_found")
    return _card(model_id, routes[model_id])


@router.post("/chat/completions", summary="Chat completion on a deployed model (OpenAI shape)",
             openapi_extra=CHAT_REQUEST, responses={
                 **_documented(s400="Not a JSON object with a `model` string, or refused by the model server",
                               s404="No such model on this server"), **UNAVAILABLE})
async def chat_completions(request: Request, models: Models) -> Response:
    body = await request.body()  # capped by MAX_MODEL_REQUEST_MB before it gets here
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than any request needs
        return openai_error(400, "the body is not valid JSON", "invalid_json")
    if not isinstance(payload, dict) or not isinstance(payload.get("model"), str):
        return openai_error(400, "the body must be a JSON object with a 'model' string", "invalid_request")
    routes = await models.routes()
    endpoint = routes.get(payload["model"])
    if endpoint is None:
        names = ", ".join(routes) or "none"
        return openai_error(404, f"The model '{payload['model']}' does not exist on this server; "
                                 f"deployed: {names}", "model_not_found")
    try:
        response = await models.open_chat_completion(endpoint, body)
    except httpx.HTTPError:
        return openai_error(503, f"the model server for '{payload['model']}' could not be reached",
                            "model_unavailable", kind="server_error")
    media_type = response.headers.get("content-type", "application/json")
    if payload.get("stream") and response.is_success:
        return StreamingResponse(response.aiter_raw(), status_code=response.status_code, media_type=media_type,
                                 background=BackgroundTask(response.aclose))
    try:
        content = await response.aread()
    finally:
        await response.aclose()
    return Response(content, status_code=response.status_code, media_type=media_type)
