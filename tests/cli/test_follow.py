"""Following a task: from its event stream when the service has one, by polling when it has none, when the
stream breaks off before `done`, or when it is refused; against crafted answers (httpx.MockTransport)."""

import json

import httpx
import pytest

from video_analysis_cli import errors
from video_analysis_cli.client import ApiClient
from video_analysis_cli.errors import CliError
from video_analysis_cli.follow import TOLERATED_POLL_FAILURES, follow_task

TASK_ID = "550e8400-e29b-41d4-a716-446655440000"
DONE = {"task_id": TASK_ID, "status": "completed", "summary": "It works.", "frames": []}


def sse(event: str, data: dict, event_id: int) -> bytes:
    return f"id: {event_id}\nevent: {event}\ndata: {json.dumps(data)}\n\n".encode()


def progress_event(status: str, fraction: float | None, event_id: int) -> bytes:
    return sse("progress", {"task_id": TASK_ID, "status": status,
                            "progress": {"stage": status, "fraction": fraction, "downloaded_bytes": None,
                                         "total_bytes": None, "detail": None}}, event_id)


class FakeService:
    """Answers the events stream with `events` (an httpx.Response factory) and polls from `polls` in turn."""

    def __init__(self, events, polls: list[httpx.Response]):
        self.events, self.polls, self.requests = events, list(polls), []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request.url.path)
        if request.url.path.endswith("/events"):
            return self.events(request)
        return self.polls.pop(0)

    def follow(self) -> tuple[dict, list]:
        updates, sleeps = [], []
        client = ApiClient("http://api.test", api_key="k" * 16, transport=httpx.MockTransport(self))
        task = follow_task(client, TASK_ID, lambda status, progress: updates.append((status, progress)),
                           sleep=sleeps.append)
        return task, updates


def stream(*chunks: bytes, content_type: str = "text/event-stream"):
    return lambda request: httpx.Response(200, headers={"content-type": content_type}, content=iter(chunks))


def test_the_event_stream_gives_each_step_and_the_task_without_polling():
    body = (b": hello\n\n" + progress_event("downloading", 0.5, 1) + b": heartbeat\n\n"
            + progress_event("analyzing_vision", None, 2) + sse("done", DONE, 3))
    service = FakeService(stream(*[body[i:i + 5] for i in range(0, len(body), 5)]), polls=[])
    task, updates = service.follow()
    assert task == DONE
    assert [(status, progress["fraction"]) for status, progress in updates] == [
        ("downloading", 0.5), ("analyzing_vision", None)]
    assert service.requests == [f"/tasks/{TASK_ID}/events"]


def test_without_the_endpoint_it_polls_until_the_task_is_done():
    running = httpx.Response(200, json={"task_id": TASK_ID, "status": "downloading", "progress": {"stage":
                             "downloading", "fraction": 0.25}})
    service = FakeService(lambda request: httpx.Response(404, json={"detail": "Not Found"}),
                          polls=[running, running, httpx.Response(200, json=DONE)])
    task, updates = service.follow()
    assert task == DONE
    assert [status for status, _ in updates] == ["downloading", "downloading"]
    assert service.requests.count(f"/tasks/{TASK_ID}") == 3


@pytest.mark.parametrize("events", [
    stream(progress_event("downloading", 0.1, 1)),  # ends before its done event
    stream(progress_event("downloading", 0.1, 1), b"id: 2\nevent: done\ndata: {not json\n\n"),
    stream(b"<html>a proxy's error page</html>", content_type="text/html"),
    stream(sse("done", {**DONE, "status": "analyzing_text"}, 1)),  # a done that is not done
], ids=["early-end", "unreadable-data", "not-an-event-stream", "unfinished-done"])
def test_a_stream_that_cannot_give_the_result_hands_over_to_polling(events):
    service = FakeService(events, polls=[httpx.Response(200, json=DONE)])
    task, _ = service.follow()
    assert task == DONE
    assert service.requests[-1] == f"/tasks/{TASK_ID}"


def test_a_broken_connection_hands_over_to_polling():
    def broken(request):
        raise httpx.ReadError("connection reset")
    service = FakeService(broken, polls=[httpx.Response(200, json=DONE)])
    assert service.follow()[0] == DONE


def test_polling_rides_out_a_restarting_service_but_not_forever():
    unavailable = httpx.Response(503, json={"detail": "the task service is unavailable"})
    service = FakeService(lambda request: httpx.Response(404), polls=[unavailable, unavailable,
                                                                      httpx.Response(200, json=DONE)])
    assert service.follow()[0] == DONE

    service = FakeService(lambda request: httpx.Response(404),
                          polls=[unavailable] * (TOLERATED_POLL_FAILURES + 1))
    with pytest.raises(CliError) as raised:
        service.follow()
    assert raised.value.exit_code == errors.SERVICE_ERROR and "unavailable" in raised.value.message


@pytest.mark.parametrize(("status", "exit_code"), [(401, errors.UNAUTHORIZED), (404, errors.NOT_FOUND)])
def test_a_refusal_is_reported_at_once(status, exit_code):
    refusal = httpx.Response(status, json={"detail": "no"})
    service = FakeService(lambda request: httpx.Response(status, json={"detail": "no"}), polls=[refusal])
    with pytest.raises(CliError) as raised:
        service.follow()
    assert raised.value.exit_code == exit_code
    assert service.requests == [f"/tasks/{TASK_ID}/events", f"/tasks/{TASK_ID}"]


def test_the_key_is_sent_as_a_bearer_token_on_every_request():
    seen = []

    def handler(request):
        seen.append(request.headers.get("authorization"))
        return httpx.Response(404) if request.url.path.endswith("/events") else httpx.Response(200, json=DONE)
    client = ApiClient("http://api.test", api_key="secret-key-0001", transport=httpx.MockTransport(handler))
    follow_task(client, TASK_ID, lambda *_: None, sleep=lambda _: None)
    assert seen == ["Bearer secret-key-0001"] * 2
