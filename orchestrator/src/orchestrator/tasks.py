"""The task API's side of the database: create, read, list and delete tasks."""

import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from service_common.contracts import TERMINAL_STATUSES, TaskCreate, TaskRecord, TaskStatus, VideoInfo

from .clock import utcnow
from .models import Task, TaskEvent

ACTIVE = [s.value for s in TaskStatus if s not in TERMINAL_STATUSES]


def to_record(task: Task) -> TaskRecord:
    return TaskRecord(
        task_id=task.id,
        status=TaskStatus(task.status),
        youtube_url=task.youtube_url,
        created_at=task.created_at,
        completed_at=task.completed_at,
        video_info=VideoInfo(**task.video_info) if task.video_info else None,
        summary=task.summary,
        key_points=task.key_points,
        frame_analyses=task.frame_analyses,
        transcript=task.transcript,
        error=task.error,
    )


def create_task(sessions: sessionmaker[Session], request: TaskCreate) -> TaskRecord:
    now = utcnow()
    task = Task(
        id=str(uuid.uuid4()),
        status=TaskStatus.PENDING.value,
        youtube_url=request.youtube_url,
        request=request.model_dump(),
        checkpoints={},
        attempt=0,
        cancel_requested=False,
        created_at=now,
        updated_at=now,
    )
    with sessions.begin() as session:
        session.add(task)
        session.add(TaskEvent(task_id=task.id, at=now, kind="created", status=task.status, attempt=0))
    return to_record(task)


def get_task(sessions: sessionmaker[Session], task_id: str) -> TaskRecord | None:
    with sessions() as session:
        task = session.get(Task, task_id)
        return to_record(task) if task else None


def list_tasks(sessions: sessionmaker[Session], limit: int, offset: int) -> tuple[int, list[TaskRecord]]:
    with sessions() as session:
        total = session.scalar(select(func.count()).select_from(Task)) or 0
        rows = session.scalars(
            select(Task).order_by(Task.created_at.desc(), Task.id).limit(limit).offset(offset)
        ).all()
        return total, [to_record(t) for t in rows]


def delete_task(sessions: sessionmaker[Session], task_id: str) -> bool:
    """Remove the task; a worker still running it loses its fence at its next write and stops."""
    with sessions.begin() as session:
        task = session.get(Task, task_id, with_for_update=True)
        if task is None:
            return False
        session.delete(task)
        return True


def count_active(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(Task).where(Task.status.in_(ACTIVE))) or 0
