"""Every route of the internal task API answers through its dependencies (deps.py), in process."""

import pytest
from fastapi.testclient import TestClient

from orchestrator.app import create_app
from orchestrator.config import OrchestratorSettings

OWNER = {"X-Task-Owner": "alice"}


@pytest.fixture
def client(sqlite_url):
    settings = OrchestratorSettings(database_url=sqlite_url, run_workers=False,
                                    lite_models_url="http://127.0.0.1:9/v1")
    with TestClient(create_app(settings)) as client:
        yield client


def test_the_routes_answer(client):
    created = client.post("/internal/tasks", json={"youtube_url": "https://example.com/v.mp4"}, headers=OWNER)
    assert created.status_code == 201
    task_id = created.json()["task_id"]
    assert client.get(f"/internal/tasks/{task_id}", headers=OWNER).json()["status"] == "pending"
    assert client.get(f"/internal/tasks/{task_id.replace('-', '')}", headers=OWNER).json()["task_id"] == task_id
    assert client.get(f"/internal/tasks/{task_id}").status_code == 404  # another owner's task
    assert client.get("/internal/tasks", headers=OWNER).json()["total"] == 1
    assert client.get(f"/internal/tasks/{task_id}/changes", headers=OWNER).json()["task"]["task_id"] == task_id
    assert client.get(f"/internal/tasks/{task_id}/frames/0.jpg", headers=OWNER).status_code == 404
    assert client.post(f"/internal/tasks/{task_id}/ask", json={"question": "why?"}, headers=OWNER).status_code == 409
    refused = client.post("/internal/tasks", json={"youtube_url": "https://example.com/v.mp4",
                                                   "webhook_url": "https://example.com/hook"}, headers=OWNER)
    assert refused.status_code == 422 and "WEBHOOK_SECRET" in refused.json()["detail"]
    assert set(client.get("/internal/deployments").json()) == {"vision", "text"}
    health = client.get("/internal/health").json()
    assert health["database_ok"] and health["active_tasks"] == 1 and len(health["endpoints"]) == 6
    assert client.delete(f"/internal/tasks/{task_id}", headers=OWNER).status_code == 204
    assert client.get(f"/internal/tasks/{task_id}", headers=OWNER).status_code == 404
