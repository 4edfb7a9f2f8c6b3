"""The webhook outbox (on SQLite and PostgreSQL) and the egress check of the webhook client, without a
packet leaving: a refused destination is refused before the connection is attempted."""

import asyncio
import json
import socket

import httpcore
import pytest

from orchestrator.clients.webhooks import DestinationRefused, GuardedBackend
from orchestrator.clock import utcnow
from orchestrator.config import OrchestratorSettings
from orchestrator.webhooks.outbox import (
    DELIVERED,
    GIVEN_UP,
    PENDING,
    claim_due,
    new_delivery,
    record_attempt,
)

REQUEST = {"youtube_url": "https://example.com/v.mp4", "webhook_url": "https://example.com/hook"}


def add(sessions, task_id: str, status: str = "completed", error: str | None = None):
    delivery = new_delivery(task_id, REQUEST, status, error, utcnow())
    with sessions.begin() as session:
        session.add(delivery)
    return delivery


def test_the_event_is_the_standard_shape_and_a_task_without_a_webhook_has_none():
    delivery = new_delivery("t-1", REQUEST, "failed", "the video is private", utcnow())
    event = json.loads(delivery.payload)
    assert event["type"] == "task.failed" and event["timestamp"].endswith("Z")
    assert event["data"] == {"task_id": "t-1", "status": "failed", "error": "the video is private",
                             "url": "https://example.com/v.mp4"}
    assert delivery.id.startswith("msg_") and delivery.state == PENDING
    assert new_delivery("t-2", {"youtube_url": "https://example.com/v.mp4"}, "completed", None, utcnow()) is None


def test_a_due_delivery_is_leased_to_one_sender_at_a_time(sessions):
    add(sessions, "t-1")
    first = claim_due(sessions, "sender-a", lease_s=30, limit=8)
    assert [d.task_id for d in first] == ["t-1"]
    assert claim_due(sessions, "sender-b", lease_s=30, limit=8) == [], "leased to sender-a"


def test_attempts_move_the_delivery_on_until_delivered_or_given_up(sessions):
    add(sessions, "t-1")
    add(sessions, "t-2")
    due = {d.task_id: d for d in claim_due(sessions, "sender-a", lease_s=30, limit=8)}
    assert record_attempt(sessions, due["t-1"], "sender-a", "HTTP 500", False, False, retry_in_s=0) == PENDING
    assert record_attempt(sessions, due["t-2"], "sender-a", "refused: private", False, True, retry_in_s=0) == GIVEN_UP
    again = claim_due(sessions, "sender-b", lease_s=30, limit=8)
    assert [(d.task_id, d.attempts) for d in again] == [("t-1", 1)], "retried; the given-up one is not"
    assert record_attempt(sessions, again[0], "sender-b", "HTTP 204", True, False, retry_in_s=0) == DELIVERED
    assert claim_due(sessions, "sender-b", lease_s=30, limit=8) == []


def test_an_attempt_by_a_sender_that_lost_its_lease_is_not_recorded(sessions):
    add(sessions, "t-1")
    stale = claim_due(sessions, "sender-a", lease_s=-1, limit=8)[0]  # a lease that has already lapsed
    taken = claim_due(sessions, "sender-b", lease_s=30, limit=8)[0]
    record_attempt(sessions, stale, "sender-a", "HTTP 204", True, False, retry_in_s=0)
    assert record_attempt(sessions, taken, "sender-b", "HTTP 500", False, False, retry_in_s=0) == PENDING


def test_webhook_retries_back_off_exponentially_up_to_the_ceiling():
    settings = OrchestratorSettings(webhook_retry_base_s=5, webhook_retry_max_s=60, webhook_max_attempts=8)
    retries = settings.webhook_retries()
    delays = [retries.delay_s(n) for n in range(1, 8)]
    assert 2.5 <= delays[0] <= 5 and 5 <= delays[1] <= 10 and 10 <= delays[2] <= 20
    assert all(30 <= d <= 60 for d in delays[4:])
    assert retries.may_retry_after(7) and not retries.may_retry_after(8)


def test_task_retries_are_the_settings_backoff_with_their_jitter_and_count():
    retries = OrchestratorSettings(max_attempts=3, retry_backoff_s=2).task_retries()
    assert [retries.may_retry_after(n) for n in (1, 2, 3)] == [True, True, False]
    assert [retries.over(n) for n in (3, 4)] == [False, True], "a 4th claim means 3 attempts died"
    assert all(1.6 <= retries.delay_s(1) <= 2.4 for _ in range(50))
    assert all(6.4 <= retries.delay_s(3) <= 9.6 for _ in range(50))


class RecordingBackend(httpcore.AsyncNetworkBackend):
    """Stands in for the network (fault-injection double): records every connection asked of it."""

    def __init__(self):
        self.connects: list[tuple[str, int]] = []

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        self.connects.append((host, port))
        raise httpcore.ConnectError("the recording backend connects nowhere")


@pytest.mark.parametrize("host", ["10.1.2.3", "169.254.169.254", "192.168.0.1", "::1", "127.0.0.2", "0.0.0.0"])
def test_non_public_destinations_are_refused_before_any_connection(host):
    backend = GuardedBackend(OrchestratorSettings(egress_allow_cidrs=["127.0.0.1/32"]))
    backend._inner = recorder = RecordingBackend()
    with pytest.raises(DestinationRefused, match="address"):
        asyncio.run(backend.connect_tcp(host, 80))
    assert recorder.connects == []


def test_an_allowed_range_is_reached_but_the_services_own_ports_are_not():
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    try:
        opened = GuardedBackend(OrchestratorSettings(egress_allow_cidrs=["127.0.0.1/32"]))

        async def connect():
            stream = await opened.connect_tcp("127.0.0.1", port)
            await stream.aclose()

        asyncio.run(connect())
        internal = GuardedBackend(OrchestratorSettings(egress_allow_cidrs=["127.0.0.1/32"],
                                                       internal_endpoints=[f"127.0.0.1:{port}"]))
        internal._inner = recorder = RecordingBackend()
        with pytest.raises(DestinationRefused, match="internal endpoints"):
            asyncio.run(internal.connect_tcp("localhost", port))
        assert recorder.connects == []
    finally:
        listener.close()
