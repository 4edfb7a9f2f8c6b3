"""OpenAI chat-completions calls to the deployed model endpoints, bounded per endpoint."""

import asyncio
import time

import httpx

from service_common.errors import PermanentError, ServiceError, TransientError
from service_common.http import bearer_auth, request_json, with_retries

from ..config import ModelEndpoint
from ..metrics import MODEL_CALL_ERRORS, MODEL_CALL_SECONDS


class ModelClient:
    """One per worker process; the semaphores keep many tasks from flooding one GPU server."""

    def __init__(self, client: httpx.AsyncClient, per_endpoint: int, call_timeout_s: float):
        self._client = client
        self._per_endpoint = per_endpoint
        self._timeout = call_timeout_s
        self._gates: dict[str, asyncio.Semaphore] = {}

    def _gate(self, endpoint: ModelEndpoint) -> asyncio.Semaphore:
        key = endpoint.server_key
        if key not in self._gates:
            self._gates[key] = asyncio.Semaphore(self._per_endpoint)
        return self._gates[key]

    async def chat(self, endpoint: ModelEndpoint, messages: list[dict], what: str, *, role: str = "other",
                   **options) -> str:
        """The assistant's text for `messages`; `options` go into the request (max_tokens, response_format…).
        `role` (vision, text) labels the call's metrics."""
        body = {"model": endpoint.model, "messages": messages, **options}
        response = await self.post(endpoint, "/chat/completions", what, role=role, json=body)
        try:
            content = response.json()["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise PermanentError(f"{what}: the model server's answer had no message content") from exc
        if not isinstance(content, str):
            raise PermanentError(f"{what}: the model server's answer had no text")
        return content.strip()

    async def post(self, endpoint: ModelEndpoint, path: str, what: str, *, role: str = "other",
                   **request) -> httpx.Response:
        """POST to `path` of the endpoint's server, within its bound, each attempt timed, retried on
        transient failures; `request` goes to httpx (json=, data=, files=…). Each attempt's time and
        failure are counted by endpoint (model name) and `role`."""
        headers = bearer_auth(endpoint.api_key)
        url = endpoint.base_url.rstrip("/") + path

        async def one_call():
            # The slot is held for one attempt only: a call sleeping out its backoff (or a long
            # Retry-After) must not keep other tasks off a server that may be answering them fine.
            async with self._gate(endpoint):
                # httpx's timeout bounds each read; this bounds the whole attempt, so a server that
                # trickles bytes (or never finishes) cannot hold the task past the deadline either.
                # Cancelling the request closes its connection, so the server sees the client go.
                started = time.monotonic()
                try:
                    response = await asyncio.wait_for(request_json(
                        self._client, "POST", url, what, headers=headers, timeout=self._timeout, **request),
                        self._timeout)
                except TimeoutError:
                    _count_failure(endpoint, role, "timeout", started)
                    raise TransientError(f"{what}: no answer within {self._timeout:g} s") from None
                except ServiceError as exc:
                    _count_failure(endpoint, role, _reason(exc), started)
                    raise
                MODEL_CALL_SECONDS.labels(endpoint.model, role).observe(time.monotonic() - started)
                return response

        return await with_retries(one_call)

    async def list_models(self, endpoint: ModelEndpoint, timeout_s: float = 5.0) -> list[dict]:
        headers = bearer_auth(endpoint.api_key)
        response = await request_json(self._client, "GET", endpoint.base_url.rstrip("/") + "/models",
                                      "listing models failed", headers=headers, timeout=timeout_s)
        data = response.json().get("data", [])
        return data if isinstance(data, list) else []

    async def model_card(self, endpoint: ModelEndpoint, timeout_s: float = 5.0) -> dict | None:
        """The server's card (its /models entry) for the endpoint's model; None when it does not serve it.
        Raises ServiceError when the server cannot be asked."""
        cards = await self.list_models(endpoint, timeout_s)
        return next((c for c in cards if isinstance(c, dict) and c.get("id") == endpoint.model), None)


def _reason(error: ServiceError) -> str:
    if error.status is not None:
        return f"http_{error.status}"
    return "timeout" if isinstance(error.__cause__, httpx.TimeoutException) else "unreachable"


def _count_failure(endpoint: ModelEndpoint, role: str, reason: str, started: float) -> None:
    MODEL_CALL_SECONDS.labels(endpoint.model, role).observe(time.monotonic() - started)
    MODEL_CALL_ERRORS.labels(endpoint.model, role, reason).inc()
