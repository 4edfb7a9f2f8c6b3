"""In-process checks of the gateway's outbound clients and task ids: the model routes and their cache,
the media service's upload answers, the Bearer header, and which path texts name a task."""

import asyncio
from uuid import UUID

import httpx
import pytest
from fastapi import HTTPException

from gateway.clients.media import MediaClient, UploadRefused
from gateway.clients.models import ModelsClient, RouteCache, routes_from
from gateway.task_ids import parse_task_id
from service_common.errors import TransientError
from service_common.http import bearer_auth

DEPLOYMENTS = {
    "vision": {"standard": {"base_url": "http://v:1/v1", "model": "vis", "api_key": "k-1", "gpu_name": None}},
    "text": {"standard": {"base_url": "http://t:1/v1", "model": "txt", "api_key": None, "gpu_name": None},
             "fast": {"base_url": "http://t:1/v1", "model": "txt", "api_key": None, "gpu_name": None}},
}


class CountingOrchestrator:
    def __init__(self):
        self.calls = 0

    async def deployments(self):
        self.calls += 1
        return DEPLOYMENTS


def test_one_route_per_model_with_every_role_and_tier():
    routes = routes_from(DEPLOYMENTS)
    assert sorted(routes) == ["txt", "vis"]
    assert routes["txt"]["roles"] == ["text"] and routes["txt"]["tiers"] == ["fast", "standard"]
    assert routes["vis"]["base_url"] == "http://v:1/v1" and routes["vis"]["api_key"] == "k-1"


def test_routes_are_read_again_only_once_they_expire():
    orchestrator = CountingOrchestrator()

    async def read_twice(cache):
        await cache.current(orchestrator)
        return await cache.current(orchestrator)

    assert sorted(asyncio.run(read_twice(RouteCache()))) == ["txt", "vis"]
    assert orchestrator.calls == 1
    asyncio.run(read_twice(RouteCache(ttl_s=0)))
    assert orchestrator.calls == 3


def test_chat_completions_carry_the_endpoints_key_only_when_it_has_one():
    seen = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append((str(request.url), request.headers.get("authorization"), request.content))
        return httpx.Response(200, json={"ok": True})

    async def call(endpoint):
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
            response = await ModelsClient(http, RouteCache(), CountingOrchestrator()).open_chat_completion(
                endpoint, b'{"model": "m"}')
            await response.aclose()

    routes = routes_from(DEPLOYMENTS)
    asyncio.run(call(routes["vis"]))
    asyncio.run(call(routes["txt"]))
    assert seen == [("http://v:1/v1/chat/completions", "Bearer k-1", b'{"model": "m"}'),
                    ("http://t:1/v1/chat/completions", None, b'{"model": "m"}')]
    assert bearer_auth("abc") == {"Authorization": "Bearer abc"} and bearer_auth(None) == bearer_auth("") == {}


def upload_answered(status: int, body: dict):
    seen = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append((str(request.url), request.headers["x-upload-owner"], request.read()))
        return httpx.Response(status, json=body)

    async def body_chunks():
        yield b"--b\r\n"
        yield b"video"

    async def call():
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
            return await MediaClient(http, "http://media:8002/", "alice").upload(body_chunks(), "multipart/form-data",
                                                                                 5.0)

    return asyncio.run(call()), seen


UPLOADED = {"upload_id": "0" * 32, "url": "upload://" + "0" * 32, "filename": "talk.mp4", "size_bytes": 5}


def test_an_upload_is_streamed_as_its_owners():
    answer, seen = upload_answered(200, UPLOADED)
    assert answer.model_dump() == UPLOADED
    assert seen == [("http://media:8002/uploads", "alice", b"--b\r\nvideo")]


@pytest.mark.parametrize("status", [413, 422])
def test_a_refused_upload_keeps_its_status_and_detail(status):
    with pytest.raises(UploadRefused) as refused:
        upload_answered(status, {"detail": "not a video"})
    assert refused.value.status == status and "not a video" in refused.value.detail


def test_a_failing_media_service_is_worth_another_try():
    with pytest.raises(TransientError):
        upload_answered(500, {"detail": "disk full"})


@pytest.mark.parametrize("text", ["550e8400-e29b-41d4-a716-446655440000", "550E8400E29B41D4A716446655440000"])
def test_task_ids_are_uuids_in_any_spelling(text):
    assert parse_task_id(text) == UUID("550e8400-e29b-41d4-a716-446655440000")


@pytest.mark.parametrize("text", ["", "not-a-task", "550e8400", "../etc/passwd"])
def test_anything_else_names_no_task(text):
    with pytest.raises(HTTPException) as missing:
        parse_task_id(text)
    assert missing.value.status_code == 404 and missing.value.detail == f"Task {text} not found"
