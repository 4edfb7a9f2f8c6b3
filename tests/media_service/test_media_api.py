"""The real service as a real process, fetching from a real HTTP server on 127.0.0.1."""

import time

import cv2
import httpx
import numpy as np
import pytest

from tests.support.processes import free_port, run_service
from tests.support.videos import DEFAULT_CUES

from .conftest import CLIP_SECONDS, WEBM_SECONDS

TIMEOUT = 60


def download(service: str, url: str, **extra) -> httpx.Response:
    return httpx.post(f"{service}/downloads", json={"url": url, **extra}, timeout=TIMEOUT)


def assert_one_line_error(response: httpx.Response, status: int = 422) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"detail", "retryable"}
    assert "\n" not in body["detail"] and "Traceback" not in body["detail"] and "\x1b" not in body["detail"]
    assert not body["detail"].count("ERROR:")
    return body["detail"]


def test_health(service):
    assert httpx.get(f"{service}/health").json() == {"status": "ok"}


def test_direct_mp4_download_is_described_and_cached(service, origin):
    url = f"{origin.base}/clip.mp4"
    first = download(service, url)
    assert first.status_code == 200, first.text
    result = first.json()
    assert result["video_info"]["duration"] == pytest.approx(CLIP_SECONDS, abs=0.5)
    assert result["video_info"]["channel"] == "127.0.0.1"
    assert result["video_info"]["title"] == "clip"
    assert result["webpage_url"] == url and result["extractor"] == "generic"
    gets = origin.gets["/clip.mp4"]

    started = time.monotonic()
    second = download(service, url)
    assert time.monotonic() - started < 1.0
    assert second.json() == result
    assert origin.gets["/clip.mp4"] == gets  # answered from the store, no second fetch


def test_page_with_video_and_track_gives_subtitles_and_transcript(service, origin):
    page = f"{origin.base}/page.html"
    response = download(service, page)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["video_info"]["title"] == "Colour Bars Demo"
    assert result["subtitles"] == [
        {"language": "en", "ext": "vtt", "url": f"{origin.base}/subs.vtt", "automatic": False}
    ]

    body = {"url": page, "subtitles": result["subtitles"], "languages": ["en"]}
    transcript = httpx.post(f"{service}/media/{result['media_id']}/transcript", json=body, timeout=TIMEOUT)
    assert transcript.status_code == 200, transcript.text
    data = transcript.json()
    assert data["source"] == "subtitles" and data["language"] == "en"
    assert data["text"] == " ".join(text for _, _, text in DEFAULT_CUES)
    assert [(s["start"], s["end"], s["text"]) for s in data["segments"]] == [tuple(c) for c in DEFAULT_CUES]


def test_no_transcript_is_not_an_error(service, origin):
    url = f"{origin.base}/clip.mp4"
    media_id = download(service, url).json()["media_id"]
    response = httpx.post(f"{service}/media/{media_id}/transcript", json={"url": url}, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    assert response.json() == {"text": None, "segments": [], "language": None, "source": None, "notes": []}


@pytest.mark.parametrize(("name", "seconds"), [("clip.mp4", CLIP_SECONDS), ("clip.webm", WEBM_SECONDS)])
def test_frames_are_evenly_spread_and_fetchable(service, origin, name, seconds):
    media_id = download(service, f"{origin.base}/{name}").json()["media_id"]
    response = httpx.post(f"{service}/media/{media_id}/frames", json={"max_frames": 5}, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    frames = response.json()["frames"]
    assert [f["index"] for f in frames] == [0, 1, 2, 3, 4]
    stamps = [f["timestamp"] for f in frames]
    assert stamps == sorted(stamps) and stamps[0] > 0 and stamps[-1] < seconds
    slice_ = seconds / 5
    for i, stamp in enumerate(stamps):
        assert stamp == pytest.approx((i + 0.5) * slice_, abs=0.1)
    for frame in frames:
        jpeg = httpx.get(f"{service}/media/{media_id}/frames/{frame['index']}.jpg")
        assert jpeg.status_code == 200 and jpeg.headers["content-type"] == "image/jpeg"
        image = cv2.imdecode(np.frombuffer(jpeg.content, np.uint8), cv2.IMREAD_COLOR)
        assert image.shape[:2] == (frame["height"], frame["width"]) == (360, 640)

    again = httpx.post(f"{service}/media/{media_id}/frames", json={"max_frames": 5}, timeout=TIMEOUT)
    assert again.json()["frames"] == frames
    assert httpx.get(f"{service}/media/{media_id}/frames/5.jpg").status_code == 404


def test_unknown_media(service):
    missing = "0" * 32
    assert httpx.post(f"{service}/media/{missing}/frames", json={"max_frames": 3}).status_code == 404
    assert httpx.get(f"{service}/media/{missing}/frames/0.jpg").status_code == 404
    assert httpx.get(f"{service}/media/../../etc/frames/0.jpg").status_code == 404
    assert httpx.delete(f"{service}/media/not-an-id").status_code == 404
    assert httpx.post(f"{service}/media/{missing}/frames", json={"max_frames": 0}).status_code == 422


def test_delete_removes_the_media(service, origin, site):
    (site / "gone.mp4").write_bytes((site / "clip.mp4").read_bytes())
    url = f"{origin.base}/gone.mp4"
    media_id = download(service, url).json()["media_id"]
    gets_per_download = origin.gets["/gone.mp4"]  # yt-dlp probes a direct file before fetching it
    httpx.post(f"{service}/media/{media_id}/frames", json={"max_frames": 2}, timeout=TIMEOUT)
    assert httpx.delete(f"{service}/media/{media_id}").status_code == 204
    assert httpx.get(f"{service}/media/{media_id}/frames/0.jpg").status_code == 404
    assert httpx.delete(f"{service}/media/{media_id}").status_code == 404
    assert download(service, url).status_code == 200  # fetched again, not half-remembered
    assert origin.gets["/gone.mp4"] == 2 * gets_per_download


def test_missing_video_is_a_permanent_error_naming_404(service, origin):
    url = f"{origin.base}/missing.mp4"
    detail = assert_one_line_error(download(service, url))
    assert detail.startswith("download failed: HTTP Error 404")
    assert url in detail


@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1/clip.mp4", "file:///etc/passwd", "javascript:alert(1)", "clip"]
)
def test_unsupported_schemes_are_refused(service, url):
    detail = assert_one_line_error(download(service, url))
    assert "not supported" in detail or "no host" in detail


def test_page_without_a_video_is_an_unsupported_url(service, origin):
    response = download(service, f"{origin.base}/article.html")
    detail = assert_one_line_error(response)
    assert response.json()["retryable"] is False
    assert "Unsupported URL" in detail and f"{origin.base}/article.html" in detail


def test_proxy_not_allowed(service, origin):
    response = download(service, f"{origin.base}/clip.mp4", proxy="socks5://127.0.0.1:9050")
    assert "ALLOWED_PROXIES" in assert_one_line_error(response)


def test_unreadable_file_is_refused(service, origin):
    detail = assert_one_line_error(download(service, f"{origin.base}/x.mp4"))
    assert detail == f"download failed: the file from {origin.base}/x.mp4 is not a readable video"


def test_bad_request_body_is_one_line_422(service):
    response = httpx.post(f"{service}/downloads", json={"proxy": None})
    assert "url" in assert_one_line_error(response)


def test_relative_media_dir_as_make_run_uses_it(tmp_path, origin):
    """`make run` keeps media under ./var/media: a relative MEDIA_DIR must work from any working dir."""
    settings = {"MEDIA_DIR": "var/media", "EGRESS_ALLOW_CIDRS": "127.0.0.1/32", "LOG_LEVEL": "WARNING"}
    with run_service("media_service.app:create_app", free_port(), env=settings, cwd=tmp_path) as (base, _):
        response = download(base, f"{origin.base}/clip.mp4")
        assert response.status_code == 200, response.text
        media_id = response.json()["media_id"]
    assert (tmp_path / "var" / "media" / media_id / "record.json").is_file()
