"""GET /media and DELETE /media/{id}?unused_since=: sizes, last use and busy media, on a real service."""

import shutil
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.support.videos import make_video, write_vtt

from .conftest import media_service
from .slow_origin import slow_origin
from .test_media_api import TIMEOUT, download


@pytest.fixture(scope="module")
def keep_site(tmp_path_factory):
    root = tmp_path_factory.mktemp("keep-site")
    make_video(root / "sound.mp4", seconds=4, with_audio=True)
    for name in ("listed.mp4", "used.mp4", "old.mp4", "busy.mp4"):
        (root / name).write_bytes((root / "sound.mp4").read_bytes())
    write_vtt(root / "subs.vtt")
    return root


@pytest.fixture(scope="module")
def origin(keep_site):
    with slow_origin(keep_site) as server:
        yield server


@pytest.fixture(scope="module")
def own_service(tmp_path_factory):
    """A service of its own, so that its listing holds only what these tests stored."""
    media_dir = tmp_path_factory.mktemp("keep-media")
    with media_service(media_dir, EGRESS_ALLOW_CIDRS="127.0.0.1/32") as base:
        yield base, media_dir


def stored(base: str, url: str) -> str:
    response = download(base, url)
    assert response.status_code == 200, response.text
    return response.json()["media_id"]


def listing(base: str) -> dict:
    response = httpx.get(f"{base}/media", timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return response.json()


def entry(base: str, media_id: str) -> dict | None:
    return next((m for m in listing(base)["media"] if m["media_id"] == media_id), None)


def last_used(base: str, media_id: str) -> datetime:
    return datetime.fromisoformat(entry(base, media_id)["last_used_at"])


def subtitles(url: str) -> dict:
    return {"url": url, "languages": ["en"], "subtitles": [{"language": "en", "ext": "vtt", "url": url}]}


def files_bytes(directory: Path) -> int:
    return sum(path.stat().st_size for path in directory.rglob("*") if path.is_file())


def delete(base: str, media_id: str, unused_since: str | None = None) -> httpx.Response:
    params = {"unused_since": unused_since} if unused_since else {}
    return httpx.delete(f"{base}/media/{media_id}", params=params, timeout=TIMEOUT)


def test_listing_adds_up_to_the_files_on_disk(own_service, origin):
    base, media_dir = own_service
    first = stored(base, f"{origin.base}/listed.mp4")
    assert httpx.post(f"{base}/media/{first}/frames", json={"max_frames": 3}, timeout=TIMEOUT).status_code == 200
    body = subtitles(f"{origin.base}/subs.vtt")
    assert httpx.post(f"{base}/media/{first}/transcript", json=body, timeout=TIMEOUT).status_code == 200
    second = stored(base, f"{origin.base}/sound.mp4")
    incomplete = media_dir / ("f" * 32)  # no record: not a media (yet)
    partial = media_dir / ".work" / "job-left" / "video.mp4.part"
    for directory in (incomplete, partial.parent):
        directory.mkdir()
    partial.write_bytes(b"x" * 12345)
    try:
        found = listing(base)
    finally:
        for directory in (incomplete, partial.parent):
            shutil.rmtree(directory)

    on_disk = {d.name for d in media_dir.iterdir() if (d / "record.json").is_file()}
    assert {first, second} <= on_disk
    assert {m["media_id"] for m in found["media"]} == on_disk
    for media in found["media"]:
        assert media["bytes"] == files_bytes(media_dir / media["media_id"]) > 0
        assert media["busy"] is False
        assert abs(datetime.fromisoformat(media["last_used_at"]) - datetime.now(UTC)) < timedelta(minutes=5)
    assert found["total_bytes"] == sum(m["bytes"] for m in found["media"])
    assert found["work_bytes"] == 12345
    # So the sizes above include frames and transcripts:
    assert any((media_dir / first).glob("frames-*/*.jpg")) and any((media_dir / first).glob("transcript-*.json"))
    stamps = [m["last_used_at"] for m in found["media"]]
    assert stamps == sorted(stamps, key=datetime.fromisoformat)  # least recently used first


def test_every_use_moves_last_used_forward(own_service, origin):
    base, _media_dir = own_service
    url = f"{origin.base}/used.mp4"
    media_id = stored(base, url)
    uses = {
        "frames": lambda: httpx.post(f"{base}/media/{media_id}/frames", json={"max_frames": 2}, timeout=TIMEOUT),
        "frame image": lambda: httpx.get(f"{base}/media/{media_id}/frames/0.jpg", timeout=TIMEOUT),
        "transcript": lambda: httpx.post(
            f"{base}/media/{media_id}/transcript", json=subtitles(f"{origin.base}/subs.vtt"), timeout=TIMEOUT
        ),
        "audio info": lambda: httpx.get(f"{base}/media/{media_id}/audio/info", timeout=TIMEOUT),
        "audio window": lambda: httpx.get(f"{base}/media/{media_id}/audio", params={"duration": 1}, timeout=TIMEOUT),
        "download from the cache": lambda: download(base, url),
    }
    previous = last_used(base, media_id)
    for what, use in uses.items():
        time.sleep(0.01)
        assert use().status_code == 200, what
        now = last_used(base, media_id)
        assert now > previous, what
        previous = now


def test_delete_keeps_media_used_after_unused_since(own_service, origin):
    base, _media_dir = own_service
    media_id = stored(base, f"{origin.base}/old.mp4")
    listed = entry(base, media_id)["last_used_at"]
    earlier = (datetime.fromisoformat(listed) - timedelta(seconds=1)).replace(tzinfo=None).isoformat()

    kept = delete(base, media_id, earlier)  # a time without a zone is UTC
    assert kept.status_code == 409, kept.text
    assert "after unused_since" in kept.json()["detail"] and kept.json()["retryable"] is False
    assert entry(base, media_id) is not None
    assert delete(base, media_id, "not a time").status_code == 422

    assert delete(base, media_id, listed).status_code == 204  # the time the listing gave is not "after"
    assert entry(base, media_id) is None
    assert delete(base, media_id, listed).status_code == 404


def test_busy_media_is_listed_busy_and_not_deleted(own_service, origin):
    base, _media_dir = own_service
    media_id = stored(base, f"{origin.base}/busy.mp4")
    slow_body = subtitles(f"{origin.base}/delayed/subs.vtt")  # answered after a few seconds
    answers: list[httpx.Response] = []
    worker = threading.Thread(
        target=lambda: answers.append(
            httpx.post(f"{base}/media/{media_id}/transcript", json=slow_body, timeout=TIMEOUT)
        )
    )
    worker.start()
    try:
        deadline = time.monotonic() + TIMEOUT
        while not entry(base, media_id)["busy"]:
            assert time.monotonic() < deadline and worker.is_alive(), "never listed busy"
            time.sleep(0.05)
        for unused_since in (None, (datetime.now(UTC) + timedelta(days=1)).isoformat()):
            refused = delete(base, media_id, unused_since)
            assert refused.status_code == 409, refused.text
            assert refused.json() == {"detail": f"media {media_id} is in use; not deleted", "retryable": True}
    finally:
        worker.join()
    assert answers[0].status_code == 200 and answers[0].json()["source"] == "subtitles", answers[0].text
    assert entry(base, media_id)["busy"] is False
    assert delete(base, media_id).status_code == 204
