"""Waiting for tasks to change: what live progress (the gateway's GET /tasks/{id}/events) is built on.

A gateway asks "tell me when this task is newer than version V" and the request waits here. All the
waiting requests share one watch loop, which reads the version of every watched task in one query per
tick: a thousand waiters cost one small query every TICK_S, and a write made anywhere (a worker of this
process or of another replica, on SQLite or PostgreSQL) is seen within a tick.

A task's version is its `updated_at` in microseconds: every write to a task sets it (queue._fenced_update).
"""

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import Connection, bindparam, select

from service_common.contracts import TaskChange, TaskStatus

from .db import Sessions
from .models import TaskEvent
from .task_view import ONE_TASK_VIEW, TASKS, to_record

log = logging.getLogger("orchestrator.changes")

TICK_S = 0.1
EPOCH = datetime(1970, 1, 1)
_MICROSECOND = timedelta(microseconds=1)

_CHANGED_TASK = ONE_TASK_VIEW.add_columns(TASKS.c.updated_at)
_EVENTS = TaskEvent.__table__
_STAGES_ENTERED = (select(_EVENTS.c.status).where(
    _EVENTS.c.task_id == bindparam("task_id"), _EVENTS.c.kind == "status", _EVENTS.c.at > bindparam("since"))
    .order_by(_EVENTS.c.id))
_VERSIONS = select(TASKS.c.id, TASKS.c.updated_at).where(TASKS.c.id.in_(bindparam("task_ids", expanding=True)))


def version_of(updated_at: datetime) -> int:
    return (updated_at - EPOCH) // _MICROSECOND


def _moment_of(version: int) -> datetime:
    return EPOCH + version * _MICROSECOND


def _read_change(connection: Connection, task_id: str, owner: str, after: int) -> TaskChange | None:
    row = connection.execute(_CHANGED_TASK, {"task_id": task_id, "owner": owner}).first()
    if row is None:
        return None
    version = version_of(row.updated_at)
    statuses = []
    if 0 < after < version:
        statuses = connection.execute(_STAGES_ENTERED, {"task_id": task_id, "since": _moment_of(after)}).scalars()
    return TaskChange(version=version, statuses=[TaskStatus(s) for s in statuses], task=to_record(row))


def _versions(connection: Connection, task_ids: list[str]) -> dict[str, int]:
    return {row.id: version_of(row.updated_at) for row in connection.execute(_VERSIONS, {"task_ids": task_ids})}


class TaskChanges:
    """Answers "this task as soon as it is newer than `after`", for any number of waiters at once."""

    def __init__(self, sessions: Sessions, tick_s: float = TICK_S):
        self._sessions = sessions
        self._tick_s = tick_s
        self._waiting: dict[str, list[tuple[int, asyncio.Future]]] = {}
        self._watch: asyncio.Task | None = None

    async def next_change(self, task_id: str, owner: str, after: int, wait_s: float) -> TaskChange | None:
        """The task once its version is past `after`, or as it is after `wait_s`; None when `owner` has no
        such task (or it was deleted meanwhile)."""
        change = await self._read(task_id, owner, after)
        if change is None or change.version > after or wait_s <= 0:
            return change
        waiter = (after, asyncio.get_running_loop().create_future())
        self._waiting.setdefault(task_id, []).append(waiter)
        if self._watch is None or self._watch.done():
            self._watch = asyncio.create_task(self._watch_loop())
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter[1], wait_s)
        finally:
            waiters = self._waiting.get(task_id, [])
            waiters.remove(waiter)
            if not waiters:
                self._waiting.pop(task_id, None)
        return await self._read(task_id, owner, after)

    async def _read(self, task_id: str, owner: str, after: int) -> TaskChange | None:
        return await self._sessions.read_awaited(partial(_read_change, task_id=task_id, owner=owner, after=after))

    async def _watch_loop(self) -> None:
        while self._waiting:
            await asyncio.sleep(self._tick_s)
            task_ids = list(self._waiting)
            try:
                versions = await self._sessions.read_awaited(partial(_versions, task_ids=task_ids))
            except Exception as exc:  # the database is away: waiters time out and are answered then
                log.warning("cannot read task versions: %s", exc)
                continue
            for task_id in task_ids:
                version = versions.get(task_id)  # None: deleted, which is a change too
                for after, future in self._waiting.get(task_id, ()):
                    if (version is None or version > after) and not future.done():
                        future.set_result(None)

    async def aclose(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
