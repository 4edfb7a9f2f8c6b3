"""Apply Alembic migrations at start-up; safe when several orchestrator processes start at once."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

MIGRATIONS = Path(__file__).parent / "migrations"
# Any constant works; it only has to be the same in every orchestrator process.
_MIGRATION_LOCK_KEY = 7_310_451


def upgrade_to_head(engine: Engine) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Serialise concurrent starters; the lock ends with the transaction.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


if __name__ == "__main__":
    from .config import OrchestratorSettings
    from .db import create_db_engine

    upgrade_to_head(create_db_engine(OrchestratorSettings().database_url))
    print("migrations applied")
