"""Which stored media the tasks use: what retention and the deletion of a task may not remove."""

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from service_common.contracts import UPLOAD_SCHEME, upload_id

from .models import Task
from .task_view import ACTIVE


def task_media_id(task: Task) -> str | None:
    """The stored media a task uses: its download's, or before that the upload it names."""
    if task.media_id:
        return task.media_id
    return upload_id(task.youtube_url or "")


def any_task_uses(session: Session, media_id: str) -> bool:
    return session.scalar(select(Task.id).where(
        (Task.media_id == media_id) | (Task.youtube_url == UPLOAD_SCHEME + media_id)).limit(1)) is not None


def media_shared(sessions: sessionmaker[Session], media_id: str) -> bool:
    """Whether any task uses this media."""
    with sessions() as session:
        return any_task_uses(session, media_id)


def media_in_use(sessions: sessionmaker[Session]) -> set[str]:
    """Media ids that queued or running tasks still need."""
    query = select(Task.media_id, Task.youtube_url).where(
        Task.status.in_(ACTIVE), Task.media_id.is_not(None) | Task.youtube_url.startswith(UPLOAD_SCHEME))
    with sessions() as session:
        return {media_id or upload_id(url) for media_id, url in session.execute(query)}
