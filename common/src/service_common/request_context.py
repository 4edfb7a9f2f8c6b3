"""The request and the task a piece of work is for: kept in context variables, written on every log line
(service_common.logging) and passed on with every call to another service.

A request's id comes from the caller's `X-Request-ID` when it is a sensible one (at most 64 printable ASCII
characters, no spaces), else it is made here; each answer carries it back. Between the services the same
header travels, with `X-Task-ID` once a task is known, so that one client request, and the task it started,
can be followed through every service's log.
"""

import contextlib
import uuid
from collections.abc import Iterator
from contextvars import ContextVar

REQUEST_ID_HEADER = "X-Request-ID"
TASK_ID_HEADER = "X-Task-ID"
MAX_ID_LENGTH = 64
# Printable ASCII without the space: it cannot break a log line or a header, whatever the client sends.
_PRINTABLE = bytes(range(0x21, 0x7F))

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
task_id: ContextVar[str | None] = ContextVar("task_id", default=None)


def accepted_id(value: bytes | str | None) -> str | None:
    """`value` if it may serve as a request (or task) id, else None."""
    if value is None:
        return None
    if isinstance(value, str):
        if not value.isascii():
            return None
        value = value.encode("ascii")
    # What is left once the printable characters are deleted must be nothing (faster than a pattern).
    if 0 < len(value) <= MAX_ID_LENGTH and not value.translate(None, _PRINTABLE):
        return value.decode("ascii")
    return None


def new_request_id() -> str:
    return uuid.uuid4().hex


def outgoing_headers() -> dict[str, str]:
    """The headers a call to another service carries for the work in hand."""
    headers = {}
    if (current := request_id.get()) is not None:
        headers[REQUEST_ID_HEADER] = current
    if (task := task_id.get()) is not None:
        headers[TASK_ID_HEADER] = task
    return headers


async def add_outgoing_headers(request) -> None:
    """An httpx request hook: `httpx.AsyncClient(event_hooks=OUTGOING_HOOKS)`. A header the call set
    itself is kept."""
    for name, value in outgoing_headers().items():
        if name not in request.headers:
            request.headers[name] = value


OUTGOING_HOOKS = {"request": [add_outgoing_headers]}


def set_task_id(value: str | None) -> None:
    """Name the task the current request is about, once it is known (e.g. just created): the rest of the
    request's log lines carry it. The request's own scope restores the previous value at its end."""
    task_id.set(value)


@contextlib.contextmanager
def working_on(task: str | None, request: str | None = None) -> Iterator[None]:
    """Work outside any request (a worker running a task): its log lines and calls carry the task's id and,
    when known, the id of the request that created the task."""
    task_token = task_id.set(task)
    request_token = request_id.set(request)
    try:
        yield
    finally:
        request_id.reset(request_token)
        task_id.reset(task_token)
