"""Engine and sessions for SQLite (embedded default) and PostgreSQL.

Reads and writes are told apart by how a session is opened: `sessions()` is for reading, and
`sessions.begin()` for writing (every write in this service goes through it). On SQLite that decides
when the database's single write lock is taken: a write transaction takes it at BEGIN, a read never
takes it, so in WAL mode readers run beside a writer and see its last commit, instead of queueing
behind every heartbeat and progress write (and every other reader). The reads clients repeat
(`Sessions.read`, `read_awaited`) run outside the ORM and outside any transaction.
"""

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")

# Execution options that mark the connections of write transactions (Sessions.begin) and of reads
# outside any transaction (Sessions.read).
WRITES = "task_writes"
NO_TRANSACTION = "task_no_transaction"
# PostgreSQL connections for the reads awaited on the event loop (more wait their turn): a read takes a
# fraction of a millisecond, so a few serve thousands a second.
AWAITED_POOL_SIZE = 10
SQLITE_POOL_SIZE, SQLITE_POOL_OVERFLOW = 16, 32


def normalize_database_url(url: str) -> str:
    """postgres:// and postgresql:// both mean psycopg 3, the driver we ship."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def create_db_engine(database_url: str) -> Engine:
    url = make_url(normalize_database_url(database_url))
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    # As many connections kept open as reads may run at once: one opened beyond the pool for a single
    # read costs more than the read, with the pragmas every connection starts with.
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                           pool_size=SQLITE_POOL_SIZE, max_overflow=SQLITE_POOL_OVERFLOW)

    @event.listens_for(engine, "connect")
    def _sqlite_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # transactions are begun by _sqlite_begin, not the driver
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute("PRAGMA busy_timeout=30000")
        dbapi_connection.execute("PRAGMA foreign_keys=ON")

    @event.listens_for(engine, "begin")
    def _sqlite_begin(connection) -> None:
        # A write transaction takes the write lock at BEGIN: two that both read and then write would
        # otherwise fail with "database is locked" instead of waiting their turn. A read takes no lock.
        options = connection.get_execution_options()
        if options.get(WRITES, False):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        elif not options.get(NO_TRANSACTION, False):  # else each statement is its own consistent read
            connection.exec_driver_sql("BEGIN")

    return engine


class Sessions(sessionmaker[Session]):
    """`with sessions() as session:` reads; `with sessions.begin() as session:` writes and commits."""

    def __init__(self, engine: Engine, **options):
        super().__init__(engine, **options)
        # A read of a task or a page needs no transaction around it: without one, PostgreSQL is spared a
        # BEGIN and a ROLLBACK (two round trips), and SQLite two statements.
        autocommit = {"isolation_level": "AUTOCOMMIT"} if engine.dialect.name != "sqlite" else {}
        self._outside_transactions = engine.execution_options(**{NO_TRANSACTION: True}, **autocommit)
        self._awaited: AsyncEngine | None = None

    @property
    def engine(self) -> Engine:
        return self.kw["bind"]

    @property
    def embedded(self) -> bool:
        """SQLite: the database is a file this process reads itself, not a server at the end of a socket."""
        return self.engine.dialect.name == "sqlite"

    def read(self, work: Callable[[Connection], T]) -> T:
        """`work(connection)`, reading outside the ORM (a session costs more than a small query) and in no
        transaction of its own: each statement is one consistent read."""
        with self._outside_transactions.connect() as connection:
            return work(connection)

    async def read_awaited(self, work: Callable[[Connection], T]) -> T:
        """`read` for code on the event loop. On SQLite the work is done in place: a small read is a
        fraction of a millisecond that never waits for a writer (WAL), less than handing it to a thread
        and back. On PostgreSQL it is awaited on a pool of asyncio connections of its own, so the loop
        serves other requests meanwhile, with no thread in between."""
        if self.embedded:
            return self.read(work)
        for attempt in (1, 2):
            try:
                async with self._awaited_engine().connect() as connection:
                    return await connection.run_sync(work)
            except DBAPIError as error:
                # Rather than pinging before every read: a connection found dead (the server restarted)
                # is dropped, and the read tried once more on a fresh one.
                if attempt == 2 or not error.connection_invalidated:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _awaited_engine(self) -> AsyncEngine:
        if self._awaited is None:
            self._awaited = create_async_engine(self.engine.url, pool_size=AWAITED_POOL_SIZE, max_overflow=0,
                                                isolation_level="AUTOCOMMIT")
        return self._awaited

    async def aclose(self) -> None:
        if self._awaited is not None:
            await self._awaited.dispose()
            self._awaited = None

    @contextlib.contextmanager
    def begin(self) -> Iterator[Session]:
        with self(bind=self.engine.execution_options(**{WRITES: True})) as session, session.begin():
            yield session


def create_session_factory(engine: Engine) -> Sessions:
    return Sessions(engine, expire_on_commit=False)
