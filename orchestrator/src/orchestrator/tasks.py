"""The task API's side of the database: create, read, list and delete tasks, with per-key quotas and
idempotent submits. The public view of a task is task_view.py's; which media tasks use, media_usage.py's."""

import hashlib
import json
import uuid
from functools import partial

from sqlalchemy import Connection, Row, bindparam, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from service_common.contracts import TaskCreate, TaskListItem, TaskPage, TaskRecord, TaskStatus

from .clock import utcnow
from .db import Sessions
from .media_usage import any_task_uses, task_media_id
from .models import Task, TaskEvent
from .stage_results import Checkpoints, ExtractedFrames
from .task_view import ACTIVE, ONE_TASK_VIEW, TASKS, to_record


class IdempotencyConflict(Exception):
    """The idempotency key was used before for a different request."""


class QuotaExceeded(Exception):
    """The owner already has as many queued or running tasks as it may."""

    def __init__(self, active: int, limit: int):
        super().__init__(f"{active} tasks are queued or running for this API key; the limit is {limit}")
        self.active, self.limit = active, limit


def scoped_idempotency_key(owner: str, key: str) -> str:
    """What the unique column stores: one owner's key never meets another owner's same key."""
    return hashlib.sha256(f"{owner}\0{key}".encode()).hexdigest()


def _count_active(session: Session, owner: str) -> int:
    query = select(func.count()).select_from(Task).where(Task.owner == owner, Task.status.in_(ACTIVE))
    return session.scalar(query) or 0


def _check_quota(session: Session, owner: str, active_limit: int) -> None:
    if active_limit <= 0:
        return
    if session.get_bind().dialect.name == "postgresql":
        # One submit per owner at a time counts and inserts, so two racing submits cannot both take the last slot.
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:owner))"), {"owner": f"quota:{owner}"})
    active = _count_active(session, owner)
    if active >= active_limit:
        raise QuotaExceeded(active, active_limit)


def create_task(sessions: sessionmaker[Session], request: TaskCreate, idempotency_key: str | None = None, *,
                owner: str = "", active_limit: int = 0, request_id: str | None = None) -> tuple[TaskRecord, bool]:
    """The new task, or with an idempotency key this owner already used for the same request, that key's
    task. Returns (record, created). The unique key column decides races between concurrent submits.
    With `active_limit`, refuses (QuotaExceeded) an owner who has that many tasks queued or running."""
    body = json.loads(json.dumps(request.model_dump()))  # as the JSON column will give it back
    stored_key = scoped_idempotency_key(owner, idempotency_key) if idempotency_key is not None else None
    for _ in range(3):  # the key's task may be deleted between our insert and our read
        if stored_key is not None and (replay := _replayed(sessions, stored_key, body)) is not None:
            return replay, False
        now = utcnow()
        task = Task(id=str(uuid.uuid4()), owner=owner, status=TaskStatus.PENDING.value,
                    youtube_url=request.youtube_url, request=body, checkpoints={}, attempt=0,
                    cancel_requested=False, created_at=now, updated_at=now, idempotency_key=stored_key)
        try:
            with sessions.begin() as session:
                _check_quota(session, owner, active_limit)
                session.add(task)
                session.flush()
                # The request's id (X-Request-ID) goes with the task, so the workers' log lines carry it too.
                session.add(TaskEvent(task_id=task.id, at=now, kind="created", status=task.status, attempt=0,
                                      detail=request_id))
            return to_record(task), True
        except IntegrityError:
            if stored_key is None:
                raise
    raise IdempotencyConflict(idempotency_key)


def _replayed(sessions: sessionmaker[Session], stored_key: str, body: dict) -> TaskRecord | None:
    """The task created earlier under this key, if any; a different body under it is a conflict."""
    with sessions() as session:
        existing = session.scalar(select(Task).where(Task.idempotency_key == stored_key))
        if existing is None:
            return None
        if existing.request != body:
            raise IdempotencyConflict(stored_key)
        return to_record(existing)


def _owned(session: Session, task_id: str, owner: str, for_update: bool = False) -> Task | None:
    task = session.get(Task, task_id, with_for_update=for_update)
    return task if task is not None and task.owner == owner else None


def _view_row(connection: Connection, task_id: str, owner: str) -> Row | None:
    return connection.execute(ONE_TASK_VIEW, {"task_id": task_id, "owner": owner}).first()


def get_task(sessions: Sessions, task_id: str, *, owner: str = "") -> TaskRecord | None:
    """The task, if it exists and belongs to `owner` (another owner's task is as good as missing)."""
    row = sessions.read(partial(_view_row, task_id=task_id, owner=owner))
    return to_record(row) if row is not None else None


async def read_task(sessions: Sessions, task_id: str, *, owner: str = "") -> TaskRecord | None:
    """get_task, for the event loop (see Sessions.read_awaited)."""
    row = await sessions.read_awaited(partial(_view_row, task_id=task_id, owner=owner))
    return to_record(row) if row is not None else None


LIST_COLUMNS = (Task.id, Task.status, Task.youtube_url, Task.created_at, Task.completed_at)
_OWNERS_TASKS = TASKS.c.owner == bindparam("owner")
_COUNT = select(func.count()).select_from(TASKS).where(_OWNERS_TASKS)
_PAGE = (select(*(TASKS.c[column.key] for column in LIST_COLUMNS)).where(_OWNERS_TASKS)
         .order_by(TASKS.c.created_at.desc(), TASKS.c.id).limit(bindparam("limit")).offset(bindparam("offset")))


def _page(connection: Connection, limit: int, offset: int, owner: str) -> TaskPage:
    total = connection.execute(_COUNT, {"owner": owner}).scalar() or 0
    rows = connection.execute(_PAGE, {"owner": owner, "limit": limit, "offset": offset}).all()
    # Read in one validation from plain values (pydantic's own loop), not one model per row in Python.
    return TaskPage.model_validate({"total": total, "tasks": [
        {"task_id": row.id, "status": row.status, "youtube_url": row.youtube_url, "created_at": row.created_at,
         "completed_at": row.completed_at} for row in rows]})


def list_tasks(sessions: Sessions, limit: int, offset: int, *, owner: str = "") -> tuple[int, list[TaskListItem]]:
    """A page of the owner's tasks, newest first. Only the columns the list shows are read: a task's
    results (transcript, frames, checkpoints) can be megabytes, and a page has up to 1,000 tasks."""
    page = sessions.read(partial(_page, limit=limit, offset=offset, owner=owner))
    return page.total, page.tasks


async def read_page(sessions: Sessions, limit: int, offset: int, *, owner: str = "") -> TaskPage:
    """list_tasks, for the event loop (see Sessions.read_awaited)."""
    return await sessions.read_awaited(partial(_page, limit=limit, offset=offset, owner=owner))


def delete_task(sessions: sessionmaker[Session], task_id: str, *, owner: str = "") -> tuple[bool, str | None]:
    """Remove the task; a worker still running it notices within CANCEL_CHECK_S and stops.
    Returns (deleted, the media id it used if no other task uses that media too)."""
    with sessions.begin() as session:
        task = _owned(session, task_id, owner, for_update=True)
        if task is None:
            return False, None
        media_id = task_media_id(task)
        session.delete(task)
        session.flush()
        if media_id and any_task_uses(session, media_id):
            media_id = None  # another task shares the video: it stays until retention removes it
        return True, media_id


def extracted_frames(sessions: sessionmaker[Session], task_id: str, *, owner: str = "") -> ExtractedFrames | None:
    """The frames a task extracted, with the media and the frame set they come from; None before that."""
    with sessions() as session:
        checkpoints = session.scalar(select(Task.checkpoints).where(Task.id == task_id, Task.owner == owner))
    # Only the frames entry is read: each frame image asks, and the transcript's entry can be large.
    stage = TaskStatus.EXTRACTING_FRAMES.value
    return Checkpoints.from_stored({stage: checkpoints[stage]} if checkpoints and stage in checkpoints
                                   else None).extracting_frames


def count_active(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(Task).where(Task.status.in_(ACTIVE))) or 0
