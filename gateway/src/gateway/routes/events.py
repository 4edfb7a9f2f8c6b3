"""Live progress: GET /tasks/{task_id}/events (Server-Sent Events), see live_progress."""

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.responses import StreamingResponse

from ..deps import Caller, Feeds, TaskWatcher
from ..live_progress import parse_last_event_id
from ..task_ids import parse_task_id, task_not_found
from .tasks import NOT_FOUND, UNAVAILABLE

router = APIRouter(tags=["tasks"])

STREAM_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",  # a reverse proxy (nginx) would otherwise hold events back in its buffer
}


@router.get(
    "/tasks/{task_id}/events",
    summary="Live progress of a task (Server-Sent Events)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "The event stream"},
               **NOT_FOUND, **UNAVAILABLE},
)
async def task_events(
    task_id: str,
    owner: Caller,
    watcher: TaskWatcher,
    feeds: Feeds,
    last_event_id: Annotated[str | None, Header(
        description="The `id` of the last event received: the stream goes on from there")] = None,
) -> StreamingResponse:
    """A stream of events, the first at once: `event: progress` with data `{"task_id", "status",
    "progress"}` on every stage entered and progress update, then `event: done` whose data is the whole
    task as `GET /tasks/{task_id}` answers it, after which the stream closes. A `: keep-alive` comment
    comes after 15 s of quiet. Each event's `id` grows with the task's writes; reconnecting with
    `Last-Event-ID` goes on from there."""
    parsed = parse_task_id(task_id)
    events = await feeds.listen(
        owner, str(parsed), partial(watcher.task_change, parsed), parse_last_event_id(last_event_id))
    if events is None:
        raise task_not_found(task_id)
    return StreamingResponse(events, media_type="text/event-stream", headers=STREAM_HEADERS)
