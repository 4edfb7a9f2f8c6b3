"""Live progress of a task as Server-Sent Events (GET /tasks/{task_id}/events).

However many people watch one task, this gateway follows it once: a `TaskFeed` per (key, task) waits on
the orchestrator for the next change (one long poll at a time, see orchestrator.task_changes), turns each
change into events written once, and every listener of that feed is sent the same bytes.

Each event has an `id:`, the task's version, which grows with every write: a client that reconnects with
`Last-Event-ID` is sent what it missed, or, when this gateway no longer holds it, the task as it is now.
"""

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from service_common.contracts import TERMINAL_STATUSES, TaskChange, TaskProgress
from service_common.errors import ServiceError

log = logging.getLogger("gateway.live_progress")

LONG_POLL_S = 20.0  # how long one ask waits at the orchestrator for a change
RETRY_S = (0.5, 1.0, 2.0, 5.0)  # waits between asks while the orchestrator is unavailable
HISTORY = 64  # events a feed keeps for listeners that fall behind or reconnect

FetchChange = Callable[[int, float], Awaitable[TaskChange | None]]


@dataclass(frozen=True)
class Event:
    id: int
    wire: bytes  # as sent: `id:`, `event:` and `data:` lines, then a blank line


def _event(event_id: int, kind: str, data: str) -> Event:
    return Event(event_id, f"id: {event_id}\nevent: {kind}\ndata: {data}\n\n".encode())


def _progress_event(event_id: int, task_id: str, status: str, progress: dict | None) -> Event:
    data = json.dumps({"task_id": task_id, "status": status, "progress": progress}, separators=(",", ":"))
    return _event(event_id, "progress", data)


HEARTBEAT = b": keep-alive\n\n"


class TaskFeed:
    """One task's changes, for every listener of this gateway that may see it."""

    def __init__(self, task_id: str, fetch_change: FetchChange):
        self.task_id = task_id
        self._fetch_change = fetch_change
        self.events: deque[Event] = deque(maxlen=HISTORY)
        self.finished = False  # the final event is out, or the task is gone: listeners end
        self.listeners = 0
        self._version = 0
        self._shown: tuple | None = None  # (status, progress) of the last event
        self._changed = asyncio.Event()
        self._follow: asyncio.Task | None = None

    def take(self, change: TaskChange) -> None:
        """Turn a change into events: one per stage entered since the last, then the task as it is now."""
        task = change.task
        next_id = self._version + 1
        for status in change.statuses:
            if (status in TERMINAL_STATUSES or status == task.status or next_id >= change.version
                    or (self._shown and status.value == self._shown[0])):
                continue
            self._publish(_progress_event(next_id, task.task_id, status.value,
                                          TaskProgress(stage=status.value).model_dump(mode="json")))
            self._shown = (status.value, None)
            next_id += 1
        self._version = change.version
        if task.status in TERMINAL_STATUSES:
            self._publish(_event(change.version, "done", task.model_dump_json()))
            self.finished = True
            return
        progress = task.progress.model_dump(mode="json") if task.progress else None
        shown = (task.status.value, json.dumps(progress, sort_keys=True))
        if shown != self._shown:
            self._shown = shown
            self._publish(_progress_event(change.version, task.task_id, task.status.value, progress))

    def _publish(self, event: Event) -> None:
        self.events.append(event)
        self._wake()

    def _wake(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def start(self) -> None:
        if self._follow is None and not self.finished:
            self._follow = asyncio.create_task(self._follow_task())

    async def stop(self) -> None:
        if self._follow is not None:
            self._follow.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._follow

    async def _follow_task(self) -> None:
        failures = 0
        while not self.finished:
            try:
                change = await self._fetch_change(self._version, LONG_POLL_S)
            except ServiceError as exc:
                # Listeners stay connected (heartbeats go on) while the task service is away.
                delay = RETRY_S[min(failures, len(RETRY_S) - 1)]
                failures += 1
                log.warning("following task %s: %s; asking again in %g s", self.task_id, exc.message, delay)
                await asyncio.sleep(delay)
                continue
            except Exception:
                log.exception("following task %s failed; its listeners are let go", self.task_id)
                change = None
            failures = 0
            if change is None:  # deleted while watched
                self.finished = True
                self._wake()
            elif change.version > self._version:
                self.take(change)

    async def listen(self, last_event_id: int | None, heartbeat_s: float) -> AsyncIterator[bytes]:
        """The events for one listener: those after `last_event_id`, or without one the latest, then each
        new one as it comes, with a heartbeat comment after `heartbeat_s` of quiet."""
        sent = last_event_id if last_event_id is not None else (self.events[-1].id - 1 if self.events else 0)
        while True:
            changed = self._changed  # taken before reading, so an event published meanwhile still wakes us
            for event in list(self.events):
                if event.id > sent:
                    sent = event.id
                    yield event.wire
            if self.finished:
                return
            try:
                await asyncio.wait_for(changed.wait(), heartbeat_s)
            except TimeoutError:
                yield HEARTBEAT


class TaskFeeds:
    """The feeds this gateway follows, keyed by (owner, task): a feed never serves another key's listener."""

    def __init__(self, heartbeat_s: float):
        self._feeds: dict[tuple[str, str], TaskFeed] = {}
        self._heartbeat_s = heartbeat_s

    async def listen(self, owner: str, task_id: str, fetch_change: FetchChange,
                     last_event_id: int | None) -> AsyncIterator[bytes] | None:
        """A listener's events, or None when the owner has no such task."""
        key = (owner, task_id)
        feed = self._feeds.get(key)
        if feed is None:
            first = await fetch_change(0, 0.0)
            if first is None:
                return None
            feed = self._feeds.get(key)  # another listener may have opened it meanwhile
            if feed is None:
                feed = self._feeds[key] = TaskFeed(task_id, fetch_change)
                feed.take(first)
        return self._listening(key, feed, last_event_id)

    async def _listening(self, key: tuple[str, str], feed: TaskFeed,
                         last_event_id: int | None) -> AsyncIterator[bytes]:
        # Started by its first listener's stream rather than when opened: a response never sent leaves
        # nothing running.
        feed.listeners += 1
        feed.start()
        try:
            async for chunk in feed.listen(last_event_id, self._heartbeat_s):
                yield chunk
        finally:
            feed.listeners -= 1
            if (feed.finished or feed.listeners == 0) and self._feeds.get(key) is feed:
                del self._feeds[key]
            if feed.listeners == 0:
                await feed.stop()

    @property
    def following(self) -> int:
        return len(self._feeds)


def parse_last_event_id(header: str | None) -> int | None:
    """The Last-Event-ID a reconnecting client sends; an id this gateway never wrote counts as none."""
    if header is None or not header.strip().isdigit() or len(header.strip()) > 19:
        return None
    return int(header.strip())
