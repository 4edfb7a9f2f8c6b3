"""POST /analyze with an Idempotency-Key: concurrent identical submits make one task; a reused key with
another body is refused; a bad key is a clear 422. Real gateway and orchestrator on PostgreSQL."""

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.support.stack import Stack, running

BODY = {"youtube_url": "http://127.0.0.1:9/clip.mp4", "max_frames": 4}


@pytest.fixture(scope="module")
def gateway(module_postgres_url, tmp_path_factory):
    # No workers: the tasks stay queued, so only the submits are under test. Tests count tasks relative
    # to what the ones before them left.
    stack = Stack(database_url=module_postgres_url, workdir=tmp_path_factory.mktemp("idempotency"),
                  service_env={"orchestrator": {"RUN_WORKERS": "false"}})
    with running(stack, "orchestrator", "gateway"):
        yield stack.url("gateway")


def total(gateway: str) -> int:
    return requests.get(f"{gateway}/tasks", params={"limit": 1}, timeout=10).json()["total"]


def submit(gateway: str, body: dict, key: str | None) -> requests.Response:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return requests.post(f"{gateway}/analyze", json=body, headers=headers, timeout=30)


def test_twenty_concurrent_identical_submits_make_one_task(gateway):
    before = total(gateway)
    with ThreadPoolExecutor(20) as pool:
        responses = list(pool.map(lambda _: submit(gateway, BODY, "order-7f3a"), range(20)))
    assert [r.status_code for r in responses] == [200] * 20
    task_ids = {r.json()["task_id"] for r in responses}
    assert len(task_ids) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 19
    listed = requests.get(f"{gateway}/tasks", params={"limit": 1}, timeout=10).json()
    assert listed["total"] == before + 1 and listed["tasks"][0]["task_id"] in task_ids


def test_the_same_key_with_another_body_is_refused(gateway):
    before = total(gateway)
    first = submit(gateway, BODY, "key-a")
    refused = submit(gateway, {**BODY, "max_frames": 8}, "key-a")
    assert refused.status_code == 422 and "Idempotency-Key" in refused.json()["detail"]
    assert submit(gateway, BODY, "key-a").json()["task_id"] == first.json()["task_id"]
    assert submit(gateway, BODY, None).json()["task_id"] != first.json()["task_id"]  # no key: a new task
    assert total(gateway) == before + 2


@pytest.mark.parametrize("key", ["", "x" * 201, "has space", "tab\tkey"])
def test_malformed_keys_are_a_clear_422(gateway, key):
    before = total(gateway)
    response = submit(gateway, BODY, key)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["header", "idempotency-key"]
    assert total(gateway) == before
