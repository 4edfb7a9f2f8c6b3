"""Outbound HTTP between services: one way to turn answers into errors, one retry policy, one way to send a key."""

import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

import httpx
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from .errors import PermanentError, ServiceError, TransientError

T = TypeVar("T")

RETRYABLE_STATUS = {408, 425, 429, 500, 502, 503, 504}


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds the server asks us to wait (RFC 9110: delay-seconds or an HTTP-date); None when absent,
    unreadable, negative or already past, so that the ordinary backoff applies."""
    value = (response.headers.get("retry-after") or "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # "-0000": the date is in UTC but says nothing more
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    # inf and nan are garbage too, and would break whoever passes the hint on as a header.
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


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


def error_from_exception(exc: Exception, what: str) -> TransientError:
    """Transport failures (refused, reset, timed out; httpx's or another client's) are worth another try.
    The message names the service (`what`), not its address: it may reach a client in a task's `error`,
    and internal addresses are no business of clients."""
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return TransientError(f"{what}: no answer in time ({type(exc).__name__})")
    reason = str(exc) or type(exc).__name__
    return TransientError(f"{what}: could not be reached ({reason})")


def bearer_auth(api_key: str | None) -> dict[str, str]:
    """The header that carries an API key to a model server (OpenAI's `Authorization: Bearer`); none without a key."""
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


DEFAULT_ATTEMPTS = 3
DEFAULT_MAX_WAIT_S = 10.0
BACKOFF_FIRST_S = 0.5  # doubles per retry, plus up to BACKOFF_JITTER_S of jitter
BACKOFF_JITTER_S = 1.0


async def with_retries(call: Callable[[], Awaitable[T]], attempts: int = DEFAULT_ATTEMPTS,
                       max_wait: float = DEFAULT_MAX_WAIT_S) -> T:
    """Run `call`, retrying TransientError with capped, jittered exponential backoff; a PermanentError (or
    anything else) is raised at once, and when the attempts run out the last TransientError is raised."""
    retrying = AsyncRetrying(
        retry=retry_if_exception(lambda e: isinstance(e, TransientError)),
        stop=stop_after_attempt(attempts),
        wait=retry_wait(max_wait),
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            return await call()
    raise AssertionError("unreachable")  # pragma: no cover


def retry_wait(max_wait: float = DEFAULT_MAX_WAIT_S) -> Callable[..., float]:
    """Tenacity wait: the jittered exponential backoff, or longer when the failed answer's Retry-After asks
    for it, never more than `max_wait` whatever the server says (a caller's own deadline still rules)."""
    backoff = wait_exponential_jitter(multiplier=BACKOFF_FIRST_S, jitter=BACKOFF_JITTER_S, max=max_wait)

    def wait(retry_state) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        hinted = getattr(exc, "retry_after", None)
        delay = backoff(retry_state)
        if hinted is not None:
            # Retry-After is the least the server asks for; a backoff already grown past it stays.
            delay = max(delay, float(hinted))
        return min(delay, max_wait)

    return wait


def longest_retry_wait(attempts: int = DEFAULT_ATTEMPTS, max_wait: float = DEFAULT_MAX_WAIT_S,
                       retry_after: float = 0.0) -> float:
    """The most with_retries sleeps in all between its `attempts` when no answer asks for more than
    `retry_after` seconds (math.inf: any Retry-After): what a deadline for the whole call must allow."""
    return sum(min(max(BACKOFF_FIRST_S * 2**n + BACKOFF_JITTER_S, retry_after), max_wait)
               for n in range(attempts - 1))


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
