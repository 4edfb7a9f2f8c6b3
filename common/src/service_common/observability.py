"""The outermost layer of a service's app: each request's id (and task id) for its logs and its calls to
other services, the id on the answer, and, where the service counts its requests, their count and latency.

It wraps the whole middleware stack, Starlette's error layer included, so that a 500 from an unexpected
error carries the request id and is counted like every other answer.
"""

import re
import time

from starlette.applications import Starlette
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .metrics import RequestMetrics
from .request_context import accepted_id, new_request_id, request_id, task_id

# FastAPI(telemetry=NO_NATIVE_TELEMETRY): FastAPI's own OpenTelemetry layer asks, on every request, whether
# a tracer, meter or logger provider has been configured (reading the environment each time); none ever is
# here, since every service counts its requests with RequestMetrics below, so the look is turned off.
NO_NATIVE_TELEMETRY = {"tracing": False, "metrics": False, "logs": False}

# A task named in a path: /tasks/{id}... (gateway), /internal/tasks/{id}... (orchestrator).
TASK_IN_PATH = re.compile(r"/tasks/([0-9A-Fa-f-]{32,36})(?:/|$)")


class ObservedRequests:
    def __init__(self, app: ASGIApp, *, metrics: RequestMetrics | None = None, trust_task_header: bool = False,
                 task_path: re.Pattern[str] | None = None):
        self.app = app
        self.metrics = metrics
        # X-Task-ID is taken from the caller only where the callers are the service's own (internal ports).
        self.trust_task_header = trust_task_header
        self.task_path = task_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = task = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                given = accepted_id(value)
            elif name == b"x-task-id" and self.trust_task_header:
                task = accepted_id(value)
        current = given or new_request_id()
        if task is None and self.task_path is not None and "/tasks/" in scope["path"]:
            named = self.task_path.search(scope["path"])
            task = named[1] if named else None
        header = (b"x-request-id", current.encode())
        metrics = self.metrics
        started = time.perf_counter()
        answered = False

        async def answer(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.start":
                answered = True
                message["headers"] = [*message.get("headers", ()), header]
                if metrics is not None:
                    metrics.observe(scope, message["status"], time.perf_counter() - started)
            await send(message)

        request_token, task_token = request_id.set(current), task_id.set(task)
        try:
            await self.app(scope, receive, answer)
        except Exception:
            if not answered and metrics is not None:
                metrics.observe(scope, 500, time.perf_counter() - started)
            raise
        finally:
            request_id.reset(request_token)
            task_id.reset(task_token)


def observe_requests(app: Starlette, **options) -> None:
    """Put ObservedRequests (with `options`) around everything `app` does, its error layer included."""
    build = app.build_middleware_stack

    def build_observed() -> ASGIApp:
        return ObservedRequests(build(), **options)

    app.build_middleware_stack = build_observed
