"""Transient failures of a model server or the media service are retried with capped, jittered backoff
that honours Retry-After; permanent ones fail at once; exhausted retries raise the last error.

The model side runs against the fault-injecting OpenAI server as its own process, the media side against
a small fault-injecting fake of the media service's frames endpoint."""

import asyncio
import itertools
import json
import math
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import httpx
import pytest

from orchestrator.clients.media import MediaClient
from orchestrator.clients.models import ModelClient
from orchestrator.config import ModelEndpoint
from service_common.contracts import FramesRequest
from service_common.errors import PermanentError, TransientError
from service_common.http import _retry_after, longest_retry_wait, request_json, retry_wait, with_retries
from tests.support.fault_injecting_openai import MODEL

WHAT = "vision model failed"


def chat(fs, call_timeout_s: float = 5.0) -> tuple[str, float]:
    """One ModelClient.chat against the fault server; (reply, seconds it took)."""

    async def call() -> str:
        async with httpx.AsyncClient() as http:
            client = ModelClient(http, per_endpoint=2, call_timeout_s=call_timeout_s)
            return await client.chat(ModelEndpoint(base_url=fs.base_url, model=MODEL),
                                     [{"role": "user", "content": "hi"}], WHAT)

    started = time.monotonic()
    reply = asyncio.run(call())
    return reply, time.monotonic() - started


def settled_stats(fs, timeout: float = 5.0) -> dict:
    """The server's counters once no request is in flight (it notices a client leaving asynchronously)."""
    deadline = time.monotonic() + timeout
    while (stats := fs.stats())["in_flight"] and time.monotonic() < deadline:
        time.sleep(0.05)
    return stats


# --- model server ---------------------------------------------------------------------------------


def test_a_429_is_retried_after_its_retry_after(fs):
    fs.control(faults=[{"status": 429, "retry_after": "2"}])
    reply, elapsed = chat(fs)
    assert reply == "A frame of a test video."
    assert fs.stats()["requests"] == 2
    assert elapsed >= 1.95  # the server's 2 s, not the first backoff step (at most 1.5 s)


def test_a_retry_after_given_as_an_http_date_is_honoured(fs):
    # Whole seconds only: three seconds ahead is more than two seconds of waiting, longer than the
    # first backoff step could be (at most 1.5 s).
    fs.control(faults=[{"status": 503, "retry_after": formatdate(time.time() + 3, usegmt=True)}])
    reply, elapsed = chat(fs)
    assert reply and fs.stats()["requests"] == 2
    assert 1.9 <= elapsed < 4


def test_a_503_then_a_reset_then_success(fs):
    fs.control(faults=[{"status": 503}, {"reset": True}])
    reply, _ = chat(fs)
    assert reply == "A frame of a test video."
    stats = fs.stats()
    assert stats["requests"] == 3 and stats["answered"] == 2 and stats["queued_faults"] == 0


@pytest.mark.parametrize("status", [400, 404])
def test_a_permanent_answer_fails_at_once(fs, status):
    fs.control(faults=[{"status": status}])
    with pytest.raises(PermanentError, match=f"^{WHAT}: injected HTTP {status}$") as caught:
        chat(fs)
    assert caught.value.status == status
    assert fs.stats()["requests"] == 1


def test_exhausted_retries_raise_the_last_error(fs):
    fs.control(faults=[{"status": 503}] * 3)
    started = time.monotonic()
    with pytest.raises(TransientError, match=f"^{WHAT}: injected HTTP 503$"):
        chat(fs)
    assert fs.stats()["requests"] == 3
    assert time.monotonic() - started < longest_retry_wait() + 2


def test_the_error_raised_is_the_last_one_not_the_first(fs):
    fs.control(faults=[{"reset": True}, {"status": 429}, {"status": 502}])
    with pytest.raises(TransientError, match=f"^{WHAT}: injected HTTP 502$"):
        chat(fs)
    assert fs.stats()["requests"] == 3


def test_a_hung_call_is_cut_off_at_its_deadline_and_its_connection_closed(fs):
    fs.control(faults=[{"hang": True}])
    reply, elapsed = chat(fs, call_timeout_s=0.5)
    assert reply == "A frame of a test video."
    assert 0.5 <= elapsed < 0.5 + longest_retry_wait(2) + 2
    stats = settled_stats(fs)
    assert stats["requests"] == 2
    assert stats["disconnected"] == 1 and stats["in_flight"] == 0  # the abandoned request's socket was closed


def test_a_server_that_never_answers_fails_within_a_bound(fs):
    fs.control(faults=[{"hang": True}] * 3)
    started = time.monotonic()
    with pytest.raises(TransientError, match=f"^{WHAT}: no answer"):
        chat(fs, call_timeout_s=0.5)
    assert time.monotonic() - started < 3 * 0.5 + longest_retry_wait() + 2
    stats = settled_stats(fs)
    assert stats["requests"] == 3 and stats["disconnected"] == 3 and stats["in_flight"] == 0


def test_a_call_waiting_to_retry_does_not_hold_the_endpoints_slot(fs):
    fs.control(faults=[{"status": 429, "retry_after": "2"}])

    async def both() -> float:
        async with httpx.AsyncClient() as http:
            client = ModelClient(http, per_endpoint=1, call_timeout_s=5)
            endpoint = ModelEndpoint(base_url=fs.base_url, model=MODEL)
            backing_off = asyncio.create_task(client.chat(endpoint, [{"role": "user", "content": "a"}], WHAT))
            while fs.stats()["requests"] < 1:  # the first call has had its 429
                await asyncio.sleep(0.02)
            started = time.monotonic()
            await client.chat(endpoint, [{"role": "user", "content": "b"}], WHAT)
            other = time.monotonic() - started
            await backing_off
            return other

    assert asyncio.run(both()) < 1.0  # not the other call's 2 s Retry-After
    assert fs.stats()["requests"] == 3


def test_a_huge_retry_after_is_capped_on_the_wire(fs):
    fs.control(faults=[{"status": 429, "retry_after": "3600"}])

    async def call() -> httpx.Response:
        async with httpx.AsyncClient() as http:
            return await with_retries(lambda: request_json(http, "POST", fs.base_url + "/chat/completions", WHAT,
                                                           json={"model": MODEL, "messages": []}), max_wait=0.3)

    started = time.monotonic()
    assert asyncio.run(call()).status_code == 200
    assert time.monotonic() - started < 3
    assert fs.stats()["requests"] == 2


# --- the wait between attempts --------------------------------------------------------------------


def hinted(value: str | None) -> float | None:
    headers = {"Retry-After": value} if value is not None else {}
    return _retry_after(httpx.Response(503, headers=headers))


def test_retry_after_in_seconds_and_as_an_http_date():
    assert hinted("7") == 7.0
    assert hinted(" 2.5 ") == 2.5
    # HTTP-dates in each zone spelling formatdate has ("GMT", "-0000" meaning UTC, a local offset).
    for spelling in ({"usegmt": True}, {}, {"localtime": True}):
        assert hinted(formatdate(time.time() + 30, **spelling)) == pytest.approx(30, abs=1.5)


@pytest.mark.parametrize("value", [None, "", "soon", "-5", "nan", "inf", "Wed, 99 Foo 2015 07:28:00 GMT",
                                   "Wed, 21 Oct 2015 07:28:00 GMT"])  # the last one is long past
def test_unusable_retry_after_is_ignored(value):
    assert hinted(value) is None


def state(attempt: int, retry_after: float | None = None) -> SimpleNamespace:
    """Enough of tenacity's RetryCallState for a wait function: the failed attempt's number and error."""
    error = TransientError("busy", retry_after=retry_after)
    return SimpleNamespace(attempt_number=attempt, outcome=SimpleNamespace(exception=lambda: error))


def test_backoff_is_exponential_jittered_and_capped():
    wait = retry_wait(max_wait=10)
    for attempt in (1, 2, 3):
        samples = [wait(state(attempt)) for _ in range(200)]
        floor = 0.5 * 2 ** (attempt - 1)
        assert all(floor <= s <= floor + 1 for s in samples)
        assert len(set(samples)) > 100  # jittered, not one fixed delay for every client
    assert all(wait(state(attempt)) == 10 for attempt in (6, 20, 2000))


def test_retry_after_is_honoured_but_never_beyond_the_cap():
    wait = retry_wait(max_wait=10)
    assert all(wait(state(1, retry_after=3)) == 3 for _ in range(50))
    assert wait(state(1, retry_after=3600)) == wait(state(1, retry_after=float(10**9))) == 10
    # A backoff already longer than the hint stays; a zero hint does not mean "hammer it".
    assert all(wait(state(3, retry_after=0)) >= 2 for _ in range(50))
    assert retry_wait(max_wait=0.2)(state(1, retry_after=30)) == 0.2


def test_longest_retry_wait_bounds_every_wait():
    for max_wait, hint in itertools.product((0.3, 2, 10), (None, 1, 3600)):
        wait = retry_wait(max_wait)
        worst = max(sum(wait(state(n, hint)) for n in (1, 2)) for _ in range(100))
        assert worst <= longest_retry_wait(3, max_wait, retry_after=hint or 0)
        assert worst <= longest_retry_wait(3, max_wait, retry_after=math.inf) == 2 * max_wait


# --- media service --------------------------------------------------------------------------------

FRAMES = {"frames": [{"index": 0, "timestamp": 1.0, "width": 640, "height": 360}], "strategy": "uniform"}


class FaultInjectingMediaFake(BaseHTTPRequestHandler):
    """The media service's frames endpoint, misbehaving per media id: `x` answers 503 (Retry-After: 0),
    then drops the connection, then answers; `gone` is 404; `bad` is 400; `down` is always 503."""

    requests: dict[str, int] = {}
    lock = threading.Lock()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        media_id = self.path.split("/")[2]
        with self.lock:
            seen = self.requests[media_id] = self.requests.get(media_id, 0) + 1
        if media_id == "x" and seen == 1:
            self._send(503, {"detail": "frame extraction failed: busy", "retryable": True}, {"Retry-After": "0"})
        elif media_id == "x" and seen == 2:
            self.close_connection = True  # no answer at all, as when the service restarts mid-request
        elif media_id == "x":
            self._send(200, FRAMES)
        elif media_id == "gone":
            self._send(404, {"detail": "frame extraction failed: no such media", "retryable": False})
        elif media_id == "bad":
            self._send(400, {"detail": "frame extraction failed: the file is not a video"})
        else:
            self._send(503, {"detail": f"frame extraction failed: busy ({seen})"})

    def _send(self, status: int, payload: dict, headers: dict | None = None) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        for name, value in {"Content-Length": str(len(body)), **(headers or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def media():
    FaultInjectingMediaFake.requests = {}
    server = ThreadingHTTPServer(("127.0.0.1", 0), FaultInjectingMediaFake)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def frames(base_url: str, media_id: str):
    async def call():
        async with httpx.AsyncClient() as http:
            return await MediaClient(http, base_url).frames(media_id, FramesRequest(max_frames=4), timeout_s=5)

    return asyncio.run(call())


def test_media_503_and_a_dropped_connection_are_retried(media):
    result = frames(media, "x")
    assert [f.index for f in result.frames] == [0]
    assert FaultInjectingMediaFake.requests == {"x": 3}


@pytest.mark.parametrize("media_id, status", [("gone", 404), ("bad", 400)])
def test_media_permanent_answers_fail_at_once(media, media_id, status):
    with pytest.raises(PermanentError, match="^frame extraction failed: ") as caught:
        frames(media, media_id)
    assert caught.value.status == status
    assert FaultInjectingMediaFake.requests == {media_id: 1}


def test_media_exhausted_retries_raise_the_last_error(media):
    with pytest.raises(TransientError, match=r"^frame extraction failed: busy \(3\)$"):
        frames(media, "down")
    assert FaultInjectingMediaFake.requests == {"down": 3}
