"""The internal task API that the gateway calls."""

import re
import uuid
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query, Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from service_common.contracts import (
    MAX_OFFSET,
    AskAnswer,
    AskRequest,
    OrchestratorHealth,
    TaskChange,
    TaskCreate,
    TaskPage,
    TaskRecord,
)
from service_common.errors import ServiceError
from service_common.request_context import request_id as current_request_id
from service_common.request_context import set_task_id

from . import questions, tasks
from .answers import TaskAnswers
from .db import Sessions
from .deps import (
    Answers,
    AskedQuestions,
    Changes,
    DatabaseSessions,
    DeployedModels,
    Janitor,
    Media,
    Models,
    Settings,
)
from .health import database_ok, probe_endpoints

router = APIRouter(prefix="/internal")

# Who the gateway says is asking: the API key's name, "" without API_KEYS. Tasks are scoped to it.
MAX_OWNER_LENGTH = 200
Owner = Annotated[str, Header(alias="X-Task-Owner", max_length=MAX_OWNER_LENGTH)]
QUOTA_RETRY_AFTER_S = 10  # a slot frees when one of the owner's tasks finishes: minutes, usually


def _not_found(task_id: str) -> HTTPException:
    return HTTPException(status_code=404, detail=f"Task {task_id} not found")


def _checked_id(task_id: str) -> str:
    try:
        return str(uuid.UUID(task_id))
    except ValueError:
        raise _not_found(task_id) from None


@router.post("/tasks", status_code=201, response_model=TaskRecord)
async def create_task(body: TaskCreate, response: Response, settings: Settings, deployments: DeployedModels,
                      sessions: DatabaseSessions, owner: Owner = "",
                      idempotency_key: Annotated[str | None, Header(max_length=200)] = None) -> TaskRecord:
    """201 with a new task; 200 with the earlier task when `Idempotency-Key` was used for the same body."""
    for role, tier in (("vision", body.vision_quantization), ("text", body.text_quantization)):
        if tier not in deployments.tiers(role):
            available = ", ".join(deployments.tiers(role)) or "none"
            raise HTTPException(422, f"{role}_quantization {tier!r} is not deployed on this server; "
                                     f"deployed {role} tiers: {available}")
    if body.webhook_url and not settings.webhook_secret:
        raise HTTPException(422, "webhook_url needs webhooks enabled on this server: its operator sets "
                                 "WEBHOOK_SECRET=whsec_<base64>, e.g. whsec_$(openssl rand -base64 32)")
    try:
        record, created = await run_in_threadpool(
            partial(tasks.create_task, owner=owner, active_limit=settings.active_tasks_per_key,
                    request_id=current_request_id.get()),
            sessions, body, idempotency_key)
    except tasks.QuotaExceeded as exc:
        raise HTTPException(429, f"{exc} (ACTIVE_TASKS_PER_KEY); submit again when one of them has finished",
                            headers={"Retry-After": str(QUOTA_RETRY_AFTER_S)}) from None
    except tasks.IdempotencyConflict:
        raise HTTPException(422, "this Idempotency-Key was already used with a different request body; "
                                 "use a new key for a new request") from None
    set_task_id(record.task_id)
    if not created:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    return record


def _json(model: BaseModel) -> Response:
    # Serialised once, by the model itself: returning the model would have FastAPI validate it again.
    return Response(model.model_dump_json(), media_type="application/json")


@router.get("/tasks/{task_id}", response_model=TaskRecord)
async def get_task(task_id: str, sessions: DatabaseSessions, answers: Answers, owner: Owner = "") -> Response:
    # Clients poll this (through the gateway): answered by `read_task` (see app.py) before FastAPI routes
    # it, unless the id is not a UUID; both answer the same way.
    return await task_answer(sessions, answers, task_id, owner)


# The task ids read_task answers; other spellings UUID() takes are left to the route.
TASK_PATH = re.compile(r"/internal/tasks/([0-9A-Fa-f-]{32,36})")


async def read_task(request: Request, task_id: str) -> Response:
    """GET /internal/tasks/{task_id} as the route answers it, without FastAPI's parameter solving
    (service_common.fast_path)."""
    owner = request.headers.get("x-task-owner", "")
    if len(owner) > MAX_OWNER_LENGTH:
        raise HTTPException(422, f"X-Task-Owner is longer than {MAX_OWNER_LENGTH} characters")
    # Not through deps.py: FastPath answers before FastAPI, so no dependency is solved here.
    state = request.app.state
    return await task_answer(state.sessions, state.answers, task_id, owner)


async def task_answer(sessions: Sessions, answers: TaskAnswers, task_id: str, owner: str) -> Response:
    """The task as the public API shows it (a TaskRecord's JSON), if `owner` may see it: kept from the
    last read while the task is unchanged (see answers.py)."""
    task_id = _checked_id(task_id)

    async def read() -> bytes | None:
        record = await tasks.read_task(sessions, task_id, owner=owner)
        return None if record is None else record.model_dump_json().encode()

    answer = await answers.answer(task_id, owner, read)
    if answer is None:
        raise _not_found(task_id)
    return Response(answer, media_type="application/json")


# How long one ask for a change may wait: under the gateway's timeout for a call to this service.
MAX_CHANGE_WAIT_S = 25.0


@router.get("/tasks/{task_id}/changes", response_model=TaskChange)
async def task_changes(task_id: str, changes: Changes, owner: Owner = "",
                       after: int = Query(0, ge=0, description="The version the asker has seen; 0 for none"),
                       wait: float = Query(0.0, ge=0.0, le=MAX_CHANGE_WAIT_S)) -> Response:
    """The task once its version is past `after`, or as it is when `wait` seconds have passed (the
    version then says whether it changed); the gateway's live progress waits here."""
    change = await changes.next_change(_checked_id(task_id), owner, after, wait)
    if change is None:
        raise _not_found(task_id)
    return _json(change)


@router.get("/tasks", response_model=TaskPage)
async def list_tasks(sessions: DatabaseSessions, limit: int = Query(100, ge=1, le=1000),
                     offset: int = Query(0, ge=0, le=MAX_OFFSET), owner: Owner = "") -> Response:
    return _json(await tasks.read_page(sessions, limit, offset, owner=owner))


@router.delete("/tasks/{task_id}", status_code=204)
async def delete_task(task_id: str, sessions: DatabaseSessions, answers: Answers, janitor: Janitor,
                      owner: Owner = "") -> Response:
    """A running task stops within CANCEL_CHECK_S (its worker checks); its download is cancelled and its
    media removed here, unless another task shares that video."""
    task_id = _checked_id(task_id)
    deleted, media_id = await run_in_threadpool(partial(tasks.delete_task, owner=owner),
                                                sessions, task_id)
    if not deleted:
        raise _not_found(task_id)
    answers.forget(task_id)  # before the database's notification, for DELETE then GET
    janitor.release_deleted_task(task_id, media_id)
    return Response(status_code=204)


@router.get("/tasks/{task_id}/frames/{index}.jpg", response_class=Response,
            responses={200: {"content": {"image/jpeg": {}}}})
async def get_frame_image(task_id: str, index: int, sessions: DatabaseSessions, media: Media,
                          owner: Owner = "") -> Response:
    """A frame the task analysed, from the media service; 404 before frames exist or once the media is gone."""
    extracted = await run_in_threadpool(partial(tasks.extracted_frames, owner=owner), sessions,
                                        _checked_id(task_id))
    if extracted is None or index not in {frame.index for frame in extracted.frames}:
        raise HTTPException(404, f"Task {task_id} has no frame {index}")
    try:
        jpeg = await media.frame_image(extracted.media_id, index, extracted.frame_set, extracted.request)
    except ServiceError as exc:
        status = 503 if exc.retryable else 404
        raise HTTPException(status, f"frame {index} of task {task_id} is not available: {exc.message}") from None
    return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})


@router.post("/tasks/{task_id}/ask", response_model=AskAnswer)
async def ask(task_id: str, body: AskRequest, asked: AskedQuestions, owner: Owner = "") -> Response:
    """An answer to a question about a completed task, from the passages of it that match (questions.py);
    409 while the task is not completed."""
    if not body.question.strip():
        raise HTTPException(422, "the question is empty")
    try:
        answer = await asked.ask(_checked_id(task_id), owner, body.question)
    except questions.TaskNotAnswerable as exc:
        raise HTTPException(409, str(exc)) from None
    except questions.QuestionsBusy:
        raise HTTPException(503, "too many questions are being answered; ask again shortly",
                            headers={"Retry-After": str(questions.BUSY_RETRY_AFTER_S)}) from None
    except ServiceError as exc:
        raise HTTPException(503 if exc.retryable else 502, exc.message) from None
    if answer is None:
        raise _not_found(task_id)
    return _json(answer)


@router.get("/deployments")
async def deployments(deployed: DeployedModels) -> dict:
    """The deployed model endpoints (role -> tier -> endpoint), for the gateway's OpenAI passthrough.
    Internal only: it carries the endpoints' API keys."""
    return {role: {tier: endpoint.model_dump() for tier, endpoint in tiers.items()}
            for role, tiers in deployed.items()}


@router.get("/health", response_model=OrchestratorHealth)
async def health(sessions: DatabaseSessions, models: Models, deployed: DeployedModels) -> OrchestratorHealth:
    db_ok = await run_in_threadpool(database_ok, sessions)
    active = await run_in_threadpool(tasks.count_active, sessions) if db_ok else 0
    endpoints = await probe_endpoints(models, deployed)
    return OrchestratorHealth(database_ok=db_ok, active_tasks=active, endpoints=endpoints)
