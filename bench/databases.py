"""The databases a benchmark runs on: SQLite in a folder of its own, or a throwaway PostgreSQL server."""

import contextlib
import tempfile
from collections.abc import Callable, Iterator
from typing import TypeVar

from tests.support.postgres import throwaway_postgres

LABELS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
Figures = TypeVar("Figures")


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


def measure_on_each(names: str, measure: Callable[[str, str], Figures]) -> list[Figures]:
    """`measure(label, DATABASE_URL)` on a fresh database of each of `names` ("sqlite,postgresql"), in turn."""
    figures = []
    for name in names.split(","):
        with benchmark_database(name) as (label, url):
            figures.append(measure(label, url))
    return figures
