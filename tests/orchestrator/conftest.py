"""A migrated task database (SQLite and PostgreSQL) for the orchestrator's store tests."""

import pytest

from orchestrator.db import create_db_engine, create_session_factory
from orchestrator.migrate import upgrade_to_head


@pytest.fixture
def sessions(database_url):
    engine = create_db_engine(database_url)
    upgrade_to_head(engine)
    upgrade_to_head(engine)  # applying twice is a no-op
    yield create_session_factory(engine)
    engine.dispose()
