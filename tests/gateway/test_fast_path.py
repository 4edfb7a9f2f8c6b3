"""GET /tasks/{id} is answered ahead of FastAPI's routing (service_common.fast_path): the same answer as
the documented route gives, refusals included, with less work per request."""

import re
import uuid

import httpx
import pytest
from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.config import GatewaySettings
from gateway.routes.tasks import TASK_PATH, read_task
from service_common.contracts import TaskRecord, TaskStatus
from service_common.fast_path import FastPath


class Teapot(Exception):
    pass


def small_app(raise_in_fast_path: Exception | None = None) -> FastAPI:
    app = FastAPI()
    seen: list[str] = []
    app.state.seen = seen

    @app.api_route("/things/{thing}", methods=["GET", "POST"])
    async def route(thing: str):
        seen.append("route")
        return PlainTextResponse(f"route {thing}")

    @app.exception_handler(Teapot)
    async def teapot(_request, _exc):
        return JSONResponse({"detail": "short and stout"}, status_code=418, headers={"X-Teapot": "yes"})

    async def fast(_request, thing: str):
        seen.append("fast")
        if raise_in_fast_path is not None:
            raise raise_in_fast_path
        return PlainTextResponse(f"fast {thing}")

    app.add_middleware(FastPath, method="GET", path=re.compile(r"/things/([a-z]+)"), handler=fast)
    return app


def test_only_the_method_and_path_it_names_take_the_fast_path():
    app = small_app()
    client = TestClient(app)
    assert client.get("/things/abc").text == "fast abc"
    assert client.post("/things/abc").text == "route abc"
    assert client.get("/things/ABC").text == "route ABC"
    assert app.state.seen == ["fast", "route", "route"]


@pytest.mark.parametrize(("error", "status", "body"), [
    (Teapot(), 418, {"detail": "short and stout"}),
    (HTTPException(404, "no such thing"), 404, {"detail": "no such thing"}),
])
def test_what_the_fast_path_raises_is_answered_by_the_apps_handlers(error, status, body):
    response = TestClient(small_app(error)).get("/things/abc")
    assert (response.status_code, response.json()) == (status, body)
    if status == 418:
        assert response.headers["x-teapot"] == "yes"


def test_an_error_without_a_handler_is_a_server_error():
    response = TestClient(small_app(ValueError("boom")), raise_server_exceptions=False).get("/things/abc")
    assert response.status_code == 500


def test_the_gateway_answers_task_reads_on_the_fast_path():
    app = create_app(GatewaySettings())
    [fast_path] = [m for m in app.user_middleware if m.cls is FastPath]
    assert fast_path.kwargs["handler"] is read_task and fast_path.kwargs["method"] == "GET"
    task_id = uuid.uuid4()
    for spelling in (str(task_id), str(task_id).upper(), task_id.hex):
        assert TASK_PATH.fullmatch(f"/tasks/{spelling}")
    assert not TASK_PATH.fullmatch(f"/tasks/{task_id}/frames/0.jpg")


def test_fast_path_and_route_give_the_same_answer(gateway, orchestrator_stub):
    record = orchestrator_stub.add_task(TaskRecord(
        task_id=str(uuid.uuid4()), status=TaskStatus.COMPLETED, youtube_url="https://youtu.be/x",
        created_at="2026-11-26T12:00:00.123456", summary="s", key_points=["a"]))
    fast = httpx.get(f"{gateway}/tasks/{record.task_id}", headers={"Origin": "https://app.example"})
    # Braces are a spelling UUID() takes and the fast path leaves to the FastAPI route.
    routed = httpx.get(f"{gateway}/tasks/%7B{record.task_id}%7D", headers={"Origin": "https://app.example"})
    assert fast.status_code == routed.status_code == 200
    assert fast.content == routed.content
    for header in ("content-type", "content-length", "access-control-allow-origin"):
        assert fast.headers[header] == routed.headers[header], header
    missing = uuid.uuid4()
    assert httpx.get(f"{gateway}/tasks/{missing}").json() == {"detail": f"Task {missing} not found"}
    assert httpx.get(f"{gateway}/tasks/%7B{missing}%7D").status_code == 404
