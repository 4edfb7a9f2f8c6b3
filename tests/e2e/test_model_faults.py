"""End to end against a misbehaving model server: media service, orchestrator and gateway as real processes
(no lite server: MODEL_ENDPOINTS names the fault-injecting one for every role), a video served from
127.0.0.1. Transient faults within the retry budget are ridden out; a permanent one fails the task at once;
a server that keeps failing, or never answers, fails the task with its last error within a computable
time instead of leaving it running."""

import json
import time

import pytest
import requests

from service_common.http import longest_retry_wait
from tests.support.fault_injecting_openai import MODEL
from tests.support.http_server import serve_directory
from tests.support.stack import Stack, running
from tests.support.videos import write_video_site

MAX_ATTEMPTS = 2  # task attempts
CALL_ATTEMPTS = 3  # attempts of one model call within a task attempt (with_retries' default)
CALL_TIMEOUT_S = 1.0
RETRY_BACKOFF_S = 0.3
POLL_INTERVAL_S = 0.2
TERMINAL = {"completed", "failed"}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    page = write_video_site(root, seconds=4)
    with serve_directory(root) as base:
        yield f"{base}/{page}"


def running_model_stack(database_url: str, workdir, model_base_url: str, media_url: str | None = None):
    """Orchestrator and gateway, and a media service unless `media_url` names a running one, running for the
    block; every model tier of both roles is the fault server."""
    endpoint = {"int4": {"base_url": model_base_url, "model": MODEL}}
    orchestrator = {"MODEL_ENDPOINTS": json.dumps({"vision": endpoint, "text": endpoint}),
                    "MAX_ATTEMPTS": str(MAX_ATTEMPTS), "RETRY_BACKOFF_S": str(RETRY_BACKOFF_S),
                    "MODEL_CALL_TIMEOUT_S": str(CALL_TIMEOUT_S), "POLL_INTERVAL_S": str(POLL_INTERVAL_S)}
    if media_url:
        orchestrator["MEDIA_SERVICE_URL"] = media_url
    stack = Stack(database_url=database_url, workdir=workdir, service_env={"orchestrator": orchestrator})
    return running(stack, *(["media"] if media_url is None else []), "orchestrator", "gateway")


@pytest.fixture(scope="module")
def stack(fault_server, tmp_path_factory):
    """One stack on SQLite for the module: each test runs its own task against a freshly reset server."""
    workdir = tmp_path_factory.mktemp("stack")
    with running_model_stack(f"sqlite:///{workdir / 'tasks.db'}", workdir, fault_server.base_url) as stack:
        yield stack


def run_task(stack: Stack, site: str, timeout: float = 120) -> tuple[dict, float]:
    """Submit one analysis (one frame, so one vision call then one text call) and wait for its end;
    returns the task and the seconds from its first model stage to its end."""
    api = stack.url("gateway")
    response = requests.post(f"{api}/analyze", json={"youtube_url": site, "max_frames": 1}, timeout=10)
    assert response.status_code == 200, response.text
    task_id = response.json()["task_id"]
    deadline, modelling_since = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        result = requests.get(f"{api}/tasks/{task_id}", timeout=10).json()
        if modelling_since is None and result["status"] in ("analyzing_vision", "analyzing_text", *TERMINAL):
            modelling_since = time.monotonic()
        if result["status"] in TERMINAL:
            return result, time.monotonic() - modelling_since
        time.sleep(0.05)
    print(stack.logs())
    raise AssertionError(f"task {task_id} still {result['status']} after {timeout} s")


def quiet_stats(fs, settle_s: float = 1.0) -> dict:
    """The server's counters once nothing more arrives for `settle_s` (a late retry would show)."""
    stats = fs.stats()
    while True:
        time.sleep(settle_s)
        again = fs.stats()
        if again == stats and not again["in_flight"]:
            return again
        stats = again


def failing_bound(hang_s: float) -> float:
    """Longest a task whose every model call fails may take from its first model stage to `failed`:
    each attempt's vision call tries CALL_ATTEMPTS times (each cut off after `hang_s`) with backoff
    between them; between task attempts the backoff grows from RETRY_BACKOFF_S (+20 %); a released task
    is claimed again within a poll; the rest (frame image, database writes, status polling, a busy machine)
    gets 5 s."""
    call = CALL_ATTEMPTS * hang_s + longest_retry_wait(CALL_ATTEMPTS)
    between = sum(RETRY_BACKOFF_S * 2**n * 1.2 + POLL_INTERVAL_S for n in range(MAX_ATTEMPTS - 1))
    return MAX_ATTEMPTS * call + between + 5


def test_a_burst_of_transient_faults_within_the_budget_is_ridden_out(stack, fs, site):
    # The vision call exhausts its three attempts on the first three faults, so the task is retried as a
    # whole; its second attempt meets the last two faults, then an answer. Five faults of six allowed.
    fs.control(faults=[{"status": 429, "retry_after": "1"}, {"reset": True}, {"status": 503},
                       {"status": 503}, {"reset": True}])
    result, _ = run_task(stack, site)
    assert result["status"] == "completed", result["error"]
    assert result["frame_analyses"] == ["A frame of a test video."]
    assert result["error"] is None
    stats = quiet_stats(fs)
    assert stats["queued_faults"] == 0
    assert stats["requests"] == 5 + 1 + 1  # the faults, the vision answer, the text answer


def test_a_permanent_model_error_fails_the_task_at_once(stack, fs, site):
    fs.control(faults=[{"status": 400}])
    result, elapsed = run_task(stack, site)
    assert result["status"] == "failed"
    assert result["error"] == "vision model failed on frame 0: injected HTTP 400"
    assert elapsed < 5  # no backoff (1.5 s or more), no second attempt
    assert quiet_stats(fs)["requests"] == 1  # neither the call nor the task was tried again


def test_a_model_that_keeps_failing_fails_the_task_with_its_last_error(stack, fs, site):
    # 503s throughout, but the last of the calls the budget allows gets a 502: the error must be that one.
    budget = MAX_ATTEMPTS * CALL_ATTEMPTS
    fs.control(faults=[{"status": 503}] * (budget - 1) + [{"status": 502}] + [{"status": 503}] * 5)
    result, elapsed = run_task(stack, site)
    assert result["status"] == "failed"
    assert result["error"] == (f"vision model failed on frame 0: injected HTTP 502 "
                               f"(gave up after {MAX_ATTEMPTS} attempts)")
    assert quiet_stats(fs)["requests"] == budget
    assert elapsed < failing_bound(hang_s=0)


def test_a_model_that_never_answers_fails_the_task_in_bounded_time(stack, fs, site):
    fs.control(delay_s=3600)  # every call: accepted, read, never answered
    result, elapsed = run_task(stack, site)
    assert result["status"] == "failed"
    assert result["error"].startswith("vision model failed on frame 0: no answer")
    assert result["error"].endswith(f"(gave up after {MAX_ATTEMPTS} attempts)")
    assert MAX_ATTEMPTS * CALL_ATTEMPTS * CALL_TIMEOUT_S <= elapsed < failing_bound(hang_s=CALL_TIMEOUT_S)
    stats = quiet_stats(fs)
    # Every abandoned call closed its connection: nothing is left hanging on the model server.
    assert stats["requests"] == stats["disconnected"] == MAX_ATTEMPTS * CALL_ATTEMPTS
    assert stats["in_flight"] == 0


def test_transient_faults_are_ridden_out_on_postgresql(stack, fs, site, postgres_url, tmp_path):
    # Its own orchestrator and gateway on PostgreSQL; the media service (and its cache) is the module's.
    with running_model_stack(postgres_url, tmp_path, fs.base_url, media_url=stack.url("media")) as on_postgres:
        fs.control(faults=[{"reset": True}, {"status": 503, "retry_after": "1"}, {"delay_s": 0},
                           {"status": 429}])
        result, _ = run_task(on_postgres, site)
        assert result["status"] == "completed", result["error"]
        assert quiet_stats(fs)["requests"] == 3 + 2  # vision: two faults, then an answer; text: one, then one
