"""Waiting for a task to finish: live from its event stream when the service has one, else by polling."""

import json
import time
from collections.abc import Callable

from .client import ApiClient
from .errors import CliError
from .sse import iter_events

TERMINAL = ("completed", "failed")
POLL_INTERVAL_S = 2.0
# Polls in a row that may fail on a restarting service or a dropped connection before the wait gives up.
TOLERATED_POLL_FAILURES = 5

# on_update(status, progress): progress is None or {"stage", "fraction", "downloaded_bytes", "total_bytes", "detail"}.
OnUpdate = Callable[[str, dict | None], None]


def follow_task(client: ApiClient, task_id: str, on_update: OnUpdate, poll_interval: float = POLL_INTERVAL_S,
                sleep: Callable[[float], None] = time.sleep) -> dict:
    """The task once completed or failed, as GET /tasks/{task_id} gives it; `on_update` sees each step."""
    task = follow_events(client, task_id, on_update)
    if task is not None:
        return task
    return poll(client, task_id, on_update, poll_interval, sleep)


def follow_events(client: ApiClient, task_id: str, on_update: OnUpdate) -> dict | None:
    """The finished task from GET /tasks/{task_id}/events, or None when the stream cannot give it (no such
    endpoint, an error answer, a stream that ends or stalls before its `done` event): polling takes over."""
    try:
        with client.events(task_id) as response:
            if response.status_code != 200 or "text/event-stream" not in response.headers.get("content-type", ""):
                return None
            for event in iter_events(response.iter_bytes()):
                try:
                    data = json.loads(event.data)
                except ValueError:
                    return None
                if not isinstance(data, dict):
                    return None
                if event.event == "done":
                    return data if data.get("status") in TERMINAL else None
                if event.event == "progress" and isinstance(data.get("status"), str):
                    progress = data.get("progress")
                    on_update(data["status"], progress if isinstance(progress, dict) else None)
    except CliError as exc:
        if not exc.transient:
            raise
    return None


def poll(client: ApiClient, task_id: str, on_update: OnUpdate, interval: float,
         sleep: Callable[[float], None]) -> dict:
    failures = 0
    while True:
        try:
            task = client.task(task_id)
        except CliError as exc:
            failures += 1
            if not exc.transient or failures > TOLERATED_POLL_FAILURES:
                raise
        else:
            failures = 0
            if task.get("status") in TERMINAL:
                return task
            on_update(str(task.get("status")), task.get("progress"))
        sleep(interval)
