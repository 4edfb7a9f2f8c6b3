"""Idempotent submits, forward-only statuses, and which media tasks still need, on real databases."""

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
from sqlalchemy import update

from orchestrator.clock import utcnow
from orchestrator.media_usage import media_in_use
from orchestrator.models import Task
from orchestrator.queue import LeaseLost, claim_next_task, complete_task, enter_stage, save_checkpoint, still_owned
from orchestrator.retention import StoredMedia, choose_media_to_delete, parse_listing
from orchestrator.stage_results import downloaded
from orchestrator.tasks import IdempotencyConflict, create_task, delete_task, list_tasks
from service_common.contracts import DownloadResult, TaskCreate, TaskStatus, VideoInfo


def test_the_same_key_and_body_give_the_same_task(sessions):
    request = TaskCreate(youtube_url="https://example.com/a.mp4", max_frames=4)
    first, created = create_task(sessions, request, "key-1")
    again, created_again = create_task(sessions, request, "key-1")
    assert created and not created_again and again.task_id == first.task_id
    other, _ = create_task(sessions, request, "key-2")
    assert other.task_id != first.task_id
    assert create_task(sessions, request)[0].task_id not in {first.task_id, other.task_id}  # no key, no dedup
    with pytest.raises(IdempotencyConflict):
        create_task(sessions, TaskCreate(youtube_url="https://example.com/a.mp4", max_frames=5), "key-1")
    assert list_tasks(sessions, 10, 0)[0] == 3


def test_concurrent_identical_submits_create_one_task(sessions):
    request = TaskCreate(youtube_url="https://example.com/b.mp4")
    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(lambda _: create_task(sessions, request, "same-key"), range(20)))
    assert len({record.task_id for record, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert list_tasks(sessions, 100, 0)[0] == 1


def test_a_deleted_keys_task_frees_the_key(sessions):
    request = TaskCreate(youtube_url="https://example.com/c.mp4")
    first, _ = create_task(sessions, request, "k")
    delete_task(sessions, first.task_id)
    second, created = create_task(sessions, request, "k")
    assert created and second.task_id != first.task_id


def test_statuses_only_move_forward(sessions):
    task, _ = create_task(sessions, TaskCreate(youtube_url="https://example.com/d.mp4"))
    claim = claim_next_task(sessions, "w", lease_s=30)
    enter_stage(sessions, claim, TaskStatus.EXTRACTING_FRAMES)
    enter_stage(sessions, claim, TaskStatus.EXTRACTING_FRAMES)  # a retry re-enters the same stage
    with pytest.raises(LeaseLost):
        enter_stage(sessions, claim, TaskStatus.DOWNLOADING)
    complete_task(sessions, claim)
    assert not still_owned(sessions, claim)


def test_tasks_name_the_media_they_need(sessions):
    running, _ = create_task(sessions, TaskCreate(youtube_url="https://example.com/e.mp4"))
    uploaded, _ = create_task(sessions, TaskCreate(youtube_url="upload://" + "a" * 32))
    claim = claim_next_task(sessions, "w", lease_s=30)
    assert claim.task_id == running.task_id and still_owned(sessions, claim)
    save_checkpoint(sessions, claim, TaskStatus.DOWNLOADING,
                    downloaded(DownloadResult(media_id="b" * 32, video_info=VideoInfo())))
    assert media_in_use(sessions) == {"a" * 32, "b" * 32}
    complete_task(sessions, claim)
    assert media_in_use(sessions) == {"a" * 32}  # a finished task keeps its media only until retention

    sharing, _ = create_task(sessions, TaskCreate(youtube_url="upload://" + "a" * 32, max_frames=2))
    assert delete_task(sessions, uploaded.task_id) == (True, None)  # another task still uses that upload
    assert delete_task(sessions, sharing.task_id) == (True, "a" * 32)
    assert delete_task(sessions, running.task_id) == (True, "b" * 32)


NOW = datetime(2026, 1, 1, 12, 0, 0)


def media(name: str, age_s: float, size: int = 100, busy: bool = False) -> StoredMedia:
    return StoredMedia(name, size, NOW - timedelta(seconds=age_s), busy)


def test_retention_removes_expired_media_but_never_one_in_use():
    stored = [media("old", 7200), media("old-busy", 7200, busy=True), media("old-in-use", 7200), media("new", 10)]
    chosen = choose_media_to_delete(stored, {"old-in-use"}, NOW, retention_s=3600, budget_bytes=0)
    assert [m.media_id for m in chosen] == ["old"]
    assert choose_media_to_delete(stored, set(), NOW, retention_s=0, budget_bytes=0) == []


def test_the_budget_removes_the_least_recently_used_first():
    stored = [media("a", 300, 400), media("b", 200, 400), media("c", 100, 400), media("d", 50, 400, busy=True)]
    chosen = choose_media_to_delete(stored, {"b"}, NOW, retention_s=0, budget_bytes=1000)
    assert [m.media_id for m in chosen] == ["a", "c"]  # b is in use, d busy: 1600 -> 800 bytes
    assert choose_media_to_delete(stored, set(), NOW, retention_s=0, budget_bytes=1600) == []


def test_media_used_moments_ago_is_never_chosen():
    stored = [media("just-downloaded", 2, 400), media("older", 100, 400)]
    chosen = choose_media_to_delete(stored, set(), NOW, retention_s=1, budget_bytes=1, recent_s=30)
    assert [m.media_id for m in chosen] == ["older"]


def test_listing_times_are_read_as_utc():
    listing = {"media": [{"media_id": "x", "bytes": 5, "last_used_at": "2026-01-01T13:00:00+01:00", "busy": False},
                         {"media_id": "y", "bytes": 5, "last_used_at": "2026-01-01T12:00:00Z", "busy": True}]}
    assert parse_listing(listing) == [StoredMedia("x", 5, NOW, False), StoredMedia("y", 5, NOW, True)]


def test_rescue_claims_take_only_tasks_whose_worker_died(sessions):
    first, _ = create_task(sessions, TaskCreate(youtube_url="https://example.com/f.mp4"))
    create_task(sessions, TaskCreate(youtube_url="https://example.com/g.mp4"))
    claimed = claim_next_task(sessions, "dies", lease_s=30)
    assert claimed.task_id == first.task_id
    assert claim_next_task(sessions, "busy", lease_s=30, abandoned_only=True) is None  # lease still runs
    with sessions.begin() as session:  # its worker died: the lease runs out
        session.execute(update(Task).where(Task.id == first.task_id)
                        .values(lease_expires_at=utcnow() - timedelta(seconds=1)))
    rescued = claim_next_task(sessions, "busy", lease_s=30, abandoned_only=True)
    assert (rescued.task_id, rescued.attempt) == (first.task_id, 2)
    assert claim_next_task(sessions, "busy", lease_s=30, abandoned_only=True) is None  # the other never ran
