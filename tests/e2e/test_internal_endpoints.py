"""With loopback opened for fetches (EGRESS_ALLOW_CIDRS=127.0.0.1/32, as the test stack and the
README's Try-it do), a task still cannot reach the service's own internal APIs, while a video on
another loopback port downloads as before; a redirect to another scheme fails on the first attempt."""

import sqlite3
import time
import uuid

import pytest
import requests

from tests.media_service.redirecting_origin import redirecting_origin
from tests.support.stack import Stack, running_stack
from tests.support.videos import make_video

# A path on each service that answers a plain GET with 200 (what a fetch that got through would see).
INTERNAL_PATHS = {"orchestrator": "/tasks", "media": "/health", "lite": "/v1/models", "gateway": "/tasks"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with running_stack(tmp_path_factory.mktemp("internal-endpoints")) as stack:
        yield stack


@pytest.fixture(scope="module")
def origin(tmp_path_factory):
    root = tmp_path_factory.mktemp("origin")
    make_video(root / "clip.mp4", seconds=2, size="160x90")
    with redirecting_origin(root) as server:
        yield server


def finished(stack: Stack, url: str, within: float = 120) -> tuple[str, dict]:
    api = stack.url("gateway")
    task_id = requests.post(f"{api}/analyze", json={"youtube_url": url, "max_frames": 2}, timeout=10).json()["task_id"]
    started = time.monotonic()
    while (task := requests.get(f"{api}/tasks/{task_id}", timeout=10).json())["status"] not in ("completed", "failed"):
        assert time.monotonic() - started < within, f"task still {task['status']}"
        time.sleep(0.2)
    return task_id, task


def attempts(stack: Stack, task_id: str) -> int:
    database = stack.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(database) as db:
        return db.execute("SELECT attempt FROM tasks WHERE id = ?", (task_id,)).fetchone()[0]


@pytest.mark.parametrize("service", INTERNAL_PATHS)
def test_a_task_cannot_fetch_the_services_own_apis(stack, service):
    marker = uuid.uuid4().hex
    port = stack.ports[service]
    _, task = finished(stack, f"http://127.0.0.1:{port}{INTERNAL_PATHS[service]}?probe={marker}")
    assert task["status"] == "failed"
    assert f"destination 127.0.0.1:{port} is one of the service's own internal endpoints" in task["error"], task
    assert "EGRESS_ALLOW_ENDPOINTS" in task["error"]
    log = (stack.workdir / f"{service}.log").read_text(errors="replace")
    assert '"GET /health' in log  # its access log is on, so a request from the fetch would show
    assert marker not in log


def test_a_video_on_another_loopback_port_still_downloads(stack, origin):
    _, task = finished(stack, f"{origin.base}/clip.mp4")
    assert task["status"] == "completed", task.get("error")
    assert task["frames"]


def test_a_redirect_to_another_scheme_fails_on_the_first_attempt(stack, origin):
    path = origin.redirect_path("file:///etc/passwd")
    task_id, task = finished(stack, origin.base + path)
    assert task["status"] == "failed"
    assert "the server redirected to file:///etc/passwd" in task["error"], task
    assert attempts(stack, task_id) == 1
    assert origin.count(path) == 1
