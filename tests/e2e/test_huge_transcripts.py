"""A page with a subtitle track far longer than its video, through the whole system: the transcript is
cut where it is made, the summary spends a bounded number of model calls, and task lists stay fast
however large the listed tasks' results are."""

import time

import httpx
from sqlalchemy import update

from orchestrator.db import create_db_engine, create_session_factory
from orchestrator.models import Task
from orchestrator.tasks import create_task
from service_common.contracts import TaskCreate
from service_common.transcript_limits import clock
from tests.support.http_server import serve_directory
from tests.support.polling import wait_until
from tests.support.stack import Stack, running
from tests.support.videos import make_video, write_video_page, write_vtt

MAX_CUES = 400
MAX_PARTS = 3
HUGE_TASKS = 4
GUIDE_LIST_FIELDS = {"task_id", "status", "youtube_url", "created_at", "completed_at"}


def _finished(api: str, task_id: str) -> dict:
    seen: dict = {}

    def done() -> bool:
        seen.update(httpx.get(f"{api}/tasks/{task_id}", timeout=10).json())
        return seen["status"] in ("completed", "failed")

    wait_until(done, 120, f"task {task_id} did not finish", every=0.3)
    return seen


def _add_huge_tasks(database_url: str, count: int) -> None:
    """Completed tasks whose results are as large as an uncut 250,000-cue track made them (in part)."""
    segments = [{"start": i * 0.5, "end": i * 0.5 + 0.4, "text": f"cue number {i} of a very long track"}
                for i in range(60_000)]
    text = " ".join(s["text"] for s in segments)
    engine = create_db_engine(database_url)
    sessions = create_session_factory(engine)
    for i in range(count):
        task, _ = create_task(sessions, TaskCreate(youtube_url=f"https://example.com/huge{i}"))
        with sessions.begin() as session:
            session.execute(update(Task).where(Task.id == task.task_id).values(
                status="completed", transcript=text, transcript_segments=segments,
                checkpoints={"extracting_transcript": {"text": text, "segments": segments}}))
    engine.dispose()


def test_a_huge_track_is_cut_and_lists_stay_small_and_fast(sqlite_url, tmp_path):
    cues = [(i * 1.0, i * 1.0 + 0.9, f"Part {i} explains why batteries got cheaper this year.") for i in range(5000)]
    make_video(tmp_path / "talk.mp4", seconds=3)
    write_vtt(tmp_path / "talk.en.vtt", cues)
    write_video_page(tmp_path / "talk.html", "talk.mp4", "Battery talk", vtt_name="talk.en.vtt")
    stack = Stack(database_url=sqlite_url, workdir=tmp_path, service_env={
        "media": {"MAX_TRANSCRIPT_CUES": str(MAX_CUES)},
        "orchestrator": {"MAX_TRANSCRIPT_CHARS": "1000", "MAX_SUMMARY_PARTS": str(MAX_PARTS)}})
    with serve_directory(tmp_path) as base, running(stack):
        api = stack.url("gateway")
        submitted = httpx.post(f"{api}/analyze", json={"youtube_url": f"{base}/talk.html", "max_frames": 1})
        result = _finished(api, submitted.json()["task_id"])
        assert result["status"] == "completed", result["error"]
        assert len(result["transcript_segments"]) == MAX_CUES
        assert result["transcript_segments"][-1]["text"] == cues[MAX_CUES - 1][2]
        notes = result["notes"]
        cut_at = clock(cues[MAX_CUES][0])
        assert f"the transcript was cut at {cut_at} after {MAX_CUES} cues (MAX_TRANSCRIPT_CUES)" in notes
        assert f"the transcript was summarised in {MAX_PARTS} parts" in notes
        assert any(n.endswith(f"parts; {MAX_PARTS} evenly spaced ones were summarised (MAX_SUMMARY_PARTS)")
                   for n in notes)

        _add_huge_tasks(sqlite_url, HUGE_TASKS)
        started = time.monotonic()
        listed = httpx.get(f"{api}/tasks", params={"limit": 100}, timeout=30)
        elapsed = time.monotonic() - started
        assert listed.status_code == 200, listed.text
        page = listed.json()
        assert page["total"] == HUGE_TASKS + 1
        assert all(set(task) == GUIDE_LIST_FIELDS for task in page["tasks"])
        assert elapsed < 2.0, f"GET /tasks took {elapsed:.1f} s"
        internal = httpx.get(f"{stack.url('orchestrator')}/internal/tasks", params={"limit": 100}, timeout=30)
        assert len(internal.content) < 5_000, "the orchestrator's list carries more than the list shows"
