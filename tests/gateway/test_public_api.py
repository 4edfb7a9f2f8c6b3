"""The seed's public contract, checked through HTTP only, so any backend can stand behind `public_api`."""

import uuid

import httpx
import pytest

from service_common.contracts import TaskStatus

TASK_FIELDS = {
    "task_id",
    "status",
    "youtube_url",
    "created_at",
    "completed_at",
    "video_info",
    "summary",
    "key_points",
    "frame_analyses",
    "transcript",
    "error",
}
LIST_FIELDS = {"task_id", "status", "youtube_url", "created_at", "completed_at"}
SEED_ENDPOINTS = {
    "POST /analyze": "start a video analysis task",
    "GET /tasks/{task_id}": "task status and result",
    "GET /tasks": "list all tasks",
    "DELETE /tasks/{task_id}": "delete a task",
}
VIDEO_URL = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"


def test_root_is_the_seed_description(public_api):
    body = httpx.get(public_api + "/").json()
    assert set(body) == {"name", "version", "description", "endpoints"}
    assert body["name"] == "YouTube Video Analysis API"
    assert body["version"] == "1.0.0"
    assert body["description"] == "YouTube video analysis using Llama 3.2 Vision + Llama 3.1"
    assert {k: body["endpoints"][k] for k in SEED_ENDPOINTS} == SEED_ENDPOINTS
    assert "GET /health" in body["endpoints"]
    assert {"GET /tasks/{task_id}/events", "GET /ui"} <= set(body["endpoints"])


def test_task_lifecycle_submit_read_list_delete(public_api):
    started = httpx.post(public_api + "/analyze", json={"youtube_url": VIDEO_URL, "max_frames": 8})
    assert started.status_code == 200, started.text
    body = started.json()
    assert set(body) == {"task_id", "status", "message"}
    assert body["status"] == "pending"
    assert body["message"] == "The video analysis task has started."
    task_id = body["task_id"]
    assert str(uuid.UUID(task_id)) == task_id

    task = httpx.get(f"{public_api}/tasks/{task_id}").json()
    assert set(task) >= TASK_FIELDS  # the seed's fields, and additive ones after them
    assert task["task_id"] == task_id and task["youtube_url"] == VIDEO_URL
    assert task["status"] in {s.value for s in TaskStatus}
    assert len(task["created_at"]) == len("2025-10-26T12:00:00")

    listing = httpx.get(public_api + "/tasks").json()
    assert set(listing) == {"total", "tasks"}
    assert listing["total"] >= 1
    assert all(set(row) == LIST_FIELDS for row in listing["tasks"])
    assert task_id in {row["task_id"] for row in listing["tasks"]}

    deleted = httpx.delete(f"{public_api}/tasks/{task_id}")
    assert deleted.status_code == 200
    assert deleted.json() == {"message": f"Task {task_id} has been deleted."}
    assert httpx.get(f"{public_api}/tasks/{task_id}").status_code == 404
    assert httpx.delete(f"{public_api}/tasks/{task_id}").status_code == 404


@pytest.mark.parametrize("task_id", [str(uuid.uuid4()), "not-a-uuid", "12345", "..%2F..%2Fhealth"])
def test_unknown_or_malformed_task_id_is_404(public_api, task_id):
    for method in ("GET", "DELETE"):
        response = httpx.request(method, f"{public_api}/tasks/{task_id}")
        assert response.status_code == 404, (method, response.text)
        assert "not found" in response.json()["detail"].lower()


def test_docs_and_openapi(public_api):
    spec = httpx.get(public_api + "/openapi.json").json()
    assert spec["info"]["title"] == "YouTube Video Analysis API"
    assert spec["info"]["version"] == "1.0.0"
    assert {"/", "/analyze", "/tasks", "/tasks/{task_id}", "/health"} <= set(spec["paths"])
    assert {"get", "delete"} <= set(spec["paths"]["/tasks/{task_id}"])
    request_fields = spec["components"]["schemas"]["AnalyzeRequest"]["properties"]
    assert request_fields["max_frames"]["default"] == 8
    assert request_fields["vision_quantization"]["default"] == "int4"
    for page in ("/docs", "/redoc"):
        assert httpx.get(public_api + page).status_code == 200


def test_cors_allows_browser_clients(public_api):
    origin = "http://example.org"
    response = httpx.get(public_api + "/", headers={"Origin": origin})
    assert response.headers["access-control-allow-origin"] in {"*", origin}
    preflight = httpx.options(
        public_api + "/analyze",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] in {"*", origin}
