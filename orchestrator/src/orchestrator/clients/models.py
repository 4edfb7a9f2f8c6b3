"""OpenAI chat-completions calls to the deployed model endpoints, bounded per endpoint."""

import asyncio

import httpx

from service_common.errors import PermanentError, TransientError
from service_common.http import request_json, with_retries

from ..config import ModelEndpoint


class ModelClient:
    """One per worker process; the semaphores keep many tasks from flooding one GPU server."""

    def __init__(self, client: httpx.AsyncClient, per_endpoint: int, call_timeout_s: float):
        self._client = client
        self._per_endpoint = per_endpoint
        self._timeout = call_timeout_s
        self._gates: dict[str, asyncio.Semaphore] = {}

    def _gate(self, endpoint: ModelEndpoint) -> asyncio.Semaphore:
        key = f"{endpoint.base_url}|{endpoint.model}"
        if key not in self._gates:
            self._gates[key] = asyncio.Semaphore(self._per_endpoint)
        return self._gates[key]

    async def chat(self, endpoint: ModelEndpoint, messages: list[dict], what: str, **options) -> str:
        """The assistant's text for `messages`; `options` go into the request (max_tokens, response_format…)."""
        body = {"model": endpoint.model, "messages": messages, **options}
        response = await self.post(endpoint, "/chat/completions", what, json=body)
        try:
            content = response.json()["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise PermanentError(f"{what}: the model server's answer had no message content") from exc
        if not isinstance(content, str):
            raise PermanentError(f"{what}: the model server's answer had no text")
        return content.strip()

    async def post(self, endpoint: ModelEndpoint, path: str, what: str, **request) -> httpx.Response:
        """POST to `path` of the endpoint's server, within its bound, each attempt timed, retried on
        transient failures; `request` goes to httpx (json=, data=, files=…)."""
        headers = {"Authorization": f"Bearer {endpoint.api_key}"} if endpoint.api_key else {}
        url = endpoint.base_url.rstrip("/") + path

        async def one_call():
            # The slot is held for one attempt only: a call sleeping out its backoff (or a long
            # Retry-After) must not keep other tasks off a server that may be answering them fine.
            async with self._gate(endpoint):
                # httpx's timeout bounds each read; this bounds the whole attempt, so a server that
                # trickles bytes (or never finishes) cannot hold the task past the deadline either.
                # Cancelling the request closes its connection, so the server sees the client go.
                try:
                    return await asyncio.wait_for(request_json(
                        self._client, "POST", url, what, headers=headers, timeout=self._timeout, **request),
                        self._timeout)
                except TimeoutError:
                    raise TransientError(f"{what}: no answer within {self._timeout:g} s") from None

        return await with_retries(one_call)

    async def list_models(self, endpoint: ModelEndpoint, timeout_s: float = 5.0) -> list[dict]:
        headers = {"Authorization": f"Bearer {endpoint.api_key}"} if endpoint.api_key else {}
        response = await request_json(self._client, "GET", endpoint.base_url.rstrip("/") + "/models",
                                      "listing models failed", headers=headers, timeout=timeout_s)
        data = response.json().get("data", [])
        return data if isinstance(data, list) else []
