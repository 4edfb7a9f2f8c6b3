"""The databases a benchmark runs on: SQLite in a folder of its own, or a throwaway PostgreSQL server."""

import contextlib
import tempfile
from collections.abc import Iterator

from tests.support.postgres import throwaway_postgres

LABELS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


@contextlib.contextmanager
def benchmark_database(name: str) -> Iterator[tuple[str, str]]:
    """(label, DATABASE_URL) of a fresh database for `name` ("sqlite" or "postgresql"), removed after."""
    if name == "sqlite":
        with tempfile.TemporaryDirectory(prefix="bench-db-") as folder:
            yield LABELS[name], f"sqlite:///{folder}/tasks.db"
    elif name == "postgresql":
        with throwaway_postgres() as (url, _data):
            yield LABELS[name], url
    else:
        raise SystemExit(f"unknown database {name!r}: sqlite or postgresql")
