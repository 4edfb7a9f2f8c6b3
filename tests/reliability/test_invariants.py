"""The invariant checker itself: quiet on a sound history, and it names each kind of broken one."""

import pytest
from sqlalchemy import update

from orchestrator.clock import utcnow
from orchestrator.db import create_db_engine, create_session_factory
from orchestrator.migrate import upgrade_to_head
from orchestrator.models import Task, TaskEvent
from orchestrator.queue import claim_next_task, complete_task, enter_stage, save_checkpoint
from orchestrator.stage_results import ExtractedFrames, FrameDescriptions, StageOutput, TaskSummary
from orchestrator.tasks import create_task
from service_common.contracts import STAGES, DownloadResult, TaskCreate, TaskStatus, TranscriptResult, VideoInfo
from tests.support.invariants import check_invariants


@pytest.fixture
def sessions(sqlite_url):
    engine = create_db_engine(sqlite_url)
    upgrade_to_head(engine)
    yield create_session_factory(engine)
    engine.dispose()


# The least each stage stores: what is checked here is the task's history, not its results.
BARE_CHECKPOINTS = {
    TaskStatus.DOWNLOADING: DownloadResult(media_id="m", video_info=VideoInfo()),
    TaskStatus.EXTRACTING_FRAMES: ExtractedFrames(media_id="m", frames=[]),
    TaskStatus.EXTRACTING_TRANSCRIPT: TranscriptResult(),
    TaskStatus.ANALYZING_VISION: FrameDescriptions(analyses=[]),
    TaskStatus.ANALYZING_TEXT: TaskSummary(),
}


def finished_task(sessions) -> str:
    """A task run through every stage by one worker, the way the workers do it."""
    created = create_task(sessions, TaskCreate(youtube_url="https://example.com/v.mp4"))
    task_id = (created[0] if isinstance(created, tuple) else created).task_id
    claim = claim_next_task(sessions, "w1", lease_s=30)
    for stage in STAGES:
        enter_stage(sessions, claim, stage)
        save_checkpoint(sessions, claim, stage, StageOutput(BARE_CHECKPOINTS[stage]))
    complete_task(sessions, claim)
    return task_id


def add_event(sessions, task_id: str, kind: str, status: str | None, attempt: int, detail: str | None = None):
    with sessions.begin() as session:
        session.add(TaskEvent(task_id=task_id, at=utcnow(), kind=kind, status=status, attempt=attempt, detail=detail))


def set_row(sessions, task_id: str, **values):
    with sessions.begin() as session:
        session.execute(update(Task).where(Task.id == task_id).values(**values))


def test_a_sound_history_passes(sessions):
    task_id = finished_task(sessions)
    report = check_invariants(sessions)
    assert report.violations == []
    assert report.outcomes == {"completed": 1} and report.claims[task_id] == [(1, "w1")]
    assert set(report.entries[task_id].values()) == {1}


def test_a_stage_entered_again_by_a_new_claim_is_fine(sessions):
    task_id = finished_task(sessions)
    with sessions.begin() as session:  # rewrite the tail: a takeover during analyzing_text
        session.query(TaskEvent).filter(TaskEvent.task_id == task_id, TaskEvent.status == "completed").delete()
    add_event(sessions, task_id, "claimed", "analyzing_text", 2, "w2")
    add_event(sessions, task_id, "status", "analyzing_text", 2)
    add_event(sessions, task_id, "status", "completed", 2)
    set_row(sessions, task_id, attempt=2)
    assert check_invariants(sessions).violations == []


@pytest.mark.parametrize(("forge", "complaint"), [
    (lambda s, t: add_event(s, t, "status", "analyzing_text", 1), "follows the terminal status"),
    (lambda s, t: add_event(s, t, "status", "completed", 1), "2 terminal events"),
    (lambda s, t: add_event(s, t, "claimed", "completed", 2, "w2"), "follows the terminal status"),
    (lambda s, t: set_row(s, t, completed_at=None), "completed without completed_at"),
    (lambda s, t: set_row(s, t, status="analyzing_text"), "row says analyzing_text"),
    (lambda s, t: set_row(s, t, lease_owner="w9"), "still leased"),
    (lambda s, t: set_row(s, t, status="failed", error=None), "row says failed"),
])
def test_a_finished_task_that_changes_again_is_caught(sessions, forge, complaint):
    task_id = finished_task(sessions)
    forge(sessions, task_id)
    violations = check_invariants(sessions).violations
    assert any(complaint in v for v in violations), violations


def unfinished_task(sessions, *stages: str) -> str:
    created = create_task(sessions, TaskCreate(youtube_url="https://example.com/v.mp4"))
    task_id = (created[0] if isinstance(created, tuple) else created).task_id
    claim_next_task(sessions, "w1", lease_s=30)
    for stage in stages:
        add_event(sessions, task_id, "status", stage, 1)
    set_row(sessions, task_id, status=stages[-1])
    return task_id


@pytest.mark.parametrize(("stages", "complaint"), [
    (("downloading", "extracting_frames", "downloading"), "moved backwards"),
    (("downloading", "downloading"), "entered again without a new claim"),
    (("downloading", "pending"), "moved backwards"),
])
def test_a_status_that_does_not_move_forward_is_caught(sessions, stages, complaint):
    unfinished_task(sessions, *stages)
    violations = check_invariants(sessions).violations
    assert any(complaint in v for v in violations), violations


def test_a_write_by_a_superseded_claim_is_caught(sessions):
    task_id = unfinished_task(sessions, "downloading")
    add_event(sessions, task_id, "claimed", "downloading", 2, "w2")
    add_event(sessions, task_id, "status", "extracting_frames", 1)  # the old owner, after the takeover
    set_row(sessions, task_id, status="extracting_frames", attempt=2)
    violations = check_invariants(sessions).violations
    assert any("not written by the latest claim" in v for v in violations), violations


def test_an_unfinished_task_with_completed_at_is_caught(sessions):
    task_id = unfinished_task(sessions, "downloading")
    set_row(sessions, task_id, completed_at=utcnow())
    violations = check_invariants(sessions).violations
    assert any("with completed_at set" in v for v in violations), violations


def test_a_missing_task_is_caught(sessions):
    finished_task(sessions)
    report = check_invariants(sessions, ["00000000-0000-0000-0000-000000000000"])
    assert report.violations == ["1 tasks are missing"]
