"""The gateway answers GET /tasks/{id} with the orchestrator's bytes as they are: that holds only while a
TaskRecord's JSON is, field for field and value for value, what the public TaskResponse would write."""

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from gateway.schemas import TaskListResponse, TaskResponse, TaskSummary
from service_common.contracts import (
    Chapter,
    FrameAnalysis,
    TaskListItem,
    TaskPage,
    TaskProgress,
    TaskRecord,
    TaskStatus,
    TranscriptSegment,
    VideoInfo,
)

TASK_ID = str(uuid.uuid4())
CREATED = datetime(2026, 11, 26, 12, 0, 0, 654321)

RECORDS = {
    "pending": TaskRecord(task_id=TASK_ID, status=TaskStatus.PENDING, youtube_url="https://youtu.be/x",
                          created_at=CREATED),
    "running": TaskRecord(
        task_id=TASK_ID, status=TaskStatus.DOWNLOADING, youtube_url="upload://" + "0" * 32, created_at=CREATED,
        progress=TaskProgress(stage="downloading", fraction=0.25, downloaded_bytes=1024, total_bytes=4096),
        video_info=VideoInfo(title="Ünïcode — “quoted” \\ title", duration=212.5, channel=None),
        notes=["a note"]),
    "completed": TaskRecord(
        task_id=TASK_ID, status=TaskStatus.COMPLETED, youtube_url="https://youtu.be/x",
        created_at=datetime(2026, 11, 26, 14, 0, 0, 1, tzinfo=timezone(timedelta(hours=2))),
        completed_at=CREATED + timedelta(minutes=3), video_info=VideoInfo(title="t", duration=206.0, channel="c"),
        summary="s", key_points=["[00:01] a", "b"], frame_analyses=["f"], transcript="t",
        frames=[FrameAnalysis(index=0, timestamp=1.5, analysis="a frame", image_url=f"/tasks/{TASK_ID}/frames/0.jpg")],
        transcript_segments=[TranscriptSegment(start=0.0, end=1e-7, text="x"), TranscriptSegment(
            start=1.0, end=2.0, text="y")],
        transcript_source="speech_to_text", transcript_language="en", frame_strategy="scenes",
        chapters=[Chapter(start=0, end=206, title="All of it", summary="")]),
    "failed": TaskRecord(task_id=TASK_ID, status=TaskStatus.FAILED, youtube_url="https://youtu.be/x",
                         created_at=CREATED, completed_at=CREATED, error="download failed: HTTP 404"),
}


def test_a_task_record_has_the_public_fields_in_the_public_order():
    assert list(TaskRecord.model_fields) == list(TaskResponse.model_fields)
    assert list(TaskPage.model_fields) == list(TaskListResponse.model_fields)
    assert list(TaskListItem.model_fields) == list(TaskSummary.model_fields)


def test_a_task_page_is_written_as_the_public_list():
    page = TaskPage(total=2, tasks=[TaskListItem(**RECORDS[name].model_dump()) for name in ("completed", "pending")])
    assert page.model_dump_json() == TaskListResponse.model_validate(page.model_dump()).model_dump_json()
    assert [task["created_at"] for task in json.loads(page.model_dump_json())["tasks"]] == ["2026-11-26T12:00:00"] * 2


@pytest.mark.parametrize("record", RECORDS.values(), ids=RECORDS.keys())
def test_a_task_records_json_is_the_public_answer(record):
    written = record.model_dump_json()
    # What the gateway wrote when it parsed the record into its response model and wrote that.
    public = TaskResponse.model_validate(record.model_dump()).model_dump_json()
    assert written == public
    answer = json.loads(written)
    # The seed's spelling: UTC to the second, no offset (14:00 at +02:00 is 12:00).
    assert answer["created_at"] == "2026-11-26T12:00:00"
    if record.video_info and record.video_info.duration == 206.0:
        assert answer["video_info"]["duration"] == 206 and isinstance(answer["video_info"]["duration"], int)
