"""Limits that keep one request from using up the host, checked on a real service, and the per-job
work directory removed whatever way a download ends. (Covered elsewhere: the byte cap with and
without Content-Length in test_download_policy.py, DOWNLOAD_TIMEOUT_S on a stalled origin in
test_egress_service.py, cancellation in test_download_cancel.py.)

The service: SOCKET_TIMEOUT_S=1, DOWNLOAD_TIMEOUT_S=8, MAX_DURATION_S=1, default FRAME_MAX_SIDE."""

import time

import cv2
import httpx
import numpy as np
import pytest

from tests.support.videos import make_video

from .ssrf_fixtures import TIMEOUT, guarded_service, hop_origin, make_media

DOWNLOAD_TIMEOUT_S = 8
FRAME_MAX_SIDE = 1120  # MediaSettings.frame_max_side's default


@pytest.fixture(scope="module")
def limits_site(tmp_path_factory):
    root = make_media(tmp_path_factory.mktemp("limits-site"))  # hls/local.m3u8 is 2 s long
    make_video(root / "eight-k.mp4", seconds=1, size="7680x4320", fps=2)
    make_video(root / "second.mp4", seconds=1, size="160x90")
    vod = (root / "hls" / "local.m3u8").read_text()
    live = "\n".join(line for line in vod.splitlines() if line not in ("#EXT-X-ENDLIST", "#EXT-X-PLAYLIST-TYPE:VOD"))
    (root / "hls" / "live.m3u8").write_text(live + "\n")
    (root / "two-videos.html").write_text(
        "<!doctype html><html><head><title>Two</title></head><body>"
        '<video src="eight-k.mp4"></video><video src="second.mp4"></video></body></html>'
    )
    (root / "padding.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(12 * 2**20))
    return root


@pytest.fixture(scope="module")
def origin(limits_site):
    with hop_origin(limits_site) as server:
        yield server


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    limits = {"SOCKET_TIMEOUT_S": "1", "DOWNLOAD_TIMEOUT_S": str(DOWNLOAD_TIMEOUT_S), "MAX_DURATION_S": "1"}
    tmp = tmp_path_factory.mktemp("limits")
    with guarded_service(tmp, EGRESS_ALLOW_CIDRS="127.0.0.1/32", **limits) as running:
        yield running


@pytest.fixture(autouse=True)
def work_dirs_are_removed(service):
    """Every test here ends a download some way (success, refusal, failure, time-out): none may
    leave its work directory behind."""
    yield
    assert list((service.media_dir / ".work").iterdir()) == []
    assert service.breaches() == []


def segment_gets(origin) -> int:
    return sum(n for path, n in origin.gets.items() if path.endswith(".ts"))


def test_known_duration_over_the_limit_is_refused_before_downloading(service, origin):
    response = service.download(f"{origin.base}/hls/local.m3u8")
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail == "download failed: the video is 0:00:02 long; the limit is 0:00:01 (MAX_DURATION_S)"
    assert segment_gets(origin) == 0


def test_live_stream_is_refused_before_downloading(service, origin):
    response = service.download(f"{origin.base}/hls/live.m3u8")
    assert response.status_code == 422, response.text
    assert response.json()["detail"] == "download failed: live streams cannot be analysed"
    assert segment_gets(origin) == 0


def test_a_page_with_several_videos_gives_its_first_only(service, origin):
    response = service.download(f"{origin.base}/two-videos.html")
    assert response.status_code == 200, response.text
    assert origin.gets.get("/eight-k.mp4", 0) >= 1 and origin.gets.get("/second.mp4", 0) == 0


def test_huge_frames_are_scaled_down_before_analysis(service, origin):
    media_id = service.download(f"{origin.base}/eight-k.mp4").json()["media_id"]
    frames = httpx.post(f"{service.base}/media/{media_id}/frames", json={"max_frames": 2}, timeout=TIMEOUT)
    assert frames.status_code == 200, frames.text
    jpeg = httpx.get(f"{service.base}/media/{media_id}/frames/0.jpg", timeout=TIMEOUT)
    image = cv2.imdecode(np.frombuffer(jpeg.content, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape[:2] == (630, FRAME_MAX_SIDE)


def test_an_origin_that_stalls_is_cut_off_by_the_socket_timeout(service, origin):
    # /slow.mp4 sends 1 kB of an announced 10 MB, then nothing for 20 s.
    started = time.monotonic()
    response = service.download(f"{origin.base}/slow.mp4")
    elapsed = time.monotonic() - started
    assert response.status_code in (422, 502, 504), response.text
    assert "timed out after" not in response.json()["detail"]  # not the whole-download limit
    assert elapsed < DOWNLOAD_TIMEOUT_S, elapsed


def test_an_origin_that_trickles_is_cut_off_by_the_download_timeout(service, origin):
    # About 1 MB/s, never a second's silence: only DOWNLOAD_TIMEOUT_S stops the 12 MB.
    response = service.download(f"{origin.base}/throttled/padding.mp4")
    assert response.status_code == 504, response.text
    assert response.json()["detail"] == f"download timed out after {DOWNLOAD_TIMEOUT_S} s"


def test_a_failed_download_leaves_nothing(service, origin):
    response = service.download(f"{origin.base}/status/404/clip.mp4")
    assert response.status_code in (404, 422, 502), response.text


def test_a_refused_destination_leaves_nothing(service):
    assert service.download("http://127.0.0.2:9/clip.mp4").status_code == 422
