"""Shared fixtures: videos made at test time, a counting origin server on 127.0.0.1, the service."""

import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.counting_origin import counting_server
from tests.support.processes import free_port, run_service
from tests.support.videos import FFMPEG, make_video, write_video_page, write_vtt

CLIP_SECONDS = 6.0
WEBM_SECONDS = 4.0


def make_webm(path: Path, seconds: float) -> Path:
    """VP9 in WebM, encoded in real-time mode: the default VP9 settings take ten times longer."""
    pattern = "testsrc2=size=640x360:rate=25"
    args = [FFMPEG, "-y", "-loglevel", "error", "-f", "lavfi", "-i", pattern, "-t", str(seconds)]
    args += ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-pix_fmt", "yuv420p"]
    subprocess.run([*args, str(path)], check=True, timeout=120)
    return path


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("site")
    make_video(root / "clip.mp4", seconds=CLIP_SECONDS)
    make_webm(root / "clip.webm", seconds=WEBM_SECONDS)
    write_vtt(root / "subs.vtt")
    write_video_page(root / "page.html", "clip.mp4", "Colour Bars Demo", "subs.vtt")
    (root / "x.mp4").write_text("this is not a video, only text\n" * 100)
    (root / "article.html").write_text("<html><head><title>News</title></head><body><p>No video.</p></body></html>")
    return root


@pytest.fixture(scope="session")
def origin(site):
    with counting_server(site) as server:
        yield server


@contextmanager
def media_service_process(media_dir: Path, **env: str):
    """A media service process of its own; yields (base URL, process)."""
    settings = {"MEDIA_DIR": str(media_dir), "LOG_LEVEL": "WARNING", **env}
    with run_service("media_service.app:create_app", free_port(), env=settings) as running:
        yield running


@contextmanager
def media_service(media_dir: Path, **env: str):
    with media_service_process(media_dir, **env) as (base, _process):
        yield base


@pytest.fixture(scope="session")
def service(tmp_path_factory) -> str:
    """The service as tests and operators on one host run it: loopback allowed, nothing else."""
    media_dir = tmp_path_factory.mktemp("media")
    with media_service(media_dir, EGRESS_ALLOW_CIDRS="127.0.0.1/32") as base:
        yield base
