"""The gateway process against RecordingOrchestratorStub: what it forwards, refuses and reports."""

import uuid
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest

from service_common.contracts import EndpointHealth, OrchestratorHealth, TaskRecord, TaskStatus, VideoInfo

from .conftest import ALLOWED_PROXY, MAX_FRAMES_LIMIT
from .orchestrator_stub import Fault

URL = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"


def analyze(gateway, body, **kwargs):
    return httpx.post(gateway + "/analyze", json=body, **kwargs)


def test_analyze_forwards_seed_defaults(gateway, orchestrator_stub):
    response = analyze(gateway, {"youtube_url": URL})
    assert response.status_code == 200, response.text
    [sent] = orchestrator_stub.requests_to()
    assert (sent.method, sent.path) == ("POST", "/internal/tasks")
    assert sent.body == {
        "youtube_url": URL,
        "max_frames": 8,
        "vision_quantization": "int4",
        "text_quantization": "int4",
        "proxy": None,
        "frame_strategy": "scenes",
        "transcript_languages": None,
        "language": None,
        "prompt": None,
        "webhook_url": None,
    }
    assert response.json()["task_id"] in orchestrator_stub.tasks


def test_analyze_forwards_explicit_values(gateway, orchestrator_stub):
    orchestrator_stub.deployed_tiers = {"int4", "int8", "fp16"}
    body = {
        "youtube_url": "http://youtu.be/dQw4w9WgXcQ",
        "max_frames": MAX_FRAMES_LIMIT,
        "vision_quantization": "int8",
        "text_quantization": "fp16",
        "proxy": ALLOWED_PROXY,
        "some_future_option": True,
    }
    assert analyze(gateway, body).status_code == 200
    [sent] = orchestrator_stub.requests_to()
    del body["some_future_option"]
    assert sent.body == {**body, "frame_strategy": "scenes", "transcript_languages": None, "language": None,
                         "prompt": None, "webhook_url": None}


def test_empty_proxy_means_no_proxy(gateway, orchestrator_stub):
    assert analyze(gateway, {"youtube_url": URL, "proxy": ""}).status_code == 200
    assert orchestrator_stub.requests_to()[0].body["proxy"] is None


INVALID_BODIES = [
    ({}, "youtube_url"),
    ({"youtube_url": 123}, "youtube_url"),
    ({"youtube_url": None}, "youtube_url"),
    ({"youtube_url": [URL]}, "youtube_url"),
    ({"youtube_url": ""}, "youtube_url"),
    ({"youtube_url": "file:///etc/passwd"}, "youtube_url"),
    ({"youtube_url": "ftp://example.com/video.mp4"}, "youtube_url"),
    ({"youtube_url": "gopher://example.com/"}, "youtube_url"),
    ({"youtube_url": "data:text/plain,hello"}, "youtube_url"),
    ({"youtube_url": "javascript:alert(1)"}, "youtube_url"),
    ({"youtube_url": "--exec=touch /tmp/owned"}, "youtube_url"),  # looks like a yt-dlp option: just a bad URL
    ({"youtube_url": "-o/etc/x"}, "youtube_url"),
    ({"youtube_url": "--netrc-cmd=id " + URL}, "youtube_url"),
    ({"youtube_url": "www.youtube.com/watch?v=x"}, "youtube_url"),
    ({"youtube_url": "https://"}, "youtube_url"),
    ({"youtube_url": "https:///watch?v=x"}, "youtube_url"),
    ({"youtube_url": "https://youtube.com/?v=" + "a" * 2048}, "youtube_url"),
    ({"youtube_url": "https://you tube.com/"}, "youtube_url"),
    ({"youtube_url": URL + "\n"}, "youtube_url"),
    ({"youtube_url": URL + "\x00"}, "youtube_url"),
    ({"youtube_url": "https://exa_mple.com/v"}, "youtube_url"),
    ({"youtube_url": "https://-bad-.com/v"}, "youtube_url"),
    ({"youtube_url": "https://999.1.1.1/v"}, "youtube_url"),
    ({"youtube_url": "https://www.youtube.com@evil.example/v"}, "youtube_url"),
    ({"youtube_url": "https://youtube.com:99999/v"}, "youtube_url"),
    ({"youtube_url": URL, "max_frames": 0}, "max_frames"),
    ({"youtube_url": URL, "max_frames": -3}, "max_frames"),
    ({"youtube_url": URL, "max_frames": MAX_FRAMES_LIMIT + 1}, "max_frames"),
    ({"youtube_url": URL, "max_frames": True}, "max_frames"),
    ({"youtube_url": URL, "max_frames": "8"}, "max_frames"),
    ({"youtube_url": URL, "max_frames": 8.5}, "max_frames"),
    ({"youtube_url": URL, "max_frames": None}, "max_frames"),
    ({"youtube_url": URL, "vision_quantization": "int2"}, "vision_quantization"),
    ({"youtube_url": URL, "vision_quantization": "INT4"}, "vision_quantization"),
    ({"youtube_url": URL, "text_quantization": 4}, "text_quantization"),
    ({"youtube_url": URL, "text_quantization": None}, "text_quantization"),
    ({"youtube_url": URL, "proxy": "socks5://10.0.0.1:1080"}, "proxy"),
    ({"youtube_url": URL, "proxy": "not a proxy"}, "proxy"),
    ({"youtube_url": URL, "proxy": 9050}, "proxy"),
]


@pytest.mark.parametrize(("body", "field"), INVALID_BODIES)
def test_invalid_request_is_422_and_never_forwarded(gateway, orchestrator_stub, body, field):
    response = analyze(gateway, body)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, list) and detail
    assert any(error["loc"][-1] == field and error["msg"] for error in detail), detail
    assert orchestrator_stub.requests == []


def test_refusal_messages_say_what_to_do(gateway):
    too_many = analyze(gateway, {"youtube_url": URL, "max_frames": 1000}).json()["detail"][0]["msg"]
    assert str(MAX_FRAMES_LIMIT) in too_many
    proxy = analyze(gateway, {"youtube_url": URL, "proxy": "socks5://10.0.0.1:1080"}).json()["detail"][0]
    assert "ALLOWED_PROXIES" in proxy["msg"]
    scheme = analyze(gateway, {"youtube_url": "file:///etc/passwd"}).json()["detail"][0]["msg"]
    assert "http://" in scheme and "https://" in scheme


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"https://youtu.be/x"', b"", b"null"])
def test_body_that_is_not_a_json_object_is_422(gateway, orchestrator_stub, raw):
    response = httpx.post(gateway + "/analyze", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert isinstance(response.json()["detail"], list)
    assert orchestrator_stub.requests == []


def test_undeployed_tier_is_422_with_the_orchestrators_reason(gateway, orchestrator_stub):
    response = analyze(gateway, {"youtube_url": URL, "vision_quantization": "fp16"})
    assert response.status_code == 422
    assert response.json() == {"detail": "vision_quantization fp16 is not deployed; deployed: int4"}


def test_task_is_shown_in_the_seed_shape(gateway, orchestrator_stub):
    created = datetime(2025, 10, 26, 14, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    record = orchestrator_stub.add_task(
        TaskRecord(
            task_id=str(uuid.uuid4()),
            status=TaskStatus.COMPLETED,
            youtube_url=URL,
            created_at=created,
            completed_at=datetime(2025, 10, 26, 12, 10, 0, 999999),
            video_info=VideoInfo(title="t", duration=206.0, channel="c"),
            summary="s",
            key_points=["a", "b"],
            frame_analyses=["f1"],
            transcript="tr",
        )
    )
    # Upper case is the same UUID; the orchestrator is asked in canonical form.
    response = httpx.get(f"{gateway}/tasks/{record.task_id.upper()}")
    assert response.status_code == 200
    additive = {"frames", "transcript_segments", "transcript_source", "transcript_language", "frame_strategy",
                "progress", "notes", "chapters", "webhook"}
    assert {k: v for k, v in response.json().items() if k in additive} == dict.fromkeys(additive)
    assert {k: v for k, v in response.json().items() if k not in additive} == {
        "task_id": record.task_id,
        "status": "completed",
        "youtube_url": URL,
        "created_at": "2025-10-26T12:00:00",
        "completed_at": "2025-10-26T12:10:00",
        "video_info": {"title": "t", "duration": 206, "channel": "c"},
        "summary": "s",
        "key_points": ["a", "b"],
        "frame_analyses": ["f1"],
        "transcript": "tr",
        "error": None,
    }
    assert orchestrator_stub.requests_to()[-1].path == f"/internal/tasks/{record.task_id}"


def test_malformed_task_ids_are_never_forwarded(gateway, orchestrator_stub):
    for method in ("GET", "DELETE"):
        assert httpx.request(method, f"{gateway}/tasks/not-a-uuid").status_code == 404
    assert orchestrator_stub.requests == []


def test_unknown_task_message(gateway):
    task_id = str(uuid.uuid4())
    response = httpx.get(f"{gateway}/tasks/{task_id}")
    assert response.status_code == 404
    assert response.json() == {"detail": f"Task {task_id} not found"}


def test_list_forwards_paging_and_keeps_the_seed_shape(gateway, orchestrator_stub):
    base = datetime(2025, 10, 26, 12, 0, 0, tzinfo=UTC)
    for minutes in range(3):
        orchestrator_stub.add_task(
            TaskRecord(
                task_id=str(uuid.uuid4()),
                status=TaskStatus.PENDING,
                youtube_url=URL,
                created_at=base + timedelta(minutes=minutes),
            )
        )
    body = httpx.get(gateway + "/tasks").json()
    assert orchestrator_stub.requests_to()[-1].query == {"limit": ["100"], "offset": ["0"]}
    assert body["total"] == 3 and len(body["tasks"]) == 3
    assert body["tasks"][0] == {
        "task_id": body["tasks"][0]["task_id"],
        "status": "pending",
        "youtube_url": URL,
        "created_at": "2025-10-26T12:02:00",
        "completed_at": None,
    }
    page = httpx.get(gateway + "/tasks", params={"limit": 2, "offset": 1}).json()
    assert orchestrator_stub.requests_to()[-1].query == {"limit": ["2"], "offset": ["1"]}
    assert page["total"] == 3 and [t["created_at"][-5:] for t in page["tasks"]] == ["01:00", "00:00"]


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 1001}, {"offset": -1}, {"limit": "x"}])
def test_bad_paging_is_422(gateway, orchestrator_stub, params):
    assert httpx.get(gateway + "/tasks", params=params).status_code == 422
    assert orchestrator_stub.requests == []


def test_delete_forwards_once_then_404(gateway, orchestrator_stub):
    task_id = analyze(gateway, {"youtube_url": URL}).json()["task_id"]
    assert httpx.delete(f"{gateway}/tasks/{task_id}").json() == {
        "message": f"Task {task_id} has been deleted."
    }
    assert httpx.delete(f"{gateway}/tasks/{task_id}").status_code == 404
    deletes = [r for r in orchestrator_stub.requests if r.method == "DELETE"]
    assert [r.path for r in deletes] == [f"/internal/tasks/{task_id}"] * 2


def endpoint(role, tier, reachable=True, gpu=None):
    return EndpointHealth(
        role=role,
        tier=tier,
        base_url=f"http://10.1.2.3/{role}",
        model=f"m-{role}",
        reachable=reachable,
        gpu_available=gpu is not None,
        gpu_name=gpu,
    )


def test_health_takes_gpu_facts_from_reachable_endpoints(gateway, orchestrator_stub):
    orchestrator_stub.health = OrchestratorHealth(
        database_ok=True,
        active_tasks=2,
        endpoints=[
            endpoint("vision", "int4", gpu="NVIDIA H100"),
            endpoint("text", "int4", gpu="NVIDIA RTX A5000"),
        ],
    )
    response = httpx.get(gateway + "/health")
    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("status", "gpu_available", "gpu_name", "active_tasks")} == {
        "status": "healthy",
        "gpu_available": True,
        "gpu_name": "NVIDIA H100",
        "active_tasks": 2,
    }
    assert "10.1.2.3" not in response.text  # internal addresses stay internal


def test_health_is_degraded_when_an_endpoint_is_down(gateway, orchestrator_stub):
    orchestrator_stub.health = OrchestratorHealth(
        database_ok=True,
        active_tasks=0,
        endpoints=[
            endpoint("vision", "int4", reachable=False, gpu="NVIDIA H100"),
            endpoint("text", "int4"),
            endpoint("text", "int8", gpu="NVIDIA L4"),
        ],
    )
    body = httpx.get(gateway + "/health").json()
    assert (body["status"], body["gpu_available"], body["gpu_name"]) == ("degraded", True, "NVIDIA L4")
    assert "vision/int4" in body["detail"]


def test_health_without_gpu_or_database(gateway, orchestrator_stub):
    orchestrator_stub.health = OrchestratorHealth(
        database_ok=False, active_tasks=0, endpoints=[endpoint("vision", "int4"), endpoint("text", "int4")]
    )
    response = httpx.get(gateway + "/health")
    assert response.status_code == 503  # without its database the API can take no task
    body = response.json()
    assert (body["status"], body["gpu_available"], body["gpu_name"]) == ("unhealthy", False, None)
    assert body["components"]["database"] is False and "database" in body["detail"]


PUBLIC_CALLS = [
    ("POST", "/analyze", {"youtube_url": URL}),
    ("GET", f"/tasks/{uuid.uuid4()}", None),
    ("GET", "/tasks", None),
    ("DELETE", f"/tasks/{uuid.uuid4()}", None),
]


@pytest.mark.parametrize(("method", "path", "body"), PUBLIC_CALLS)
@pytest.mark.parametrize(
    "fault",
    [
        Fault(500, {"detail": "boom", "retryable": False}),
        Fault(503, b"<html>bad gateway</html>", {"Retry-After": "7"}),
    ],
)
def test_orchestrator_failure_is_503_with_retry_after(gateway, orchestrator_stub, method, path, body, fault):
    orchestrator_stub.fault = fault
    response = httpx.request(method, gateway + path, json=body)
    assert response.status_code == 503, response.text
    assert response.json()["detail"].startswith("the task service is unavailable: ")
    assert response.headers["retry-after"] == fault.headers.get("Retry-After", "5")
    health = httpx.get(gateway + "/health")
    assert health.status_code == 503 and health.json()["status"] == "unhealthy"


def test_unexpected_orchestrator_answers_are_502(gateway, orchestrator_stub):
    orchestrator_stub.fault = Fault(409, {"detail": "conflict", "retryable": False})
    assert httpx.get(gateway + "/tasks").status_code == 502
    orchestrator_stub.fault = Fault(200, {"total": "many"})
    response = httpx.get(gateway + "/tasks")
    assert response.status_code == 502 and "TaskPage" in response.json()["detail"]
