"""Key points with their times and repaired chapters go from the text model's answer (the fault-injecting
OpenAI server, a real process) through the text stage into the stored task and its answer, on SQLite
and PostgreSQL; and the 0005 migration keeps older tasks readable."""

import asyncio
import json

import httpx
from alembic import command
from alembic.config import Config
from sqlalchemy import text

from orchestrator.clients.media import MediaClient
from orchestrator.clients.models import ModelClient
from orchestrator.config import ModelEndpoint, OrchestratorSettings
from orchestrator.db import create_db_engine, create_session_factory
from orchestrator.deployments import Deployments
from orchestrator.migrate import MIGRATIONS, upgrade_to_head
from orchestrator.pipeline import Pipeline, StageContext
from orchestrator.queue import claim_next_task, complete_task, save_checkpoint
from orchestrator.stage_results import Checkpoints
from orchestrator.tasks import create_task, get_task
from service_common.contracts import Chapter, TaskCreate, TaskStatus
from tests.support.fault_injecting_openai import MODEL

SEGMENTS = [{"start": 0.0, "end": 5.0, "text": "Welcome."}, {"start": 70.0, "end": 80.0, "text": "Prices fall."}]
ANSWER = {
    "summary": "A short talk on energy prices.",
    "key_points": ["[00:00] the host says hello", "[01:10] prices fall"],
    "chapters": [{"start": "01:10", "title": "Prices", "summary": "Prices fall."},
                 {"start": "00:02", "title": "Welcome", "summary": "The host says hello."},
                 {"start": "later", "title": "Dropped", "summary": "No readable start."},
                 {"start": "09:00", "title": "Past the end", "summary": "Folded in."}],
    "notes": ["could not write in Klingon"],
}


async def _no_progress(_progress: dict) -> None:
    return None


def analyze_text(models_url: str, duration: float | None) -> dict:
    endpoint = ModelEndpoint(base_url=models_url, model=MODEL)
    settings = OrchestratorSettings(model_endpoints={"text": {"int4": endpoint}, "vision": {"int4": endpoint}})
    ctx = StageContext("t", {"text_quantization": "int4", "language": "Klingon"}, Checkpoints.from_stored({
        "downloading": {"media_id": "m1", "video_info": {"title": "Energy talk", "duration": duration}},
        "extracting_transcript": {"text": "Welcome. Prices fall.", "segments": SEGMENTS, "language": "en"},
        "extracting_frames": {"media_id": "m1", "frames": [{"index": 0, "timestamp": 90.0, "width": 64, "height": 36}]},
        "analyzing_vision": {"analyses": ["A chart."]}}), _no_progress)

    async def run():
        async with httpx.AsyncClient() as http:
            pipeline = Pipeline(settings, MediaClient(http, "http://127.0.0.1:9"),
                                ModelClient(http, per_endpoint=2, call_timeout_s=10),
                                deployments=Deployments.from_settings(settings))
            return await pipeline.analyze_text(ctx)

    return asyncio.run(run())


def store_text_stage(sessions, output) -> str:
    """Run the stored side of the text stage on a new task, as a worker does; returns the task id."""
    record, _ = create_task(sessions, TaskCreate(youtube_url="https://example.com/talk.mp4"))
    claim = claim_next_task(sessions, "worker", lease_s=30)
    save_checkpoint(sessions, claim, TaskStatus.ANALYZING_TEXT, output)
    complete_task(sessions, claim)
    return record.task_id


def test_key_points_and_chapters_flow_into_the_task_answer(fs, sessions):
    fs.control(reply=json.dumps(ANSWER))
    output = analyze_text(fs.base_url, duration=125.0)
    assert fs.stats()["requests"] == 1
    expected = [Chapter(start=0, end=70, title="Welcome", summary="The host says hello."),
                Chapter(start=70, end=125, title="Prices", summary="Prices fall. Folded in.")]
    assert output.checkpoint.model_dump()["chapters"] == [c.model_dump() for c in expected]  # a resumed task keeps them

    task = get_task(sessions, store_text_stage(sessions, output))
    assert task.status == TaskStatus.COMPLETED
    assert task.key_points == ["[00:00] the host says hello", "[01:10] prices fall"]
    assert task.chapters == expected
    assert task.notes == ["the text model noted: could not write in Klingon"]


def test_chapters_of_a_video_of_unknown_length_end_at_the_last_time_the_material_shows(fs):
    fs.control(reply=json.dumps(ANSWER))
    chapters = analyze_text(fs.base_url, duration=None).results.columns()["chapters"]
    assert [(c["start"], c["end"], c["title"]) for c in chapters] == [(0.0, 70.0, "Welcome"), (70.0, 90.0, "Prices")]


def test_an_answer_without_chapters_leaves_them_null_and_says_so(fs, sessions):
    fs.control(reply=json.dumps({"summary": "A talk.", "key_points": ["[00:00] hello"]}))
    output = analyze_text(fs.base_url, duration=125.0)
    task = get_task(sessions, store_text_stage(sessions, output))
    assert (task.summary, task.chapters) == ("A talk.", None)
    assert task.notes == ["the text model gave no chapters"]


def _migrate(engine, action, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        action(config, revision)


def test_tasks_from_before_chapters_read_back_without_them(database_url):
    engine = create_db_engine(database_url)
    _migrate(engine, command.upgrade, "0004")
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO tasks (id, owner, status, youtube_url, request, checkpoints, attempt, cancel_requested, "
            "created_at, updated_at, summary, key_points) VALUES ('22222222-2222-2222-2222-222222222222', '', "
            "'completed', 'https://example.com/a.mp4', :request, '{}', 0, false, '2026-01-01', '2026-01-01', "
            "'old summary', '[\"a point\"]')"),
            {"request": TaskCreate(youtube_url="https://example.com/a.mp4").model_dump_json()})
    upgrade_to_head(engine)
    sessions = create_session_factory(engine)
    old = get_task(sessions, "22222222-2222-2222-2222-222222222222")
    assert (old.summary, old.key_points, old.chapters) == ("old summary", ["a point"], None)
    _migrate(engine, command.downgrade, "0004")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT summary FROM tasks")).scalar() == "old summary"
    upgrade_to_head(engine)
    assert get_task(sessions, "22222222-2222-2222-2222-222222222222").chapters is None
    engine.dispose()
