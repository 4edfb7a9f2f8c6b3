"""POST /uploads: a file sent to the service is analysed like a download (upload://<id>)."""

import httpx
import pytest

from tests.support.videos import make_video

from .test_media_api import TIMEOUT, assert_one_line_error, download


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory):
    return make_video(tmp_path_factory.mktemp("uploads") / "Holiday Clip.v2.mp4", seconds=3)


def upload(service: str, name: str, data: bytes) -> httpx.Response:
    return httpx.post(f"{service}/uploads", files={"file": (name, data, "video/mp4")}, timeout=TIMEOUT)


def test_uploaded_video_downloads_at_once_and_gives_frames(service, short_clip):
    data = short_clip.read_bytes()
    response = upload(service, "../../Holiday Clip.v2.mp4", data)
    assert response.status_code == 200, response.text
    uploaded = response.json()
    upload_id = uploaded["upload_id"]
    assert uploaded == {
        "upload_id": upload_id,
        "url": f"upload://{upload_id}",
        "filename": "Holiday Clip.v2.mp4",
        "size_bytes": len(data),
    }

    result = download(service, uploaded["url"], job_id="upload-job")
    assert result.status_code == 200, result.text
    body = result.json()
    assert body["media_id"] == upload_id and body["extractor"] == "upload" and body["filesize"] == len(data)
    assert body["video_info"]["title"] == "Holiday Clip.v2"
    assert body["video_info"]["channel"] is None
    assert body["video_info"]["duration"] == pytest.approx(3.0, abs=0.2)
    assert httpx.get(f"{service}/downloads/upload-job/progress").json()["state"] == "done"

    frames = httpx.post(f"{service}/media/{upload_id}/frames", json={"max_frames": 3}, timeout=TIMEOUT)
    assert frames.status_code == 200, frames.text
    assert 1 <= len(frames.json()["frames"]) <= 3
    image = httpx.get(f"{service}/media/{upload_id}/frames/0.jpg")
    assert image.status_code == 200 and image.content.startswith(b"\xff\xd8")

    transcript = httpx.post(f"{service}/media/{upload_id}/transcript", json={"url": uploaded["url"]}, timeout=TIMEOUT)
    assert transcript.status_code == 200, transcript.text


def test_not_a_video_is_422_after_it_arrives(service):
    detail = assert_one_line_error(upload(service, "notes.mp4", b"just some text, not a video\n" * 1000))
    assert detail == "upload failed: notes.mp4 is not a readable video"
    assert assert_one_line_error(upload(service, "empty.mp4", b"")) == "upload failed: empty.mp4 is empty"


def test_truncated_video_is_422(service, short_clip):
    data = short_clip.read_bytes()
    assert "not a readable video" in assert_one_line_error(upload(service, "cut.mp4", data[: len(data) // 3]))


def test_unknown_upload_is_422(service):
    missing = "0" * 32
    detail = assert_one_line_error(download(service, f"upload://{missing}"))
    assert detail == f"download failed: upload {missing} not found"
    assert "not found" in assert_one_line_error(download(service, "upload://../../etc"))


def test_upload_needs_a_multipart_file_field(service):
    assert "multipart/form-data" in assert_one_line_error(httpx.post(f"{service}/uploads", content=b"raw"))
    other_field = httpx.post(f"{service}/uploads", files={"video": ("a.mp4", b"data")}, timeout=TIMEOUT)
    assert "no field named 'file'" in assert_one_line_error(other_field)
