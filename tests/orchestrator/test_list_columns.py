"""A task list reads only what it shows, however large the listed tasks' results are."""

from sqlalchemy import event, update

from orchestrator.models import Task
from orchestrator.tasks import create_task, list_tasks
from service_common.contracts import TaskCreate

RESULT_COLUMNS = ("transcript", "transcript_segments", "frames", "frame_analyses", "checkpoints", "summary",
                  "key_points", "notes", "video_info", "request", "progress")
LONG_TEXT = "word " * 20_000


def _with_large_results(sessions, task_id: str) -> None:
    segments = [{"start": float(i), "end": i + 0.5, "text": f"cue {i}"} for i in range(2_000)]
    with sessions.begin() as session:
        session.execute(update(Task).where(Task.id == task_id).values(
            status="completed", transcript=LONG_TEXT, transcript_segments=segments, summary=LONG_TEXT,
            checkpoints={"extracting_transcript": {"text": LONG_TEXT, "segments": segments}},
            frames=[{"index": 0, "timestamp": 0.0, "analysis": LONG_TEXT}], frame_analyses=[LONG_TEXT]))


def _statements(sessions, action) -> list[str]:
    engine = sessions.kw["bind"]
    seen: list[str] = []

    def record(_conn, _cursor, statement, _parameters, _context, _executemany) -> None:
        seen.append(statement.lower())

    event.listen(engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


def test_the_list_selects_only_the_columns_it_shows(sessions):
    created = [create_task(sessions, TaskCreate(youtube_url=f"https://example.com/v{i}"), owner="alice")[0]
               for i in range(3)]
    _with_large_results(sessions, created[1].task_id)
    page: list = []
    statements = _statements(sessions, lambda: page.append(list_tasks(sessions, 100, 0, owner="alice")))

    total, tasks = page[0]
    assert total == 3
    assert [t.task_id for t in tasks] == [t.task_id for t in reversed(created)]
    assert [t.status for t in tasks] == ["pending", "completed", "pending"]
    assert set(tasks[0].model_dump()) == {"task_id", "status", "youtube_url", "created_at", "completed_at"}

    selects = [s for s in statements if s.lstrip().startswith("select") and "count(" not in s]
    assert len(selects) == 1, statements
    listed = selects[0].split(" from ")[0]
    for column in RESULT_COLUMNS:
        assert f"tasks.{column}" not in listed, f"the list reads {column}: {listed}"
    for column in ("id", "status", "youtube_url", "created_at", "completed_at"):
        assert f"tasks.{column}" in listed
