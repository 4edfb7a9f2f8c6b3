"""The additive `chapters` field: shown with a task, documented in the OpenAPI schema, absent from lists."""

import uuid
from datetime import UTC, datetime

import httpx

from service_common.contracts import Chapter, TaskRecord, TaskStatus

URL = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
CHAPTERS = [Chapter(start=0, end=65.5, title="Intro", summary="The host says hello."),
            Chapter(start=65.5, end=206, title="Prices", summary="Prices fall.")]


def _task(**fields) -> TaskRecord:
    return TaskRecord(task_id=str(uuid.uuid4()), status=TaskStatus.COMPLETED, youtube_url=URL,
                      created_at=datetime(2026, 11, 26, 12, 0, tzinfo=UTC), summary="s",
                      key_points=["[00:00] hello", "[01:05] prices fall"], **fields)


def test_a_task_shows_its_chapters(gateway, orchestrator_stub):
    record = orchestrator_stub.add_task(_task(chapters=CHAPTERS))
    body = httpx.get(f"{gateway}/tasks/{record.task_id}").json()
    assert body["chapters"] == [
        {"start": 0.0, "end": 65.5, "title": "Intro", "summary": "The host says hello."},
        {"start": 65.5, "end": 206.0, "title": "Prices", "summary": "Prices fall."},
    ]
    assert body["key_points"] == ["[00:00] hello", "[01:05] prices fall"]


def test_a_task_without_chapters_shows_null(gateway, orchestrator_stub):
    record = orchestrator_stub.add_task(_task())
    assert httpx.get(f"{gateway}/tasks/{record.task_id}").json()["chapters"] is None


def test_the_task_list_stays_without_results(gateway, orchestrator_stub):
    orchestrator_stub.add_task(_task(chapters=CHAPTERS))
    [listed] = httpx.get(f"{gateway}/tasks").json()["tasks"]
    assert set(listed) == {"task_id", "status", "youtube_url", "created_at", "completed_at"}


def test_chapters_are_documented_in_openapi(gateway):
    schemas = httpx.get(f"{gateway}/openapi.json").json()["components"]["schemas"]
    field = schemas["TaskResponse"]["properties"]["chapters"]
    assert "the first starts at 0" in field["description"]
    assert {"start", "end", "title", "summary"} <= set(schemas["Chapter"]["properties"])
    assert "chapters" not in schemas["TaskSummary"]["properties"]
