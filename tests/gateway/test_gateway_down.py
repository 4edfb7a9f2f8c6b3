"""A gateway whose orchestrator is not running: it must stay up and say so, never answer 500."""

import uuid

import httpx
import pytest

from tests.support.processes import free_port, run_service


@pytest.fixture(scope="module")
def lonely_gateway():
    closed_port = free_port()  # bound and released: nothing listens there
    env = {"ORCHESTRATOR_URL": f"http://127.0.0.1:{closed_port}", "CORS_ALLOW_ORIGINS": "https://app.example"}
    with run_service("gateway.app:create_app", free_port(), env=env, health_path="/") as (base, _):
        yield base


def test_health_is_503_unhealthy(lonely_gateway):
    response = httpx.get(lonely_gateway + "/health")
    assert response.status_code == 503
    body = response.json()
    assert {k: body[k] for k in ("status", "gpu_available", "gpu_name", "active_tasks")} == {
        "status": "unhealthy",
        "gpu_available": False,
        "gpu_name": None,
        "active_tasks": 0,
    }
    assert body["detail"].startswith("the task service is unavailable")
    assert "127.0.0.1" not in response.text


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/analyze"),
        ("GET", "/tasks"),
        ("GET", f"/tasks/{uuid.uuid4()}"),
        ("DELETE", f"/tasks/{uuid.uuid4()}"),
    ],
)
def test_task_calls_are_503_with_retry_after(lonely_gateway, method, path):
    body = {"youtube_url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ"} if method == "POST" else None
    response = httpx.request(method, lonely_gateway + path, json=body)
    assert response.status_code == 503
    assert int(response.headers["retry-after"]) >= 1
    assert "unavailable" in response.json()["detail"]
    assert "127.0.0.1" not in response.text  # internal addresses stay internal


def test_validation_and_static_answers_need_no_orchestrator(lonely_gateway):
    assert httpx.get(lonely_gateway + "/").status_code == 200
    assert httpx.post(lonely_gateway + "/analyze", json={"youtube_url": "ftp://x"}).status_code == 422
    assert httpx.get(lonely_gateway + "/tasks/nope").status_code == 404


def test_cors_origins_can_be_narrowed(lonely_gateway):
    allowed = httpx.get(lonely_gateway + "/", headers={"Origin": "https://app.example"})
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    other = httpx.get(lonely_gateway + "/", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
