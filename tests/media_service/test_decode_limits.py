"""Hostile media against a real media service: decoding of one request is bounded (frames, pixels,
memory, time) and fails with one clear line; a decode stops when its caller hangs up; and heavy
decodes never keep /health or an upload waiting. The files are made at test time (support/hostile_media)."""

import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import httpx
import pytest

from tests.support.hostile_media import peak_rss_mb, tiny_frames_gif
from tests.support.polling import wait_until
from tests.support.processes import descendants
from tests.support.videos import make_video

from .conftest import media_service_process

FAST_S = 1.0  # what /health may take while heavy decodes run
UPLOAD_FAST_S = 2.0  # an upload starts a probe process: ~0.2 s on an idle machine, more on a busy one
STOP_WITHIN_S = 2.0  # from a hang-up to its decode process gone
TIME_LIMIT_S = 3  # DECODE_TIMEOUT_S of the time-limited service


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    return {
        # 138 KB that decode to 100,000 megapixels: about 50 s of one core without limits.
        "canvas": tiny_frames_gif(root / "canvas.gif", 4096, 4096, 6000),
        "frames": tiny_frames_gif(root / "frames.gif", 64, 64, 6000),
        # 3000 frames of 655 s each: the file says it lasts 23 days.
        "eternal": tiny_frames_gif(root / "eternal.gif", 4096, 4096, 3000, delay_cs=65535),
        # One frame of 16000x16000: a gigabyte for the decoder's canvas alone.
        "huge": tiny_frames_gif(root / "huge.gif", 16000, 16000, 1),
        "clip": make_video(root / "clip.mp4", seconds=1, size="160x90", fps=10),
    }


@pytest.fixture(scope="module")
def budgeted(tmp_path_factory):
    """Small budgets, so that each is reached in a second or two; long videos allowed."""
    limits = {"DECODE_MAX_FRAMES": "500", "DECODE_MAX_MEGAPIXELS": "1000", "DECODE_MAX_MEMORY_MB": "1024",
              "MAX_DURATION_S": "1e9"}
    with media_service_process(tmp_path_factory.mktemp("budgeted"), **limits) as running:
        yield running


@pytest.fixture(scope="module")
def time_limited(tmp_path_factory):
    """The default budgets (the canvas GIF is within them for ~6 s), a short time limit, one decode at once."""
    limits = {"DECODE_TIMEOUT_S": str(TIME_LIMIT_S), "DECODE_CONCURRENCY": "1"}
    with media_service_process(tmp_path_factory.mktemp("time-limited"), **limits) as running:
        yield running


def upload(base: str, path) -> httpx.Response:
    return httpx.post(f"{base}/uploads", files={"file": (path.name, path.read_bytes())}, timeout=30)


def uploaded(base: str, path) -> str:
    response = upload(base, path)
    assert response.status_code == 200, response.text
    return response.json()["upload_id"]


def frames(base: str, media_id: str, strategy: str = "scenes") -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = httpx.post(f"{base}/media/{media_id}/frames", json={"max_frames": 8, "strategy": strategy},
                          timeout=60)
    return response, time.monotonic() - started


def open_frames_request(base: str, media_id: str) -> socket.socket:
    """A frames request sent on a socket of its own, left unread: closing the socket hangs up."""
    address = urlsplit(base)
    body = b'{"max_frames": 8}'
    head = (f"POST /media/{media_id}/frames HTTP/1.1\r\nHost: {address.netloc}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    connection = socket.create_connection((address.hostname, address.port), timeout=10)
    connection.sendall(head.encode() + body)
    return connection


def assert_refused(response: httpx.Response, detail: str) -> None:
    assert response.status_code == 422, response.text
    assert response.json() == {"detail": detail, "retryable": False}


def test_a_huge_canvas_of_one_pixel_frames_stops_at_the_pixel_budget(budgeted, hostile):
    base, service = budgeted
    response, took = frames(base, uploaded(base, hostile["canvas"]))
    assert_refused(response, "frame extraction failed: the video needs more than 1000 megapixels decoded "
                             "(DECODE_MAX_MEGAPIXELS; 60 frames of 4096x4096 so far)")
    assert took < 10
    assert descendants(service.pid) == []


def test_thousands_of_tiny_frames_stop_at_the_frame_budget(budgeted, hostile):
    base, _ = budgeted
    response, took = frames(base, uploaded(base, hostile["frames"]))
    assert_refused(response, "frame extraction failed: the video needs more than 500 decoded frames "
                             "(DECODE_MAX_FRAMES)")
    assert took < 10


def test_an_absurd_declared_duration_is_bounded_the_same_way(budgeted, hostile):
    base, _ = budgeted
    media_id = uploaded(base, hostile["eternal"])
    for strategy in ("uniform", "scenes"):
        response, took = frames(base, media_id, strategy)
        assert_refused(response, "frame extraction failed: the video needs more than 1000 megapixels decoded "
                                 "(DECODE_MAX_MEGAPIXELS; 60 frames of 4096x4096 so far)")
        assert took < 10


def test_a_canvas_too_large_for_the_memory_cap_is_refused_outside_the_service(budgeted, hostile):
    base, service = budgeted
    response = upload(base, hostile["huge"])
    assert_refused(response, "probing the upload failed: decoding needs more than 1024 MB (DECODE_MAX_MEMORY_MB)")
    # The gigabyte canvas was never the service's own memory.
    assert peak_rss_mb(service.pid) < 700


def test_decoding_past_the_time_limit_fails_with_one_clear_line(time_limited, hostile):
    base, service = time_limited
    response, took = frames(base, uploaded(base, hostile["canvas"]))
    assert_refused(response, f"frame extraction timed out after {TIME_LIMIT_S} s (DECODE_TIMEOUT_S)")
    assert TIME_LIMIT_S <= took < TIME_LIMIT_S + 3
    assert descendants(service.pid) == []


def decoding(service) -> list[int]:
    wait_until(lambda: descendants(service.pid), 10, "no decode process started")
    return descendants(service.pid)


def test_a_caller_that_hangs_up_stops_its_decode_within_two_seconds(time_limited, hostile):
    base, service = time_limited
    media_id = uploaded(base, hostile["canvas"])
    connection = open_frames_request(base, media_id)
    worker = decoding(service)
    connection.close()
    gone = wait_until(lambda: not descendants(service.pid), STOP_WITHIN_S, "the decode outlived its caller")
    print(f"\ndecode process {worker} gone {gone:.2f} s after its caller hung up")
    assert not any(os.path.exists(f"/proc/{pid}") for pid in worker)


def test_health_and_uploads_stay_fast_while_heavy_decodes_run(time_limited, hostile):
    base, service = time_limited
    media_id = uploaded(base, hostile["canvas"])
    # More heavy requests than the service has threads: none of them may hold one.
    callers = [open_frames_request(base, media_id) for _ in range(min(32, (os.cpu_count() or 1) + 4) + 2)]
    try:
        time.sleep(1.0)  # every request is in by now, one of them decoding
        with ThreadPoolExecutor(2) as pool:
            health = pool.submit(timed, lambda: httpx.get(f"{base}/health", timeout=10))
            small = pool.submit(timed, lambda: upload(base, hostile["clip"]))
            (health_answer, health_s), (upload_answer, upload_s) = health.result(), small.result()
        assert health_answer.status_code == 200 and upload_answer.status_code == 200, upload_answer.text
        print(f"\nwhile {len(callers)} heavy decodes were asked for: /health {health_s:.2f} s, upload {upload_s:.2f} s")
        assert health_s < FAST_S and upload_s < UPLOAD_FAST_S
    finally:
        for caller in callers:
            caller.close()
    wait_until(lambda: not descendants(service.pid), STOP_WITHIN_S + 1, "decodes outlived their callers")


def timed(call):
    started = time.monotonic()
    answer = call()
    return answer, time.monotonic() - started
