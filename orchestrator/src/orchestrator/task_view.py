"""The public view of a task (a TaskRecord), and the one-task query it is read with."""

from sqlalchemy import bindparam, select

from service_common.contracts import (
    DEFAULT_FRAME_STRATEGY,
    TERMINAL_STATUSES,
    FrameAnalysis,
    TaskRecord,
    TaskStatus,
    VideoInfo,
    WebhookStatus,
)

from .models import Task, WebhookDelivery

ACTIVE = [s.value for s in TaskStatus if s not in TERMINAL_STATUSES]
TERMINAL_VALUES = {s.value for s in TERMINAL_STATUSES}


def frame_image_path(task_id: str, index: int) -> str:
    """Where the public API serves a task's frame image (relative to its base URL)."""
    return f"/tasks/{task_id}/frames/{index}.jpg"


# What the public view of a task is built from: not its checkpoints, which can be megabytes.
VIEW_COLUMNS = (
    Task.id, Task.status, Task.youtube_url, Task.request, Task.created_at, Task.completed_at, Task.video_info,
    Task.summary, Task.key_points, Task.frame_analyses, Task.transcript, Task.error, Task.frames,
    Task.transcript_segments, Task.transcript_source, Task.transcript_language, Task.progress, Task.notes,
    Task.chapters,
)


def to_record(task) -> TaskRecord:
    """The public view of a task: a Task, or a row of VIEW_COLUMNS."""
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
        chapters=task.chapters,
        webhook=_webhook(task),
    )


def _webhook(task) -> WebhookStatus | None:
    """How the task's end is being told, for a task submitted with a webhook_url (a row of ONE_TASK_VIEW
    carries its delivery; before the task ends there is none)."""
    url = (task.request or {}).get("webhook_url")
    if not url:
        return None
    state = getattr(task, "webhook_state", None)
    if state is None:
        return WebhookStatus(url=url, state="waiting")
    return WebhookStatus(url=url, state=state, attempts=task.webhook_attempts, last_status=task.webhook_last_status,
                         delivered_at=task.webhook_delivered_at)


# Clients poll this read every few seconds, so it is built once, from the table's own columns: the ORM's
# attributes would have SQLAlchemy match each result column to them again on every execution.
TASKS = Task.__table__
_DELIVERIES = WebhookDelivery.__table__
ONE_TASK_VIEW = (
    select(*(TASKS.c[column.key] for column in VIEW_COLUMNS), _DELIVERIES.c.state.label("webhook_state"),
           _DELIVERIES.c.attempts.label("webhook_attempts"), _DELIVERIES.c.last_status.label("webhook_last_status"),
           _DELIVERIES.c.delivered_at.label("webhook_delivered_at"))
    .select_from(TASKS.outerjoin(_DELIVERIES, _DELIVERIES.c.task_id == TASKS.c.id))
    .where(TASKS.c.id == bindparam("task_id"), TASKS.c.owner == bindparam("owner")))
