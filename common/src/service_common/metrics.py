"""Prometheus metrics: the exposition every service serves at /metrics, and request counts and latency.

Metrics live in prometheus_client's process-wide registry (one set per process, as Prometheus scrapes a
process); what must be read at scrape time from something an app owns (the orchestrator's database) is
collected by a registry of that app's own, passed to `exposition`.
"""

import asyncio
import functools

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.responses import Response
from starlette.types import Scope

# Seconds: from a cached task read (a millisecond) to a model call or an upload (minutes).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
                   120.0, 300.0)
# Methods a label may name; any other is "other", so that clients cannot grow the label set.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"
# Set in the scope by service_common.fast_path for the requests it answers ahead of routing.
FAST_PATH_ROUTE = "fast_path_route"


def route_template(scope: Scope) -> str:
    """The route that answered, as declared ("/tasks/{task_id}"), never the path itself: ids in paths would
    make a label value per task."""
    route = scope.get("route")
    if route is not None:
        return getattr(route, "path_format", None) or getattr(route, "path", None) or UNMATCHED
    return scope.get(FAST_PATH_ROUTE) or UNMATCHED


class RequestMetrics:
    """`<service>_requests_total{method,route,status}` and `<service>_request_duration_seconds{method,route}`
    (until the answer's headers: a live progress stream counts to its start, not its end). Label children are
    kept, so a request costs two dictionary look-ups and two increments."""

    def __init__(self, service: str, registry: CollectorRegistry = REGISTRY):
        prefix = service.replace("-", "_")
        self.requests = Counter(f"{prefix}_requests", f"HTTP requests answered by the {service}, by route template "
                                "and status", ["method", "route", "status"], registry=registry)
        self.latency = Histogram(f"{prefix}_request_duration_seconds", f"Time until the {service} starts its "
                                 "answer, by route template", ["method", "route"], buckets=LATENCY_BUCKETS,
                                 registry=registry)
        self._counters: dict[tuple[str, str, int], Counter] = {}
        self._histograms: dict[tuple[str, str], Histogram] = {}

    def observe(self, scope: Scope, status: int, seconds: float) -> None:
        method = scope["method"]
        if method not in METHODS:
            method = "other"
        route = route_template(scope)
        key = (method, route, status)
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = self.requests.labels(method, route, str(status))
        counter.inc()
        histogram = self._histograms.get(key[:2])
        if histogram is None:
            histogram = self._histograms[key[:2]] = self.latency.labels(method, route)
        histogram.observe(seconds)


@functools.cache
def request_metrics(service: str) -> RequestMetrics:
    """The service's request metrics, made once per process (the registry refuses a name twice)."""
    return RequestMetrics(service)


def render(*registries: CollectorRegistry) -> bytes:
    """The text exposition of the process's metrics and of `registries`."""
    return b"".join(generate_latest(registry) for registry in (REGISTRY, *registries))


async def exposition(*registries: CollectorRegistry) -> Response:
    """/metrics' answer. Rendered on a thread: a collector may read a database."""
    return Response(await asyncio.to_thread(render, *registries), media_type=CONTENT_TYPE_LATEST)
