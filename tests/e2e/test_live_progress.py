"""Live progress over Server-Sent Events (GET /tasks/{id}/events), through real services on SQLite and
PostgreSQL: every stage as it is entered, the whole task at the end, resuming, heartbeats, key scoping."""

import json
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.support.stack import running_stack

ALICE, BOB = {"Authorization": "Bearer key-of-alice-0001"}, {"Authorization": "Bearer key-of-bob-00001"}
STAGES = ["downloading", "extracting_frames", "extracting_transcript", "analyzing_vision", "analyzing_text"]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def api(request, tmp_path_factory):
    database_url = request.getfixturevalue("module_postgres_url") if request.param == "postgresql" else None
    settings = {"API_KEYS": "alice:key-of-alice-0001,bob:key-of-bob-00001", "EVENTS_HEARTBEAT_S": "0.3"}
    with running_stack(tmp_path_factory.mktemp("stack"), database_url=database_url, extra_env=settings) as stack:
        yield stack.url("gateway")


def read_events(stream: httpx.Response | Iterator[str], until=None) -> list[dict]:
    """The stream's events as {"id", "event", "data", "at"}, heartbeats as {"comment"}, until it closes
    (or `until(events so far)` holds). `stream` is a response, or its lines being read."""
    events, current = [], {}
    for line in stream.iter_lines() if isinstance(stream, httpx.Response) else stream:
        if line.startswith(":"):
            events.append({"comment": line[1:].strip(), "at": time.monotonic()})
        elif line == "":
            if current:
                events.append({**current, "at": time.monotonic()})
                current = {}
        else:
            field, _, value = line.partition(": ")
            current[field] = json.loads(value) if field == "data" else value
        if until is not None and events and until(events):
            break
    return events


def submit(api: str, url: str, headers=ALICE) -> str:
    response = httpx.post(f"{api}/analyze", json={"youtube_url": url, "max_frames": 2}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["task_id"]


def test_a_listener_sees_every_stage_then_the_whole_task(api, video_site):
    task_id = submit(api, f"{video_site}/watch.html")
    opened = time.monotonic()
    with httpx.stream("GET", f"{api}/tasks/{task_id}/events", headers=ALICE, timeout=120) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        events = [e for e in read_events(response) if "event" in e]

    assert events[0]["at"] - opened < 2.0, "the first event comes at once"
    ids = [int(e["id"]) for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids), "ids grow"
    progress, done = events[:-1], events[-1]
    assert {e["event"] for e in progress} == {"progress"} and done["event"] == "done"
    statuses = [e["data"]["status"] for e in progress]
    assert [s for s in STAGES if s in statuses] == STAGES, f"every stage is told: {statuses}"
    assert [STAGES.index(s) for s in statuses if s in STAGES] == sorted(STAGES.index(s) for s in statuses
                                                                         if s in STAGES), "in order"
    assert all(e["data"]["task_id"] == task_id and "progress" in e["data"] for e in progress)
    whole = httpx.get(f"{api}/tasks/{task_id}", headers=ALICE).json()
    assert done["data"] == whole and whole["status"] == "completed"


def test_resuming_after_an_event_goes_on_from_there(api, video_site):
    task_id = submit(api, f"{video_site}/watch.html")
    with httpx.stream("GET", f"{api}/tasks/{task_id}/events", headers=ALICE, timeout=120) as response:
        events = [e for e in read_events(response) if "event" in e]
    first, done = events[0], events[-1]

    resumed = httpx.get(f"{api}/tasks/{task_id}/events", headers={**ALICE, "Last-Event-ID": first["id"]},
                        timeout=30)
    assert resumed.status_code == 200
    assert f"id: {done['id']}\nevent: done\n" in resumed.text

    caught_up = httpx.get(f"{api}/tasks/{task_id}/events", headers={**ALICE, "Last-Event-ID": done["id"]},
                          timeout=30)
    assert caught_up.status_code == 200 and "event:" not in caught_up.text, "nothing new: the stream just ends"


def test_another_keys_task_is_not_found_and_no_key_is_refused(api, video_site):
    task_id = submit(api, f"{video_site}/watch.html")
    refused = httpx.get(f"{api}/tasks/{task_id}/events", headers=BOB, timeout=10)
    assert refused.status_code == 404 and refused.json()["detail"] == f"Task {task_id} not found"
    assert httpx.get(f"{api}/tasks/{task_id}/events", timeout=10).status_code == 401
    assert httpx.get(f"{api}/tasks/not-a-task/events", headers=ALICE, timeout=10).status_code == 404


def test_a_quiet_task_gets_heartbeats_and_its_stream_ends_when_it_is_deleted(api, silent_origin):
    task_id = submit(api, silent_origin)
    with httpx.stream("GET", f"{api}/tasks/{task_id}/events", headers=ALICE, timeout=60) as response:
        lines = response.iter_lines()
        events = read_events(lines, until=lambda seen: sum("comment" in e for e in seen) >= 3)
        assert [e["comment"] for e in events if "comment" in e] == ["keep-alive"] * 3
        assert httpx.delete(f"{api}/tasks/{task_id}", headers=ALICE, timeout=10).status_code == 200
        deleted_at = time.monotonic()
        rest = read_events(lines)
    assert time.monotonic() - deleted_at < 5.0, "the stream ends soon after the task is gone"
    assert not any(e.get("event") == "done" for e in rest)


def test_many_listeners_of_one_task_are_all_told(api, video_site):
    task_id = submit(api, f"{video_site}/watch.html")
    results: list[list[dict]] = []

    def listen():
        with httpx.stream("GET", f"{api}/tasks/{task_id}/events", headers=ALICE, timeout=120) as response:
            results.append([e for e in read_events(response) if "event" in e])

    listeners = [threading.Thread(target=listen) for _ in range(20)]
    for listener in listeners:
        listener.start()
    for listener in listeners:
        listener.join(150)
    assert len(results) == 20
    finals = {json.dumps(events[-1]["data"], sort_keys=True) for events in results}
    assert len(finals) == 1 and all(events[-1]["event"] == "done" for events in results)
