"""The task queue against real databases: claims, leases, fencing, checkpoints, terminal states."""

import threading
import time

import pytest
from sqlalchemy import select, update

from orchestrator.db import create_db_engine, create_session_factory
from orchestrator.migrate import upgrade_to_head
from orchestrator.models import Task, TaskEvent
from orchestrator.queue import (
    LeaseLost,
    claim_next_task,
    complete_task,
    enter_stage,
    extend_lease,
    fail_task,
    release_for_retry,
    release_unstarted,
    save_checkpoint,
)
from orchestrator.stage_results import Checkpoints, ExtractedFrames, StageOutput, downloaded
from orchestrator.tasks import count_active, create_task, delete_task, get_task, list_tasks
from service_common.contracts import DownloadResult, TaskCreate, TaskStatus, VideoInfo
from tests.support.invariants import assert_invariants


def new_task(sessions, url="https://example.com/v.mp4"):
    return create_task(sessions, TaskCreate(youtube_url=url))[0]


def expire_lease(sessions, task_id):
    with sessions.begin() as session:
        session.execute(update(Task).where(Task.id == task_id).values(lease_expires_at=None))


def test_claim_takes_oldest_first_and_each_task_once(sessions):
    first, second = new_task(sessions), new_task(sessions)
    a = claim_next_task(sessions, "w1", lease_s=30)
    b = claim_next_task(sessions, "w2", lease_s=30)
    assert (a.task_id, b.task_id) == (first.task_id, second.task_id)
    assert a.attempt == 1 and a.request["max_frames"] == 8
    assert claim_next_task(sessions, "w3", lease_s=30) is None


def test_concurrent_claimers_claim_every_task_exactly_once(sessions):
    ids = {new_task(sessions).task_id for _ in range(120)}
    claimed: list[str] = []
    lock = threading.Lock()
    errors: list[Exception] = []

    def claimer(n: int) -> None:
        try:
            while True:
                claim = claim_next_task(sessions, f"w{n}", lease_s=60)
                if claim is None:
                    return
                with lock:
                    claimed.append(claim.task_id)
        except Exception as exc:  # surfaced below; a thread's exception would otherwise vanish
            errors.append(exc)

    threads = [threading.Thread(target=claimer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    assert sorted(claimed) == sorted(ids)  # all claimed, none twice


def test_expired_lease_is_taken_over_and_the_old_worker_is_fenced_off(sessions):
    task = new_task(sessions)
    old = claim_next_task(sessions, "old", lease_s=0.2)
    enter_stage(sessions, old, TaskStatus.DOWNLOADING)
    download = DownloadResult(media_id="m1", video_info=VideoInfo(title="t"))
    save_checkpoint(sessions, old, TaskStatus.DOWNLOADING, downloaded(download))
    assert claim_next_task(sessions, "new", lease_s=30) is None  # lease still valid
    time.sleep(0.3)
    new = claim_next_task(sessions, "new", lease_s=30)
    assert new.task_id == task.task_id and new.attempt == 2
    assert new.checkpoints == Checkpoints(downloading=download)  # resumes after the finished stage
    for late_write in (
        lambda: extend_lease(sessions, old, 30),
        lambda: enter_stage(sessions, old, TaskStatus.EXTRACTING_FRAMES),
        lambda: save_checkpoint(sessions, old, TaskStatus.EXTRACTING_FRAMES,
                                StageOutput(ExtractedFrames(media_id="m1", frames=[]))),
        lambda: complete_task(sessions, old),
        lambda: fail_task(sessions, old, "late"),
    ):
        with pytest.raises(LeaseLost):
            late_write()
    record = get_task(sessions, task.task_id)
    assert record.status == TaskStatus.DOWNLOADING and record.error is None
    assert record.video_info.title == "t"


def test_completion_is_terminal_and_sets_completed_at(sessions):
    task = new_task(sessions)
    claim = claim_next_task(sessions, "w", lease_s=30)
    assert get_task(sessions, task.task_id).completed_at is None
    complete_task(sessions, claim)
    record = get_task(sessions, task.task_id)
    assert record.status == TaskStatus.COMPLETED and record.completed_at is not None
    with pytest.raises(LeaseLost):
        fail_task(sessions, claim, "after the fact")
    expire_lease(sessions, task.task_id)
    assert claim_next_task(sessions, "w2", lease_s=30) is None
    assert get_task(sessions, task.task_id).status == TaskStatus.COMPLETED


def test_failure_keeps_the_error(sessions):
    task = new_task(sessions)
    claim = claim_next_task(sessions, "w", lease_s=30)
    fail_task(sessions, claim, "download failed: HTTP Error 404: Not Found")
    record = get_task(sessions, task.task_id)
    assert record.status == TaskStatus.FAILED and record.completed_at is not None
    assert record.error == "download failed: HTTP Error 404: Not Found"
    assert count_active(sessions) == 0


def test_retry_waits_for_its_backoff(sessions):
    new_task(sessions)
    claim = claim_next_task(sessions, "w", lease_s=30)
    release_for_retry(sessions, claim, "media service unavailable", delay_s=0.3)
    assert claim_next_task(sessions, "w", lease_s=30) is None
    time.sleep(0.4)
    again = claim_next_task(sessions, "w", lease_s=30)
    assert again.attempt == 2 and again.last_error == "media service unavailable"


def test_handing_back_on_shutdown_does_not_count_an_attempt(sessions):
    new_task(sessions)
    claim = claim_next_task(sessions, "w", lease_s=30)
    release_unstarted(sessions, claim)
    assert claim_next_task(sessions, "w2", lease_s=30).attempt == 1


def test_deleting_a_running_task_fences_its_worker(sessions):
    task = new_task(sessions)
    claim = claim_next_task(sessions, "w", lease_s=30)
    assert delete_task(sessions, task.task_id) == (True, None)
    assert delete_task(sessions, task.task_id) == (False, None)
    with pytest.raises(LeaseLost):
        extend_lease(sessions, claim, 30)
    assert get_task(sessions, task.task_id) is None


def test_listing_is_newest_first_and_counts_active(sessions):
    ids = [new_task(sessions, f"https://example.com/{i}").task_id for i in range(3)]
    total, page = list_tasks(sessions, limit=2, offset=0)
    assert total == 3 and [r.task_id for r in page] == ids[::-1][:2]
    assert count_active(sessions) == 3
    with sessions() as session:
        assert session.scalar(select(Task.status).where(Task.id == ids[0])) == "pending"


def test_claim_race_on_postgresql_gives_each_of_1000_tasks_to_exactly_one_of_32_claimers(postgres_url):
    """32 claimers, each with its own connection pool as separate processes would have, released at once
    on 1,000 tasks: every task claimed once, by one claimer, and its history says the same."""
    engine = create_db_engine(postgres_url)
    upgrade_to_head(engine)
    sessions = create_session_factory(engine)
    ids = {new_task(sessions, f"https://example.com/{i}.mp4").task_id for i in range(1000)}
    claimers = 32
    engines = [create_db_engine(postgres_url) for _ in range(claimers)]
    claimed: list[list[tuple[str, int]]] = [[] for _ in range(claimers)]
    errors: list[Exception] = []
    start = threading.Barrier(claimers)

    def claimer(n: int) -> None:
        own = create_session_factory(engines[n])
        try:
            start.wait(timeout=60)
            while (claim := claim_next_task(own, f"claimer-{n}", lease_s=300)) is not None:
                claimed[n].append((claim.task_id, claim.attempt))
        except Exception as exc:  # surfaced below; a thread's exception would otherwise vanish
            errors.append(exc)

    threads = [threading.Thread(target=claimer, args=(n,)) for n in range(claimers)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    took = time.monotonic() - began
    for own in engines:
        own.dispose()
    assert not errors, errors[:3]
    assert not any(t.is_alive() for t in threads)

    got = [task_id for claims in claimed for task_id, _ in claims]
    owner_of = {task_id: f"claimer-{n}" for n, claims in enumerate(claimed) for task_id, _ in claims}
    busy = sum(1 for claims in claimed if claims)
    print(f"\nclaim race: {len(got)} claims of {len(ids)} tasks by {claimers} claimers in {took:.1f} s; "
          f"{busy} claimers got work, the most {max(map(len, claimed))}")
    assert len(got) == len(ids) and set(got) == ids  # every task once, none twice
    assert {attempt for claims in claimed for _, attempt in claims} == {1}
    assert busy > claimers // 2  # they really raced
    with sessions() as session:
        rows = session.execute(select(Task.id, Task.lease_owner, Task.attempt)).all()
        events = session.execute(select(TaskEvent.task_id, TaskEvent.detail, TaskEvent.attempt)
                                 .where(TaskEvent.kind == "claimed")).all()
    assert {r.id: (r.lease_owner, r.attempt) for r in rows} == {t: (owner_of[t], 1) for t in ids}
    assert sorted(events) == sorted((t, owner_of[t], 1) for t in ids)  # one claim event each, by its owner
    assert assert_invariants(sessions).outcomes == {"pending": len(ids)}
    engine.dispose()
