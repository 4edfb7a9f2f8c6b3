"""Fixtures shared by the whole suite: databases (SQLite and a real PostgreSQL) and test videos."""

import contextlib
import os
import socket
import threading
import uuid

import psycopg
import pytest

from tests.support.fault_injecting_openai import DEFAULT_REPLY, run_fault_server
from tests.support.http_server import serve_directory
from tests.support.postgres import throwaway_postgres
from tests.support.videos import write_video_site


@pytest.fixture(scope="session")
def postgres_server_url():
    """TEST_DATABASE_URL when given, else a throwaway cluster started for this test run."""
    given = os.environ.get("TEST_DATABASE_URL")
    if given:
        yield given
        return
    with throwaway_postgres() as (url, _data_dir):
        yield url


@contextlib.contextmanager
def fresh_database(server_url: str):
    """A new, empty database on the server; dropped on exit."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = server_url.rpartition("/")
    yield f"{base}/{name}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url(postgres_server_url):
    """A fresh, empty database on the test server for one test."""
    with fresh_database(postgres_server_url) as url:
        yield url


@pytest.fixture(scope="module")
def module_postgres_url(postgres_server_url):
    """A fresh database shared by one module's tests."""
    with fresh_database(postgres_server_url) as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'tasks.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request):
    """Runs a test once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")


@pytest.fixture(scope="module")
def fault_server():
    """One fault-injecting model server process per test module."""
    with run_fault_server() as server:
        yield server


@pytest.fixture
def fs(fault_server):
    """The module's fault server, with no faults queued, no delay, the default reply and zeroed counters."""
    fault_server.reset()
    fault_server.control(delay_s=0.0, reply=DEFAULT_REPLY)
    return fault_server


@pytest.fixture(scope="module")
def video_site(tmp_path_factory):
    """A small 'video site' on 127.0.0.1: {base}/watch.html embeds an MP4 with English subtitles."""
    root = tmp_path_factory.mktemp("site")
    write_video_site(root)
    with serve_directory(root) as base:
        yield base


@pytest.fixture(scope="module")
def silent_origin():
    """A video URL on 127.0.0.1 whose server takes the connection and never answers: a task fetching it
    stays downloading, making no progress."""
    listener = socket.create_server(("127.0.0.1", 0))
    held = []

    def accept():
        with contextlib.suppress(OSError):
            while True:
                held.append(listener.accept()[0])

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/video.mp4"
    listener.close()
    for connection in held:
        connection.close()
