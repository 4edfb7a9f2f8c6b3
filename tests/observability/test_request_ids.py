"""X-Request-ID: taken from the caller when sensible, else made; on every answer (errors, the fast path and
unexpected 500s included); passed on with the calls a request makes to other services."""

import asyncio
import re
import uuid

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.config import GatewaySettings
from service_common.observability import observe_requests
from service_common.request_context import OUTGOING_HOOKS, request_id, task_id, working_on

GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.fixture(scope="module")
def gateway():
    # No orchestrator behind it: reads of tasks fail with 503, which is what some tests want.
    settings = GatewaySettings(orchestrator_url="http://127.0.0.1:9", orchestrator_timeout_s=2, rate_limit="0")
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.mark.parametrize("given", ["abc", "req-2026.11.26_01:02:03/x", "A" * 64, "!~{}[]"])
def test_a_sensible_request_id_comes_back(gateway, given):
    assert gateway.get("/", headers={"X-Request-ID": given}).headers["x-request-id"] == given


@pytest.mark.parametrize("given", ["A" * 65, "two words", "tab\there", "", "caf\u00e9", "line\x7f"])
def test_an_unusable_request_id_is_replaced(gateway, given):
    headers = [("X-Request-ID", given.encode("latin-1"))]
    answered = gateway.get("/", headers=headers).headers["x-request-id"]
    assert GENERATED.fullmatch(answered) and answered != given


def test_each_request_without_one_gets_its_own(gateway):
    first, second = (gateway.get("/").headers["x-request-id"] for _ in range(2))
    assert GENERATED.fullmatch(first) and GENERATED.fullmatch(second) and first != second


def test_errors_and_fast_path_answers_carry_it(gateway):
    cases = [
        ("GET", f"/tasks/{uuid.uuid4()}", 503, "fast"),  # the fast path, the orchestrator unreachable
        ("GET", "/no/such/page", 404, "missing"),
        ("POST", "/analyze", 422, "invalid"),
        ("GET", "/tasks/%7Bnot-a-uuid%7D", 404, "routed"),
    ]
    for method, path, status, given in cases:
        answer = gateway.request(method, path, headers={"X-Request-ID": given}, json={"max_frames": "x"})
        assert (answer.status_code, answer.headers.get("x-request-id")) == (status, given), path


def test_an_unexpected_error_answers_500_with_the_request_id():
    app = FastAPI()

    @app.get("/boom")
    async def boom():
        raise RuntimeError("unexpected")

    observe_requests(app)
    answer = TestClient(app, raise_server_exceptions=False).get("/boom", headers={"X-Request-ID": "r-500"})
    assert (answer.status_code, answer.headers["x-request-id"]) == (500, "r-500")


def test_handlers_see_the_ids_and_they_are_gone_afterwards():
    app = FastAPI()

    @app.get("/internal/tasks/{task}/x")
    async def seen(task: str):
        return {"request_id": request_id.get(), "task_id": task_id.get()}

    @app.get("/other")
    async def other():
        return {"request_id": request_id.get(), "task_id": task_id.get()}

    observe_requests(app, trust_task_header=True)
    client = TestClient(app)
    named = str(uuid.uuid4())
    body = client.get(f"/internal/tasks/{named}/x", headers={"X-Request-ID": "r1", "X-Task-ID": "t1"}).json()
    assert body == {"request_id": "r1", "task_id": "t1"}
    assert client.get("/other").json()["task_id"] is None
    assert request_id.get() is None and task_id.get() is None


def test_a_task_id_header_is_ignored_where_callers_are_not_trusted(gateway):
    app = FastAPI()

    @app.get("/x")
    async def seen():
        return {"task_id": task_id.get()}

    observe_requests(app)  # as the gateway: the public does not name tasks for its logs
    assert TestClient(app).get("/x", headers={"X-Task-ID": "forged"}).json() == {"task_id": None}


def test_calls_to_other_services_carry_the_ids():
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    async def calls() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(record), event_hooks=OUTGOING_HOOKS) as client:
            with working_on("task-7", "req-7"):
                await client.get("http://media/x")
                await client.get("http://media/y", headers={"X-Request-ID": "own"})
            await client.get("http://media/z")

    asyncio.run(calls())
    assert [(r.headers.get("x-request-id"), r.headers.get("x-task-id")) for r in seen] == [
        ("req-7", "task-7"), ("own", "task-7"), (None, None)]
