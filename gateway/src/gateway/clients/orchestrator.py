"""The orchestrator's internal task API, seen from the gateway.

Failures are sorted by what the public client should do about them: the orchestrator being down or
answering 5xx is `TransientError` (503 + Retry-After: try later), a request it refuses on purpose is
`TaskRefused` (422: change the request), anything else unexpected is `PermanentError` (502).
Requests are not retried here: the gateway answers quickly and tells the caller when to come back,
and retrying a POST could create the same task twice.

Every public task read comes through here, so it is on aiohttp, whose keep-alive pool and C parser
cost a fraction of httpx's per request (httpx checks every pooled connection's socket on each request).
An answer is read whole; a refusal or failure is turned into an `httpx.Response`, so that errors are
told apart by the same code as every other call between services.
"""

import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import aiohttp
import httpx
from pydantic import BaseModel, ValidationError

from service_common.contracts import (
    AskAnswer,
    AskRequest,
    OrchestratorHealth,
    TaskChange,
    TaskCreate,
    TaskPage,
    TaskRecord,
)
from service_common.errors import PermanentError, TransientError
from service_common.http import error_from_exception, error_from_response
from service_common.request_context import outgoing_headers

WHAT = "orchestrator"


class TaskRefused(Exception):
    """The orchestrator declined the request for a reason the caller can fix (e.g. tier not deployed)."""

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


class TaskQuotaExceeded(Exception):
    """The caller has as many queued or running tasks as its key may (ACTIVE_TASKS_PER_KEY)."""

    def __init__(self, detail: str, retry_after: float):
        super().__init__(detail)
        self.detail, self.retry_after = detail, retry_after


def _raw_detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    detail = body.get("detail") if isinstance(body, dict) else None
    return detail if isinstance(detail, str) and detail else f"HTTP {response.status_code}"


class TaskNotReady(Exception):
    """The task cannot do what was asked in its present status (409), e.g. answer questions before it completed."""

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class Answer:
    """A successful answer of the orchestrator, read whole."""

    status_code: int
    content: bytes


class OrchestratorClient:
    """Calls on behalf of one caller: `owner` (the API key's name, "" without keys) scopes every task call."""

    def __init__(self, http: aiohttp.ClientSession, owner: str = ""):
        self._http = http
        self._owner = {"X-Task-Owner": owner}

    async def _call(self, method: str, path: str, *, not_found_ok: bool = False, conflict_ok: bool = False,
                    **kwargs) -> Answer | None:
        kwargs["headers"] = {**(kwargs.get("headers") or {}), **outgoing_headers()}  # X-Request-ID, X-Task-ID
        try:
            # Relative to ORCHESTRATOR_URL, whatever path that has (as httpx's base_url joins them).
            async with self._http.request(method, path.lstrip("/"), **kwargs) as answer:
                content = await answer.read()
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise error_from_exception(exc, WHAT) from exc
        if answer.status < 300:
            return Answer(answer.status, content)
        response = httpx.Response(answer.status, headers=list(answer.raw_headers), content=content)
        if response.status_code == 404 and not_found_ok:
            return None
        if response.status_code == 422:
            raise TaskRefused(_raw_detail(response))
        if response.status_code == 409 and conflict_ok:
            raise TaskNotReady(_raw_detail(response))
        if response.status_code == 429:
            error = error_from_response(response, WHAT)
            raise TaskQuotaExceeded(_raw_detail(response), getattr(error, "retry_after", None) or 10)
        if response.status_code >= 500:
            # Whatever the body claims, a 5xx means the service cannot answer right now.
            error = error_from_response(response, WHAT)
            unavailable = TransientError(error.message, retry_after=getattr(error, "retry_after", None))
            unavailable.status = response.status_code
            raise unavailable
        error = error_from_response(response, WHAT)
        raise PermanentError(f"{WHAT} answered HTTP {response.status_code}: {error.message}")

    @staticmethod
    def _parse(model: type[BaseModel], response: Answer) -> Any:
        try:
            return model.model_validate_json(response.content)
        except ValidationError as exc:
            count = exc.error_count()
            raise PermanentError(f"{WHAT} sent a malformed {model.__name__} ({count} errors)") from exc

    async def create_task(self, request: TaskCreate, idempotency_key: str | None = None) -> tuple[TaskRecord, bool]:
        """(task, created): with a key used before for the same request, that task and False."""
        headers = {**self._owner, "Idempotency-Key": idempotency_key} if idempotency_key else self._owner
        response = await self._call("POST", "/internal/tasks", json=request.model_dump(mode="json"), headers=headers)
        return self._parse(TaskRecord, response), response.status_code == 201

    async def get_task_json(self, task_id: UUID) -> bytes | None:
        """The task as the orchestrator wrote it: a TaskRecord's JSON, which is the public answer as it is."""
        response = await self._call("GET", f"/internal/tasks/{task_id}", not_found_ok=True, headers=self._owner)
        return None if response is None else response.content

    async def task_change(self, task_id: UUID, after: int, wait_s: float) -> TaskChange | None:
        """The task once it is newer than version `after` (waiting up to `wait_s` there), None when gone."""
        timeout = aiohttp.ClientTimeout(total=wait_s + self._http.timeout.total)
        response = await self._call("GET", f"/internal/tasks/{task_id}/changes", not_found_ok=True,
                                    params={"after": after, "wait": wait_s}, headers=self._owner, timeout=timeout)
        return None if response is None else self._parse(TaskChange, response)

    async def list_tasks(self, limit: int, offset: int) -> TaskPage:
        response = await self._call("GET", "/internal/tasks", params={"limit": limit, "offset": offset},
                                    headers=self._owner)
        return self._parse(TaskPage, response)

    async def delete_task(self, task_id: UUID) -> bool:
        """True when it was deleted, False when there was no such task."""
        response = await self._call("DELETE", f"/internal/tasks/{task_id}", not_found_ok=True, headers=self._owner)
        return response is not None

    async def ask(self, task_id: UUID, question: AskRequest, timeout_s: float) -> AskAnswer | None:
        """The answer to a question about the task, None when there is no such task; TaskNotReady while it is
        not completed. Waits up to `timeout_s`: the answer comes from the text model."""
        response = await self._call("POST", f"/internal/tasks/{task_id}/ask", not_found_ok=True, conflict_ok=True,
                                    json=question.model_dump(), headers=self._owner,
                                    timeout=aiohttp.ClientTimeout(total=timeout_s))
        return None if response is None else self._parse(AskAnswer, response)

    async def frame_image(self, task_id: UUID, index: int) -> bytes | None:
        """The JPEG of one analysed frame, or None when the task has no such frame."""
        response = await self._call("GET", f"/internal/tasks/{task_id}/frames/{index}.jpg", not_found_ok=True,
                                    headers=self._owner)
        return None if response is None else response.content

    async def deployments(self) -> dict[str, dict[str, dict]]:
        """role -> tier -> endpoint (base_url, model, api_key, gpu_name) of the deployed models."""
        response = await self._call("GET", "/internal/deployments")
        return json.loads(response.content)

    async def health(self) -> OrchestratorHealth:
        response = await self._call("GET", "/internal/health")
        return self._parse(OrchestratorHealth, response)
