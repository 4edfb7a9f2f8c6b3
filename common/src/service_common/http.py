"""Outbound HTTP between services: one way to turn answers into errors, one retry policy."""

from collections.abc import Awaitable, Callable
from typing import TypeVar

import httpx
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from .errors import PermanentError, ServiceError, TransientError

T = TypeVar("T")

RETRYABLE_STATUS = {408, 425, 429, 500, 502, 503, 504}


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def error_from_response(response: httpx.Response, what: str) -> ServiceError:
    """A ServiceError for a non-2xx answer, using the callee's `detail` when it gives one."""
    detail: str | None = None
    retryable: bool | None = None
    try:
        body = response.json()
        if isinstance(body, dict):
            raw = body.get("detail") or body.get("error")
            if isinstance(raw, dict):
                raw = raw.get("message")
            detail = raw if isinstance(raw, str) else (str(raw) if raw else None)
            if isinstance(body.get("retryable"), bool):
                retryable = body["retryable"]
    except ValueError:
        pass
    detail = detail or f"HTTP {response.status_code}"
    # The callee's message often names the step already ("download failed: …"): don't say it twice.
    message = detail if detail.startswith(what) else f"{what}: {detail}"
    if retryable is None:
        retryable = response.status_code in RETRYABLE_STATUS
    error = TransientError(message, retry_after=_retry_after(response)) if retryable else PermanentError(message)
    error.status = response.status_code
    return error


def error_from_exception(exc: httpx.HTTPError, what: str) -> TransientError:
    """Transport failures (refused, reset, timed out) are worth another try."""
    try:
        target = f" {exc.request.url.scheme}://{exc.request.url.netloc.decode()}"
    except RuntimeError:  # no request attached
        target = ""
    reason = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return TransientError(f"{what}: no answer from{target} in time ({type(exc).__name__})")
    return TransientError(f"{what}: could not reach{target} ({reason})")


async def with_retries(call: Callable[[], Awaitable[T]], attempts: int = 3, max_wait: float = 10.0) -> T:
    """Run `call`, retrying TransientError with capped, jittered exponential backoff."""
    retrying = AsyncRetrying(
        retry=retry_if_exception(lambda e: isinstance(e, TransientError)),
        stop=stop_after_attempt(attempts),
        wait=_wait_honouring_retry_after(max_wait),
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            return await call()
    raise AssertionError("unreachable")  # pragma: no cover


def _wait_honouring_retry_after(max_wait: float):
    backoff = wait_exponential_jitter(multiplier=0.5, max=max_wait)

    def wait(retry_state) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        hinted = getattr(exc, "retry_after", None)
        if hinted is not None:
            return min(float(hinted), max_wait)
        return backoff(retry_state)

    return wait


async def request_json(
    client: httpx.AsyncClient, method: str, url: str, what: str, **kwargs
) -> httpx.Response:
    """One request; a transport failure or a non-2xx answer becomes a ServiceError."""
    try:
        response = await client.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        raise error_from_exception(exc, what) from exc
    if response.is_error:
        raise error_from_response(response, what)
    return response
