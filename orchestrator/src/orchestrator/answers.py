"""Task answers kept in memory between reads, each dropped as soon as its task is written.

Clients poll GET /tasks/{id} every few seconds, many of them a task that no longer changes. Each answer
(a TaskRecord's JSON) is kept after it is read, and served again only while nothing can have changed it:

- On SQLite, every read first asks `PRAGMA data_version` on a connection of its own (a few microseconds),
  which changes with every commit of any other connection, in this process or another: then every kept
  answer is dropped.
- On PostgreSQL, a trigger notifies channel `task_changed` with the id of every task written (migration
  0006), and a connection of our own LISTENs to it: a notified task's answer is dropped. Answers are kept
  only while that connection is up, and for at most MAX_AGE_S, in case it died without a word.

A read that misses notes the generation before it asks the database, and keeps its answer only if no
change was seen meanwhile: a write committed after its snapshot can never leave a stale answer behind.
A delete made here drops its answer at once, so DELETE then GET is a 404 even before the notification.
"""

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

import psycopg
from sqlalchemy import Engine

log = logging.getLogger("orchestrator.answers")

MAX_AGE_S = 2.0
CHANNEL = "task_changed"
LIVENESS_S = 5.0  # a quiet LISTEN connection is checked this often
RECONNECT_S = (0.5, 1.0, 2.0, 5.0, 10.0)


class TaskAnswers:
    """task id -> (owner, answer, kept at), least recently used first, bounded in bytes."""

    def __init__(self, max_bytes: int):
        self._max_bytes = max_bytes
        self._kept: OrderedDict[str, tuple[str, bytes, float]] = OrderedDict()
        self._bytes = 0
        self.generation = 0  # grows with every change seen: see `keep`
        self.serving = False  # whether the source of changes is watching
        self.look: Callable[[], None] = lambda: None  # asks the source of changes, where it must be asked

    async def answer(self, task_id: str, owner: str, read: Callable[[], Awaitable[bytes | None]]) -> bytes | None:
        """The kept answer if it is current, else `read()`'s (kept for next time)."""
        self.look()
        kept = self.get(task_id, owner)
        if kept is not None:
            return kept
        generation = self.generation
        answer = await read()
        if answer is not None:
            self.keep(task_id, owner, answer, generation)
        return answer

    def get(self, task_id: str, owner: str) -> bytes | None:
        entry = self._kept.get(task_id)
        if entry is None or not self.serving:
            return None
        kept_owner, answer, kept_at = entry
        if time.monotonic() - kept_at > MAX_AGE_S:
            self.forget(task_id)
            return None
        if kept_owner != owner:
            return None  # asked by another key: read it, and let the database say it is not theirs
        self._kept.move_to_end(task_id)
        return answer

    def keep(self, task_id: str, owner: str, answer: bytes, generation: int) -> None:
        """Keep an answer read when the generation was `generation`, unless a change came since."""
        if generation != self.generation or not self.serving or len(answer) > self._max_bytes // 8:
            return
        self.forget(task_id)
        self._kept[task_id] = (owner, answer, time.monotonic())
        self._bytes += len(answer)
        while self._bytes > self._max_bytes:
            _, (_, dropped, _) = self._kept.popitem(last=False)
            self._bytes -= len(dropped)

    @property
    def kept_bytes(self) -> int:
        return self._bytes

    def forget(self, task_id: str) -> None:
        self.generation += 1
        entry = self._kept.pop(task_id, None)
        if entry is not None:
            self._bytes -= len(entry[1])

    def forget_all(self) -> None:
        self.generation += 1
        self._kept.clear()
        self._bytes = 0


class NoChanges:
    """A database no other connection can reach (SQLite in memory): nothing is kept."""

    async def aclose(self) -> None:
        pass


class SqliteCommits:
    """Drops every kept answer when any connection has committed since the last look."""

    def __init__(self, answers: TaskAnswers, database: str):
        self._answers = answers
        self._connection = sqlite3.connect(database, check_same_thread=False, isolation_level=None)
        self._version = self._data_version()
        answers.look = self.look
        answers.serving = True

    def _data_version(self) -> int:
        return self._connection.execute("PRAGMA data_version").fetchone()[0]

    def look(self) -> None:
        version = self._data_version()
        if version != self._version:
            self._version = version
            self._answers.forget_all()

    async def aclose(self) -> None:
        self._answers.serving = False
        self._connection.close()


class PostgresNotifications:
    """LISTENs to task_changed and drops each notified task's answer; keeps none while not listening."""

    def __init__(self, answers: TaskAnswers, conninfo: str):
        self._answers = answers
        self._conninfo = conninfo
        self._listening = asyncio.create_task(self._listen())

    async def _listen(self) -> None:
        failures = 0
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True) as connection:
                    await connection.execute(f"LISTEN {CHANNEL}")
                    self._answers.forget_all()
                    self._answers.serving = True
                    failures = 0
                    while True:
                        async for notification in connection.notifies(timeout=LIVENESS_S):
                            self._answers.forget(notification.payload)
                        await asyncio.wait_for(connection.execute("SELECT 1"), LIVENESS_S)
            except Exception as exc:  # the database is away, or the connection died: every answer is read
                self._answers.serving = False
                self._answers.forget_all()
                delay = RECONNECT_S[min(failures, len(RECONNECT_S) - 1)]
                failures += 1
                log.warning("not listening for task changes (%s: %s); trying again in %g s",
                            type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "", delay)
                await asyncio.sleep(delay)
            finally:
                self._answers.serving = False

    async def aclose(self) -> None:
        self._listening.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._listening


def watch_for_changes(answers: TaskAnswers, engine: Engine) -> NoChanges | SqliteCommits | PostgresNotifications:
    """The source of changes for this database; call from the event loop (PostgreSQL's listens on it)."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        in_memory = url.database in (None, "", ":memory:") or url.query.get("mode") == "memory"
        return NoChanges() if in_memory else SqliteCommits(answers, url.database)
    return PostgresNotifications(answers, url.set(drivername="postgresql").render_as_string(hide_password=False))
