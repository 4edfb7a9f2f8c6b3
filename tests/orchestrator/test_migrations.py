"""Migrations: the schema they build is the one the models describe, and 0004 keeps older tasks
reachable (owner "" is the anonymous owner; idempotency keys re-scoped)."""

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import text

from orchestrator.db import create_db_engine, create_session_factory
from orchestrator.migrate import MIGRATIONS, upgrade_to_head
from orchestrator.models import Base
from orchestrator.tasks import create_task, get_task, list_tasks
from service_common.contracts import TaskCreate


def _upgrade(engine, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def test_migrated_schema_matches_the_models(database_url):
    engine = create_db_engine(database_url)
    upgrade_to_head(engine)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert differences == []


def test_tasks_from_before_owners_stay_with_the_anonymous_owner(database_url):
    engine = create_db_engine(database_url)
    _upgrade(engine, "0003")
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO tasks (id, status, youtube_url, request, idempotency_key, checkpoints, attempt, "
            "cancel_requested, created_at, updated_at) VALUES ('11111111-1111-1111-1111-111111111111', 'pending', "
            "'https://example.com/a.mp4', :request, 'old-key', '{}', 0, false, '2026-01-01', '2026-01-01')"),
            {"request": TaskCreate(youtube_url="https://example.com/a.mp4").model_dump_json()})
    upgrade_to_head(engine)
    sessions = create_session_factory(engine)
    assert get_task(sessions, "11111111-1111-1111-1111-111111111111") is not None
    assert get_task(sessions, "11111111-1111-1111-1111-111111111111", owner="alice") is None
    assert list_tasks(sessions, 10, 0)[0] == 1
    replay, created = create_task(sessions, TaskCreate(youtube_url="https://example.com/a.mp4"), "old-key")
    assert (str(replay.task_id), created) == ("11111111-1111-1111-1111-111111111111", False)
    engine.dispose()
