"""Task answers kept between polls are never served once their task has changed: a commit from another
connection (as another process or replica makes it) drops them on SQLite and PostgreSQL, and a write
that lands while a read is in flight keeps that read's answer from being kept at all."""

import asyncio
import contextlib
import json
import sqlite3
import time

import psycopg
from sqlalchemy import update

from orchestrator.answers import TaskAnswers, watch_for_changes
from orchestrator.models import Task
from orchestrator.tasks import create_task, read_task
from service_common.contracts import TaskCreate

REQUEST = TaskCreate(youtube_url="https://example.com/a.mp4")


def write_elsewhere(sessions, task_id: str, summary: str) -> None:
    """Commit a change on a connection the orchestrator does not own, as another process would."""
    url = sessions.engine.url
    if url.get_backend_name() == "sqlite":
        with sqlite3.connect(url.database, isolation_level=None) as connection:
            connection.execute("UPDATE tasks SET summary = ?, updated_at = updated_at WHERE id = ?",
                               (summary, task_id))
        return
    with psycopg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False),
                         autocommit=True) as connection:
        connection.execute("UPDATE tasks SET summary = %s WHERE id = %s", (summary, task_id))


async def answer_of(answers: TaskAnswers, sessions, task_id: str, owner: str = "", reads: list | None = None):
    async def read():
        if reads is not None:
            reads.append(task_id)
        record = await read_task(sessions, task_id, owner=owner)
        return None if record is None else record.model_dump_json().encode()

    answer = await answers.answer(task_id, owner, read)
    return None if answer is None else json.loads(answer)


@contextlib.asynccontextmanager
async def watched_answers(sessions, max_bytes: int = 2**20):
    """TaskAnswers with this database's source of changes, once that is watching."""
    answers = TaskAnswers(max_bytes)
    source = watch_for_changes(answers, sessions.engine)
    try:
        deadline = time.monotonic() + 10
        while not answers.serving:
            assert time.monotonic() < deadline, "the source of changes never started"
            await asyncio.sleep(0.05)
        yield answers
    finally:
        await source.aclose()


async def eventually(check, timeout: float = 3.0):
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.02)


def test_an_answer_is_kept_until_another_connection_commits_a_change(sessions):
    record, _ = create_task(sessions, REQUEST)

    async def scenario():
        async with watched_answers(sessions) as answers:
            reads: list = []
            assert (await answer_of(answers, sessions, record.task_id, reads=reads))["summary"] is None
            await answer_of(answers, sessions, record.task_id, reads=reads)
            assert len(reads) == 1, "the second poll is answered from memory"

            write_elsewhere(sessions, record.task_id, "written by another process")

            async def changed():
                return (await answer_of(answers, sessions, record.task_id))["summary"] == "written by another process"
            # SQLite sees it on the very next read; PostgreSQL's notification takes a moment (well under MAX_AGE_S).
            assert await eventually(changed, timeout=0 if sessions.engine.dialect.name == "sqlite" else 1)

    asyncio.run(scenario())


def test_a_write_during_a_read_keeps_that_read_from_being_kept(sessions):
    record, _ = create_task(sessions, REQUEST)

    async def scenario():
        async with watched_answers(sessions) as answers:
            async def read_then_see_a_write():
                before = (await read_task(sessions, record.task_id)).model_dump_json().encode()
                with sessions.begin() as session:  # committed after the read's snapshot
                    session.execute(update(Task).where(Task.id == record.task_id).values(summary="newer"))
                await asyncio.sleep(0.5)  # the notification arrives (PostgreSQL)
                answers.look()  # the next poll looks first (SQLite)
                return before

            await answers.answer(record.task_id, "", read_then_see_a_write)
            assert answers.get(record.task_id, "") is None, "the older answer was not kept"
            assert (await answer_of(answers, sessions, record.task_id))["summary"] == "newer"

    asyncio.run(scenario())


def test_a_kept_answer_is_not_given_to_another_owner_and_memory_is_bounded(sessions):
    mine, _ = create_task(sessions, REQUEST, owner="alice")

    async def scenario():
        async with watched_answers(sessions, 64 * 1024) as answers:
            assert (await answer_of(answers, sessions, mine.task_id, owner="alice"))["task_id"] == mine.task_id
            assert await answer_of(answers, sessions, mine.task_id, owner="bob") is None
            assert answers.get(mine.task_id, "bob") is None and answers.get(mine.task_id, "alice") is not None
            for n in range(200):
                answers.keep(f"task-{n}", "alice", b"x" * 1000, answers.generation)
            assert 0 < answers.kept_bytes <= 64 * 1024

    asyncio.run(scenario())
