"""The service's REST API over httpx; every failure becomes a CliError with a one-line message."""

import contextlib
import mimetypes
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

from . import errors
from .errors import CliError

DEFAULT_URL = "http://localhost:8000"
URL_VARIABLE = "VIDEO_ANALYSIS_URL"
KEY_VARIABLE = "VIDEO_ANALYSIS_API_KEY"
REQUEST_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
# A large file can take a while to reach the media service and be stored there.
UPLOAD_TIMEOUT = httpx.Timeout(600.0, connect=10.0)
# An answer to a question comes from the text model, which may take as long as the service lets it.
ASK_TIMEOUT = httpx.Timeout(330.0, connect=10.0)
# The events stream sends heartbeat comments; this long with no byte at all means it is stuck.
EVENTS_TIMEOUT = httpx.Timeout(10.0, read=60.0)


def detail_of(response: httpx.Response) -> str:
    """The service's reason for an error answer: `detail` as a string, or a validation error's field messages."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:300] or response.reason_phrase
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):  # FastAPI's validation errors: [{"loc": ["body", field], "msg": ...}]
        parts = []
        for item in detail:
            if not isinstance(item, dict):
                parts.append(str(item))
                continue
            where = ".".join(str(p) for p in item.get("loc", ()) if p != "body")
            parts.append(f"{where}: {item.get('msg')}" if where else str(item.get("msg")))
        return "; ".join(parts)
    return str(body)[:300]


class ApiClient:
    def __init__(self, base_url: str, api_key: str | None = None, transport: httpx.BaseTransport | None = None):
        self.base_url = base_url.rstrip("/")
        self.has_key = bool(api_key)
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        try:
            self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=REQUEST_TIMEOUT,
                                      transport=transport)
        except (httpx.InvalidURL, ValueError) as exc:
            raise CliError(f"{URL_VARIABLE} is not a usable URL ({base_url!r}): {exc}", errors.USAGE) from None

    @classmethod
    def from_environment(cls, url: str | None = None) -> "ApiClient":
        return cls(url or os.environ.get(URL_VARIABLE) or DEFAULT_URL, os.environ.get(KEY_VARIABLE) or None)

    def close(self) -> None:
        self._http.close()

    def absolute(self, path_or_url: str) -> str:
        """A URL the service gave relative to its base (a frame's image_url), made absolute."""
        if "://" in path_or_url:
            return path_or_url
        return f"{self.base_url}/{path_or_url.lstrip('/')}"

    # The API's endpoints.

    def health(self) -> dict:
        # 503 still carries the health report, which says what is down.
        return self._json(self._send("GET", "/health"), accept=(200, 503))

    def analyze(self, body: dict) -> dict:
        return self._json(self._send("POST", "/analyze", json=body))

    def upload(self, path: Path, on_progress: Callable[[int], None] | None = None) -> dict:
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        try:
            handle = open(path, "rb")
        except OSError as exc:
            raise CliError(f"cannot read {path}: {exc.strerror}", errors.USAGE) from None
        with handle:
            reader = _CountingReader(handle, on_progress) if on_progress else handle
            response = self._send("POST", "/uploads", timeout=UPLOAD_TIMEOUT,
                                  files={"file": (path.name, reader, content_type)})
        return self._json(response)

    def task(self, task_id: str) -> dict:
        return self._json(self._send("GET", f"/tasks/{task_id}"))

    def tasks(self, limit: int) -> dict:
        return self._json(self._send("GET", "/tasks", params={"limit": limit}))

    def delete(self, task_id: str) -> dict:
        return self._json(self._send("DELETE", f"/tasks/{task_id}"))

    def ask(self, task_id: str, question: str) -> dict:
        response = self._send("POST", f"/tasks/{task_id}/ask", json={"question": question}, timeout=ASK_TIMEOUT)
        if response.status_code == 409:  # the task is not completed: the detail says its status
            raise CliError(f"the service refused the request: {detail_of(response)}", errors.REFUSED)
        return self._json(response)

    @contextlib.contextmanager
    def events(self, task_id: str) -> Iterator[httpx.Response]:
        """The task's event stream, unread, whatever its status; connection failures raise CliError."""
        with self._transport_errors(), self._http.stream(
                "GET", f"/tasks/{task_id}/events", headers={"Accept": "text/event-stream"},
                timeout=EVENTS_TIMEOUT) as response:
            yield response

    # Plumbing.

    def _send(self, method: str, path: str, **kwargs) -> httpx.Response:
        with self._transport_errors():
            return self._http.request(method, path, **kwargs)

    @contextlib.contextmanager
    def _transport_errors(self) -> Iterator[None]:
        try:
            yield
        except httpx.TimeoutException:
            raise CliError(f"the service at {self.base_url} did not answer in time", errors.UNREACHABLE,
                           transient=True) from None
        except (httpx.ConnectError, httpx.NetworkError) as exc:
            reason = str(exc) or type(exc).__name__
            raise CliError(f"cannot reach the service at {self.base_url} ({reason}); is it running? "
                           f"Set {URL_VARIABLE} to its address", errors.UNREACHABLE, transient=True) from None
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise CliError(f"{URL_VARIABLE} must be an http:// or https:// URL ({exc})", errors.USAGE) from None
        except httpx.HTTPError as exc:  # the connection broke mid-answer, or the answer was malformed
            raise CliError(f"the exchange with {self.base_url} failed: {exc or type(exc).__name__}",
                           errors.UNREACHABLE, transient=True) from None

    def _json(self, response: httpx.Response, accept: tuple[int, ...] = (200,)) -> dict:
        if response.status_code not in accept:
            raise self.error_for(response)
        try:
            body = response.json()
        except ValueError:
            raise CliError(f"the service answered {response.status_code} with something that is not JSON",
                           errors.SERVICE_ERROR) from None
        if not isinstance(body, dict):
            raise CliError("the service answered with an unexpected JSON shape", errors.SERVICE_ERROR)
        return body

    def error_for(self, response: httpx.Response) -> CliError:
        status, detail = response.status_code, detail_of(response)
        if status == 401:
            hint = f"check {KEY_VARIABLE}" if self.has_key else f"set {KEY_VARIABLE} to your API key"
            return CliError(f"not authorised: {detail} ({hint})", errors.UNAUTHORIZED)
        if status == 404:
            # The service's own detail ("Task … not found") says it already; a bare "Not Found" does not.
            says_it = "not found" in detail.lower() and detail.lower() != "not found"
            return CliError(detail if says_it else f"not found: {detail}", errors.NOT_FOUND)
        if status in (400, 413, 422):
            return CliError(f"the service refused the request: {detail}", errors.REFUSED)
        if status == 429:
            wait = response.headers.get("Retry-After")
            later = f"; try again in {wait} s" if wait else ""
            return CliError(f"the service is busy: {detail}{later}", errors.SERVICE_ERROR, transient=True)
        return CliError(f"the service failed (HTTP {status}): {detail}", errors.SERVICE_ERROR,
                        transient=status in (502, 503, 504))


class _CountingReader:
    """A binary file that reports how many bytes have been read, for an upload's progress bar.
    httpx sizes the body by fileno/seek/tell and reads it in chunks, so those are passed through."""

    def __init__(self, handle, on_progress: Callable[[int], None]):
        self._handle, self._on_progress, self._done = handle, on_progress, 0

    def read(self, size: int = -1) -> bytes:
        chunk = self._handle.read(size)
        self._done += len(chunk)
        self._on_progress(self._done)
        return chunk

    def seek(self, offset: int, whence: int = 0) -> int:
        position = self._handle.seek(offset, whence)
        self._done = position
        return position

    def tell(self) -> int:
        return self._handle.tell()

    def fileno(self) -> int:
        return self._handle.fileno()
