"""TaskFeed turns the orchestrator's changes into events: the unit under the e2e stream tests."""

import asyncio

from gateway.live_progress import TaskFeed, TaskFeeds, parse_last_event_id
from service_common.contracts import TaskChange, TaskRecord

TASK_ID = "4b1a9a4e-8d3c-4a57-9a43-0d6f8f3c2a11"


def change(version: int, status: str, statuses=(), progress=None) -> TaskChange:
    task = TaskRecord(task_id=TASK_ID, status=status, youtube_url="https://example.com/v",
                      created_at="2026-12-07T00:00:00", progress=progress)
    return TaskChange(version=version, statuses=list(statuses), task=task)


def wires(feed: TaskFeed) -> list[str]:
    return [event.wire.decode() for event in feed.events]


def test_stages_skipped_between_two_asks_are_told_in_order_before_the_current_one():
    feed = TaskFeed(TASK_ID, fetch_change=None)
    feed.take(change(1_000, "pending"))
    feed.take(change(2_000, "extracting_transcript", ["downloading", "extracting_frames", "extracting_transcript"],
                     {"stage": "extracting_transcript", "fraction": 0.5}))
    ids = [event.id for event in feed.events]
    assert ids == [1_000, 1_001, 1_002, 2_000]
    assert ['"status":"downloading"' in wires(feed)[1], '"status":"extracting_frames"' in wires(feed)[2]] == [True] * 2
    assert '"fraction":0.5' in wires(feed)[3]


def test_a_write_that_changes_nothing_shown_makes_no_event_and_the_end_carries_the_task():
    feed = TaskFeed(TASK_ID, fetch_change=None)
    feed.take(change(1_000, "analyzing_vision", progress={"stage": "analyzing_vision", "fraction": 0.25}))
    feed.take(change(1_500, "analyzing_vision", progress={"stage": "analyzing_vision", "fraction": 0.25}))  # a lease
    assert [event.id for event in feed.events] == [1_000]
    feed.take(change(2_000, "completed", ["analyzing_text", "completed"]))
    assert feed.finished
    assert wires(feed)[-1].startswith("id: 2000\nevent: done\ndata: {\"task_id\"")
    assert '"status":"analyzing_text"' in wires(feed)[-2]


def test_a_listener_without_last_event_id_starts_at_the_latest_and_one_with_it_gets_what_it_missed():
    async def scenario():
        feed = TaskFeed(TASK_ID, fetch_change=None)
        feed.take(change(1_000, "downloading"))
        feed.take(change(2_000, "extracting_frames"))
        feed.take(change(3_000, "completed"))
        fresh = [chunk async for chunk in feed.listen(None, heartbeat_s=1)]
        behind = [chunk async for chunk in feed.listen(1_000, heartbeat_s=1)]
        return fresh, behind

    fresh, behind = asyncio.run(scenario())
    assert [chunk.split(b"\n")[0] for chunk in fresh] == [b"id: 3000"]
    assert [chunk.split(b"\n")[0] for chunk in behind] == [b"id: 2000", b"id: 3000"]


def test_a_missing_task_opens_no_feed():
    async def scenario():
        async def gone(after, wait_s):
            return None
        feeds = TaskFeeds(heartbeat_s=1)
        return await feeds.listen("alice", TASK_ID, gone, None), feeds.following

    assert asyncio.run(scenario()) == (None, 0)


def test_last_event_id_that_is_not_one_of_ours_counts_as_none():
    assert parse_last_event_id(" 1796617128606916 ") == 1796617128606916
    assert [parse_last_event_id(v) for v in (None, "", "abc", "-5", "1" * 30)] == [None] * 5
