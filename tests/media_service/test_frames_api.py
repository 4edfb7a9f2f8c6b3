"""Frames through the HTTP API of a real media service process, from files served on 127.0.0.1."""

import asyncio
import subprocess

import cv2
import httpx
import numpy as np
import pytest

from orchestrator.clients.media import MediaClient
from service_common.contracts import FramesRequest
from tests.support.videos import FFMPEG

from .conftest import media_service
from .test_frames_selection import SLIDES_PARTS, make_numbered_video, make_slides_video
from .test_media_api import assert_one_line_error, download

TIMEOUT = 60


@pytest.fixture(scope="module")
def frames_site(site):
    """Files for these tests, beside the shared site's (the shared origin server serves them)."""
    make_slides_video(site / "slides.mp4", SLIDES_PARTS)
    make_numbered_video(site / "three.mp4", 3)
    whole = make_numbered_video(site / "whole.mp4", 250, gop=25)
    (site / "half.mp4").write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    subprocess.run([FFMPEG, "-y", "-loglevel", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=2",
                    "-c:a", "aac", str(site / "tone.m4a")], check=True, timeout=60)
    (site / "empty.mp4").touch()
    return site


@pytest.fixture(scope="module")
def frames_service(tmp_path_factory):
    """A service of its own, so that its media directory can be looked at; a small default size."""
    media_dir = tmp_path_factory.mktemp("frames-media")
    with media_service(media_dir, EGRESS_ALLOW_CIDRS="127.0.0.1/32", FRAME_MAX_SIDE="160") as base:
        yield base, media_dir


def frames(base: str, media_id: str, **body) -> httpx.Response:
    return httpx.post(f"{base}/media/{media_id}/frames", json=body, timeout=TIMEOUT)


def jpeg(base: str, media_id: str, index: int, **query) -> np.ndarray | None:
    response = httpx.get(f"{base}/media/{media_id}/frames/{index}.jpg", params=query, timeout=TIMEOUT)
    if response.status_code == 404:
        return None
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    return cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_COLOR)


def test_scenes_by_default_uniform_on_request_each_set_fetchable(frames_service, origin, frames_site):
    base, media_dir = frames_service
    media_id = download(base, f"{origin.base}/slides.mp4").json()["media_id"]

    scenes = frames(base, media_id, max_frames=8)
    assert scenes.status_code == 200, scenes.text
    result = scenes.json()
    assert result["strategy"] == "scenes" and result["note"].startswith("5 scenes found")
    slide_frames = [f for f in result["frames"] if 3 <= f["timestamp"] < 13 or f["timestamp"] >= 19]
    assert 1 <= len(result["frames"]) <= 8 and len(slide_frames) == 1
    assert {(f["width"], f["height"]) for f in result["frames"]} == {(160, 90)}  # FRAME_MAX_SIDE

    uniform = frames(base, media_id, max_frames=4, strategy="uniform", max_side=100).json()
    assert uniform["strategy"] == "uniform" and len(uniform["frames"]) == 4
    assert {(f["width"], f["height"]) for f in uniform["frames"]} == {(100, 56)}

    # Without a query the latest set is served; with one, the set it names.
    assert jpeg(base, media_id, 0).shape[:2] == (56, 100)
    assert jpeg(base, media_id, 4) is None
    assert jpeg(base, media_id, 0, strategy="scenes", max_frames=8, max_side=160).shape[:2] == (90, 160)
    assert jpeg(base, media_id, 0, strategy="scenes", max_frames=8) is None  # max_side 100: not made
    assert jpeg(base, media_id, 0, strategy="scenes", max_frames=7, max_side=160) is None
    assert httpx.get(f"{base}/media/{media_id}/frames/0.jpg", params={"strategy": "best"}).status_code == 422


def test_each_set_is_read_by_the_id_its_frames_call_returned(frames_service, origin, frames_site):
    """Two tasks of one video ask for different sets: each reads its own by id, whichever was asked last."""
    base, media_dir = frames_service
    media_id = download(base, f"{origin.base}/slides.mp4").json()["media_id"]
    small = frames(base, media_id, max_frames=3, strategy="uniform", max_side=64).json()
    large = frames(base, media_id, max_frames=2, strategy="uniform", max_side=128).json()
    assert small["frame_set"] and large["frame_set"] and small["frame_set"] != large["frame_set"]
    assert frames(base, media_id, max_frames=3, strategy="uniform", max_side=64).json() == small

    def of_set(frame_set: str, index: int) -> httpx.Response:
        return httpx.get(f"{base}/media/{media_id}/frame-sets/{frame_set}/{index}.jpg", timeout=TIMEOUT)

    image = of_set(small["frame_set"], 2)
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    assert cv2.imdecode(np.frombuffer(image.content, np.uint8), cv2.IMREAD_COLOR).shape[:2] == (36, 64)
    assert of_set(large["frame_set"], 2).status_code == 404  # that set has two frames
    for name in ("frames", "frames-uniform-3-64x", "..", "%2e%2e", "frames-uniform-3-64%2F..%2F..%2Fx"):
        assert of_set(name, 0).status_code == 404, name
    assert of_set(small["frame_set"], 0).status_code == 200

    # The orchestrator's client reads a set by its id, and an older checkpoint's set by the request that made it.
    async def through_the_client() -> tuple[bytes, bytes]:
        async with httpx.AsyncClient() as http:
            client = MediaClient(http, base)
            return (await client.frame_image(media_id, 1, small["frame_set"]),
                    await client.frame_image(media_id, 1, request=FramesRequest(max_frames=3, strategy="uniform",
                                                                                max_side=64)))
    by_id, by_request = asyncio.run(through_the_client())
    assert by_id == by_request == of_set(small["frame_set"], 1).content


def test_the_same_request_reuses_its_frames(frames_service, origin, frames_site):
    base, media_dir = frames_service
    media_id = download(base, f"{origin.base}/slides.mp4").json()["media_id"]
    first = frames(base, media_id, max_frames=3, strategy="uniform").json()
    set_dir = media_dir / media_id / "frames-uniform-3-160"
    written = {path.name: path.stat().st_mtime_ns for path in set_dir.iterdir()}
    again = frames(base, media_id, max_frames=3, strategy="uniform")
    assert again.json() == first
    assert {path.name: path.stat().st_mtime_ns for path in set_dir.iterdir()} == written
    assert not list((media_dir / ".work").iterdir())  # no temp dirs left behind


def test_a_video_shorter_than_max_frames(frames_service, origin, frames_site):
    base, _ = frames_service
    media_id = download(base, f"{origin.base}/three.mp4").json()["media_id"]
    result = frames(base, media_id, max_frames=8, strategy="uniform").json()
    assert [f["timestamp"] for f in result["frames"]] == [0.0, 0.04, 0.08]
    assert result["note"].startswith("3 of 8 frames")
    result = frames(base, media_id, max_frames=8).json()
    assert 1 <= len(result["frames"]) <= 3 and result["note"]


@pytest.mark.parametrize("name", ["half.mp4", "tone.m4a", "empty.mp4", "x.mp4"])
def test_files_without_readable_video_are_refused_with_one_clear_line(frames_service, origin, frames_site, name):
    base, _ = frames_service
    detail = assert_one_line_error(download(base, f"{origin.base}/{name}"))
    if name != "empty.mp4":  # yt-dlp itself refuses an empty body ("did not get any data blocks")
        assert "video" in detail  # "is not a readable video", "has no video stream"
