"""The seed's task endpoints: submit, read, list, delete."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, HTTPException, Query, Response

from service_common.contracts import MAX_OFFSET, TaskCreate
from service_common.proxies import allowed_proxy, proxy_refusal

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
    TaskSummary,
)

router = APIRouter(tags=["tasks"])

UNAVAILABLE = {
    503: {"model": ErrorResponse, "description": "The task service is unavailable; see Retry-After"}
}
NOT_FOUND = {404: {"model": ErrorResponse, "description": "No such task"}}


def _not_found(task_id: str) -> HTTPException:
    return HTTPException(status_code=404, detail=f"Task {task_id} not found")


def _parse_task_id(task_id: str) -> UUID:
    # Anything that is not a UUID cannot name a task, so it is "not found" rather than a 422.
    try:
        return UUID(task_id)
    except ValueError:
        raise _not_found(task_id) from None


@router.post(
    "/analyze",
    response_model=AnalyzeResponse,
    summary="Start a video analysis task",
    responses={
        400: {"model": ErrorResponse, "description": "The body could not be read as JSON (e.g. not UTF-8)"},
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
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return AnalyzeResponse(task_id=record.task_id, status=record.status, message=STARTED_MESSAGE)


@router.get(
    "/tasks/{task_id}",
    response_model=TaskResponse,
    summary="Task status and result",
    responses={**NOT_FOUND, **UNAVAILABLE},
)
async def get_task(task_id: str, orchestrator: Orchestrator) -> TaskResponse:
    record = await orchestrator.get_task(_parse_task_id(task_id))
    if record is None:
        raise _not_found(task_id)
    return TaskResponse.model_validate(record.model_dump())


@router.get("/tasks", response_model=TaskListResponse, summary="List all tasks", responses=UNAVAILABLE)
async def list_tasks(
    orchestrator: Orchestrator,
    limit: Annotated[int, Query(ge=1, le=1000, description="Page size")] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Tasks to skip, newest first")] = 0,
) -> TaskListResponse:
    page = await orchestrator.list_tasks(limit=limit, offset=offset)
    return TaskListResponse(
        total=page.total, tasks=[TaskSummary.model_validate(task.model_dump()) for task in page.tasks]
    )


@router.delete(
    "/tasks/{task_id}",
    response_model=DeleteResponse,
    summary="Delete a task (cancels it if it is still running)",
    responses={**NOT_FOUND, **UNAVAILABLE},
)
async def delete_task(task_id: str, orchestrator: Orchestrator) -> DeleteResponse:
    uuid = _parse_task_id(task_id)
    if not await orchestrator.delete_task(uuid):
        raise _not_found(task_id)
    return DeleteResponse(message=f"Task {uuid} has been deleted.")
