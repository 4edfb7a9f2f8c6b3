"""The seed's task endpoints: submit, read, list, delete."""

import re
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response

from service_common.contracts import MAX_OFFSET, TaskCreate
from service_common.proxies import allowed_proxy, proxy_refusal
from service_common.request_context import set_task_id

from ..clients.orchestrator import OrchestratorClient
from ..deps import Orchestrator, Settings
from ..errors import field_error
from ..schemas import (
    STARTED_MESSAGE,
    AnalyzeRequest,
    AnalyzeResponse,
    DeleteResponse,
    ErrorResponse,
    TaskListResponse,
    TaskResponse,
)
from ..security import identify_request, presented_key
from ..task_ids import parse_task_id, task_not_found

router = APIRouter(tags=["tasks"])

UNAVAILABLE = {
    503: {"model": ErrorResponse, "description": "The task service is unavailable; see Retry-After"}
}
NOT_FOUND = {404: {"model": ErrorResponse, "description": "No such task"}}
UNREADABLE_BODY = {400: {"model": ErrorResponse, "description": "The body could not be read as JSON (e.g. not UTF-8)"}}


@router.post(
    "/analyze",
    response_model=AnalyzeResponse,
    summary="Start a video analysis task",
    responses={
        **UNREADABLE_BODY,
        422: {"description": "Invalid request, or a quantization tier that is not deployed"},
        **UNAVAILABLE,
    },
)
async def analyze(
    body: AnalyzeRequest,
    orchestrator: Orchestrator,
    settings: Settings,
    response: Response,
    idempotency_key: Annotated[str | None, Header(
        min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$",
        description="Makes retrying safe: the same key with the same body gives the same task (answered "
                    "with `Idempotent-Replayed: true`); the same key with another body is a 422.")] = None,
) -> AnalyzeResponse:
    """Queue the analysis and return at once; poll `GET /tasks/{task_id}` for progress and results."""
    if body.max_frames > settings.max_frames_limit:
        raise field_error(
            "max_frames",
            f"max_frames must be at most {settings.max_frames_limit} on this server (MAX_FRAMES_LIMIT)",
            body.max_frames,
            kind="less_than_equal",
        )
    if body.proxy is not None:
        refusal = proxy_refusal(body.proxy, settings.allowed_proxies)
        if refusal is not None:
            raise field_error("proxy", refusal, body.proxy, kind="proxy_not_allowed")
        body = body.model_copy(update={"proxy": allowed_proxy(body.proxy, settings.allowed_proxies)})
    record, created = await orchestrator.create_task(TaskCreate(**body.model_dump()), idempotency_key)
    set_task_id(str(record.task_id))  # the request's log lines (its access line) name the task it started
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return AnalyzeResponse(task_id=record.task_id, status=record.status, message=STARTED_MESSAGE)


@router.get(
    "/tasks/{task_id}",
    response_model=TaskResponse,
    summary="Task status and result",
    responses={**NOT_FOUND, **UNAVAILABLE},
)
async def get_task(task_id: str, orchestrator: Orchestrator) -> Response:
    # Clients poll this: answered by `read_task` (see app.py) before FastAPI routes it, unless the id
    # is not a UUID; both answer the same way.
    return await task_answer(orchestrator, task_id)


# The task ids read_task answers; other spellings UUID() takes are left to the route.
TASK_PATH = re.compile(r"/tasks/([0-9A-Fa-f-]{32,36})")


async def read_task(request: Request, task_id: str) -> Response:
    """GET /tasks/{task_id} as the route answers it, without FastAPI's parameter and dependency solving
    (service_common.fast_path): the same key and rate checks, the same answer."""
    owner = identify_request(request, presented_key(request))
    return await task_answer(OrchestratorClient(request.app.state.http, owner), task_id)


async def task_json(orchestrator: OrchestratorClient, task_id: str) -> bytes:
    """The caller's task as the orchestrator wrote it; 404 when the caller has no such task."""
    body = await orchestrator.get_task_json(parse_task_id(task_id))
    if body is None:
        raise task_not_found(task_id)
    return body


async def task_answer(orchestrator: OrchestratorClient, task_id: str) -> Response:
    """The orchestrator writes a task in the public shape (TaskRecord is TaskResponse, field for field), so
    its bytes are the answer: parsing and writing them again would only cost time on the polled path."""
    return Response(await task_json(orchestrator, task_id), media_type="application/json")


@router.get("/tasks", response_model=TaskListResponse, summary="List all tasks", responses=UNAVAILABLE)
async def list_tasks(
    orchestrator: Orchestrator,
    limit: Annotated[int, Query(ge=1, le=1000, description="Page size")] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Tasks to skip, newest first")] = 0,
) -> Response:
    # A TaskPage is the public list, field for field (TaskListItem is TaskSummary), so the page the
    # orchestrator sent, read into it (which also leaves out anything else it might carry), is the answer.
    page = await orchestrator.list_tasks(limit=limit, offset=offset)
    return Response(page.model_dump_json(), media_type="application/json")


@router.delete(
    "/tasks/{task_id}",
    response_model=DeleteResponse,
    summary="Delete a task (cancels it if it is still running)",
    responses={**NOT_FOUND, **UNAVAILABLE},
)
async def delete_task(task_id: str, orchestrator: Orchestrator) -> DeleteResponse:
    uuid = parse_task_id(task_id)
    if not await orchestrator.delete_task(uuid):
        raise task_not_found(task_id)
    return DeleteResponse(message=f"Task {uuid} has been deleted.")
