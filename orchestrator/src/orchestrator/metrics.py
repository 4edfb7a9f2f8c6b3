"""The orchestrator's Prometheus metrics (served at GET /metrics on its internal port).

Counts of tasks by status and the queue's depth are read from the database at scrape time (TaskCounts),
so every replica reports the same, exact figures; sum the counters below over replicas, but not these.
Everything else is counted by the process that did the work.
"""

import logging
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Connection, func, select

from service_common.contracts import TaskStatus
from service_common.metrics import LATENCY_BUCKETS

from .db import Sessions
from .models import Task

log = logging.getLogger(__name__)

# A stage lasts from a second (a cached download) to an hour (a long video's speech-to-text).
STAGE_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)

STAGE_SECONDS = Histogram("orchestrator_stage_duration_seconds", "Time one attempt spent in a stage, by stage "
                          "and outcome (ok, failed, retried, timed_out)", ["stage", "outcome"],
                          buckets=STAGE_BUCKETS)
CLAIMS = Counter("orchestrator_task_claims", "Tasks claimed by this process's workers (each attempt)")
TAKEOVERS = Counter("orchestrator_task_takeovers", "Claims of a task whose previous worker died or lost it "
                    "(its lease ran out without being handed back)")
LEASES_LOST = Counter("orchestrator_leases_lost", "Tasks a worker stopped because it no longer held them "
                      "(deleted, or taken over after a missed heartbeat)")
MODEL_CALL_SECONDS = Histogram("orchestrator_model_call_duration_seconds", "Time of one model call attempt, "
                               "by endpoint (model name) and role", ["endpoint", "role"], buckets=LATENCY_BUCKETS)
MODEL_CALL_ERRORS = Counter("orchestrator_model_call_errors", "Model call attempts that failed, by endpoint, "
                            "role and reason (timeout, unreachable, http_<status>)", ["endpoint", "role", "reason"])
# Incremented by webhook delivery (orchestrator.webhooks): one per attempt's outcome.
WEBHOOK_OUTCOMES = ("delivered", "retried", "given_up")
WEBHOOK_DELIVERIES = Counter("webhook_deliveries", "Webhook delivery attempts by outcome (delivered, retried, "
                             "given_up)", ["outcome"])
for _outcome in WEBHOOK_OUTCOMES:
    WEBHOOK_DELIVERIES.labels(_outcome)


class TaskCounts(Collector):
    """`orchestrator_tasks{status}` and `orchestrator_queue_depth`, read from the database when scraped."""

    def __init__(self, sessions: Sessions):
        self.sessions = sessions

    def describe(self) -> list[Metric]:
        return []  # nothing to ask the database when registered

    def collect(self) -> Iterator[Metric]:
        try:
            by_status, queued = self.sessions.read(_counts)
        except Exception as exc:  # noqa: BLE001 - a scrape during a database outage gets the other metrics
            log.warning("task counts not read for /metrics: %s", str(exc).splitlines()[0] if str(exc) else exc)
            return
        tasks = GaugeMetricFamily("orchestrator_tasks", "Tasks in the database by status", labels=["status"])
        for status in TaskStatus:
            tasks.add_metric([status.value], by_status.get(status.value, 0))
        yield tasks
        yield GaugeMetricFamily("orchestrator_queue_depth", "Tasks a worker could claim now (waiting for a "
                                "worker, or for a new one after theirs died)", value=queued)


_BY_STATUS = select(Task.status, func.count()).group_by(Task.status)


def _counts(connection: Connection) -> tuple[dict[str, int], int]:
    # Imported here: the queue's modules (webhook delivery among them) may count into this module's metrics.
    from .queue import claimable_count

    by_status = {status: count for status, count in connection.execute(_BY_STATUS)}
    return by_status, claimable_count(connection)


def task_counts_registry(sessions: Sessions) -> CollectorRegistry:
    """A registry of the app's own for what is read from its database (the rest is process-wide)."""
    registry = CollectorRegistry()
    registry.register(TaskCounts(sessions))
    return registry
