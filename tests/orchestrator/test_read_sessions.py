"""Reads run beside writes: a task read never waits for a worker's write transaction, and sees every
commit made before it began; writes still wait their turn (SQLite's write lock, taken at BEGIN)."""

import asyncio
import threading
import time

import pytest
from sqlalchemy import event, update

from orchestrator.db import create_db_engine, create_session_factory
from orchestrator.media_usage import media_in_use
from orchestrator.migrate import upgrade_to_head
from orchestrator.models import Task
from orchestrator.queue import claim_next_task, report_progress
from orchestrator.tasks import create_task, get_task, list_tasks, read_task
from service_common.contracts import TaskCreate
from tests.support.postgres import postgres_cluster

REQUEST = TaskCreate(youtube_url="https://example.com/a.mp4")


class HeldWrite:
    """A write transaction that changed the task's progress and holds it (and its locks) uncommitted."""

    def __init__(self, sessions, task_id: str):
        self.sessions, self.task_id = sessions, task_id
        self.writing, self.release = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._write, daemon=True)

    def _write(self) -> None:
        with self.sessions.begin() as session:
            session.execute(update(Task).where(Task.id == self.task_id).values(progress={"stage": "uncommitted"}))
            self.writing.set()
            self.release.wait(30)

    def __enter__(self) -> "HeldWrite":
        self.thread.start()
        assert self.writing.wait(10)
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.thread.join(30)


def in_thread(call, timeout: float):
    """`call()`'s result if it returns within `timeout` seconds, else None (it keeps running)."""
    result: list = []
    thread = threading.Thread(target=lambda: result.append(call()), daemon=True)
    thread.start()
    thread.join(timeout)
    return result[0] if result else None


def test_a_read_does_not_wait_for_a_write_and_sees_the_last_commit(sessions):
    record, _ = create_task(sessions, REQUEST)
    claim = claim_next_task(sessions, "worker-1", lease_s=30)
    report_progress(sessions, claim, {"stage": "downloading", "fraction": 0.5})
    with HeldWrite(sessions, record.task_id):
        started = time.monotonic()
        seen = in_thread(lambda: get_task(sessions, record.task_id), timeout=5)
        listed = in_thread(lambda: list_tasks(sessions, 10, 0), timeout=5)
        waited = time.monotonic() - started
    assert seen is not None and listed is not None, "a read waited for a write transaction"
    assert waited < 2
    assert seen.progress.fraction == 0.5  # the committed progress, not the one still being written
    assert listed[0] == 1
    assert get_task(sessions, record.task_id).progress.stage == "uncommitted"  # committed on release


def test_writes_still_wait_their_turn(sessions):
    record, _ = create_task(sessions, REQUEST)
    claim = claim_next_task(sessions, "worker-1", lease_s=30)
    with HeldWrite(sessions, record.task_id) as held:
        second = threading.Thread(target=report_progress, args=(sessions, claim, {"stage": "second"}), daemon=True)
        second.start()
        second.join(1.0)
        assert second.is_alive(), "a second write went ahead while the first held the database"
    second.join(30)
    assert not second.is_alive() and not held.thread.is_alive()
    assert get_task(sessions, record.task_id).progress.stage == "second"  # applied after the first


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_only_write_transactions_take_sqlites_write_lock(sessions):
    statements: list[str] = []

    @event.listens_for(sessions.engine, "before_cursor_execute")
    def remember(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    record, _ = create_task(sessions, REQUEST)
    begins_after_create = [s for s in statements if s.startswith("BEGIN")]
    statements.clear()
    get_task(sessions, record.task_id)
    list_tasks(sessions, 10, 0)
    media_in_use(sessions)
    assert begins_after_create and set(begins_after_create) == {"BEGIN IMMEDIATE"}
    # The polled reads run in no transaction of their own (each statement is one consistent read); a read
    # through an ORM session is a deferred transaction, which takes no lock.
    assert [s for s in statements if s.startswith("BEGIN")] == ["BEGIN"]
    assert any(s.startswith("SELECT") and "summary" in s for s in statements)


def test_an_awaited_read_gives_what_a_read_gives(sessions):
    record, _ = create_task(sessions, REQUEST, owner="alice")

    async def reads():
        try:
            return [await read_task(sessions, record.task_id, owner=owner) for owner in ("alice", "bob")]
        finally:
            await sessions.aclose()

    mine, theirs = asyncio.run(reads())
    assert mine == get_task(sessions, record.task_id, owner="alice") and mine.task_id == record.task_id
    assert theirs is None


def test_an_awaited_read_outlives_a_postgresql_restart():
    with postgres_cluster() as cluster:
        engine = create_db_engine(cluster.url)
        upgrade_to_head(engine)
        sessions = create_session_factory(engine)
        record, _ = create_task(sessions, REQUEST)

        async def read_around_a_restart():
            try:
                before = await read_task(sessions, record.task_id)  # leaves a connection in the pool
                cluster.stop()
                cluster.start()
                return before, await read_task(sessions, record.task_id)  # that connection is dead now
            finally:
                await sessions.aclose()

        before, after = asyncio.run(read_around_a_restart())
        engine.dispose()
    assert before is not None and after == before
