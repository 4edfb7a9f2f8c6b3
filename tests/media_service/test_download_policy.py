"""Size, duration and audio-only limits of real downloads, with a strict service:
MAX_DOWNLOAD_MB=1, MAX_DURATION_S=4, MAX_UPLOAD_MB=1."""

import subprocess

import httpx
import pytest

from tests.support.videos import FFMPEG, make_video

from .conftest import media_service
from .download_fixtures import policy_origin
from .test_media_api import assert_one_line_error, download


@pytest.fixture(scope="module")
def policy_site(tmp_path_factory):
    root = tmp_path_factory.mktemp("policy-site")
    make_video(root / "small.mp4", seconds=6, size="160x90")  # ~200 kB, over the 4 s limit
    (root / "big.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(2 * 2**20))  # 2 MB, never read as video
    args = [FFMPEG, "-y", "-loglevel", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=3"]
    subprocess.run([*args, str(root / "tone.m4a")], check=True, timeout=60)
    return root


@pytest.fixture(scope="module")
def policy_server(policy_site):
    with policy_origin(policy_site) as server:
        yield server


@pytest.fixture(scope="module")
def strict_service(tmp_path_factory):
    limits = {"MAX_DOWNLOAD_MB": "1", "MAX_DURATION_S": "4", "MAX_UPLOAD_MB": "1"}
    with media_service(tmp_path_factory.mktemp("strict-media"), EGRESS_ALLOW_CIDRS="127.0.0.1/32", **limits) as base:
        yield base


def test_announced_size_over_the_cap_is_refused(strict_service, policy_server):
    # yt-dlp skips such a file without an error; the service must say why there is no video.
    detail = assert_one_line_error(download(strict_service, f"{policy_server.base}/big.mp4"))
    assert detail == "download failed: the video is larger than MAX_DOWNLOAD_MB (1 MB)"


def test_unannounced_size_is_capped_while_downloading(strict_service, policy_server):
    detail = assert_one_line_error(download(strict_service, f"{policy_server.base}/chunked/big.mp4"))
    assert detail == "download failed: the video is larger than MAX_DOWNLOAD_MB (1 MB)"


def test_unknown_duration_is_checked_from_the_file(strict_service, policy_server):
    # A direct file says nothing of its duration until it is read.
    detail = assert_one_line_error(download(strict_service, f"{policy_server.base}/small.mp4"))
    assert detail == "download failed: the video is 0:00:06 long; the limit is 0:00:04 (MAX_DURATION_S)"
    # Nothing was kept: the same URL asked again is refused again, not served from the store.
    assert assert_one_line_error(download(strict_service, f"{policy_server.base}/small.mp4")) == detail


def test_audio_only_is_refused(service, policy_server):
    url = f"{policy_server.base}/tone.m4a"
    detail = assert_one_line_error(download(service, url))
    assert "no video stream" in detail


def test_audio_only_served_as_unknown_type_is_refused_from_the_file(service, policy_server):
    detail = assert_one_line_error(download(service, f"{policy_server.base}/chunked/tone.m4a"))
    assert "no video stream" in detail


def test_upload_over_the_cap_is_413(strict_service, policy_site):
    data = (policy_site / "big.mp4").read_bytes()
    response = httpx.post(f"{strict_service}/uploads", files={"file": ("big.mp4", data)}, timeout=60)
    detail = assert_one_line_error(response, 413)
    assert detail == "upload failed: the file is larger than MAX_UPLOAD_MB (1 MB)"


def test_streamed_upload_over_the_cap_is_413_without_content_length(strict_service):
    boundary = "policy-test-boundary"

    def body():
        yield f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n\r\n'.encode()
        for _ in range(12):
            yield bytes(256 * 1024)  # 3 MB in all, of which the service reads a little over 1 MB
        yield f"\r\n--{boundary}--\r\n".encode()

    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    response = httpx.post(f"{strict_service}/uploads", content=body(), headers=headers, timeout=60)
    assert_one_line_error(response, 413)


def test_uploaded_video_over_the_duration_limit_is_refused(strict_service, policy_site):
    data = (policy_site / "small.mp4").read_bytes()
    response = httpx.post(f"{strict_service}/uploads", files={"file": ("small.mp4", data)}, timeout=60)
    assert "MAX_DURATION_S" in assert_one_line_error(response)
