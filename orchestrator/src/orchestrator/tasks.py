"""The task API's side of the database: create, read, list and delete tasks."""

import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from service_common.contracts import (
    DEFAULT_FRAME_STRATEGY,
    TERMINAL_STATUSES,
    FrameAnalysis,
    FramesRequest,
    TaskCreate,
    TaskRecord,
    TaskStatus,
    VideoInfo,
)

from .clock import utcnow
from .models import Task, TaskEvent

ACTIVE = [s.value for s in TaskStatus if s not in TERMINAL_STATUSES]
TERMINAL_VALUES = {s.value for s in TERMINAL_STATUSES}


def frame_image_path(task_id: str, index: int) -> str:
    """Where the public API serves a task's frame image (relative to its base URL)."""
    return f"/tasks/{task_id}/frames/{index}.jpg"


def to_record(task: Task) -> TaskRecord:
    frames = None
    if task.frames is not None:
        frames = [FrameAnalysis(image_url=frame_image_path(task.id, f["index"]), **f) for f in task.frames]
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
        frames=frames,
        transcript_segments=task.transcript_segments,
        transcript_source=task.transcript_source,
        transcript_language=task.transcript_language,
        frame_strategy=(task.request or {}).get("frame_strategy", DEFAULT_FRAME_STRATEGY),
        progress=task.progress if task.status not in TERMINAL_VALUES else None,
        notes=task.notes or None,
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


def frame_set(sessions: sessionmaker[Session], task_id: str) -> dict | None:
    """Which media and frame set a task's frames come from, once they were extracted."""
    with sessions() as session:
        checkpoints = session.scalar(select(Task.checkpoints).where(Task.id == task_id))
    extracted = (checkpoints or {}).get("extracting_frames")
    if not extracted:
        return None
    request = FramesRequest.model_validate(extracted["request"]) if "request" in extracted else None
    return {"media_id": extracted["media_id"], "request": request,
            "indexes": {frame["index"] for frame in extracted["frames"]}}


def count_active(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(Task).where(Task.status.in_(ACTIVE))) or 0
