"""Shared fixtures: videos made at test time, a counting origin server on 127.0.0.1, the service."""

import subprocess
import threading
import time
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.support.http_server import serving
from tests.support.processes import free_port, run_service
from tests.support.videos import FFMPEG, make_video, write_video_page, write_vtt

CLIP_SECONDS = 6.0
WEBM_SECONDS = 4.0


class CountingHandler(SimpleHTTPRequestHandler):
    """Static files, /status/<code>/..., and /slow.mp4 that never finishes; counts requests by path.

    As a proxy (GET of an absolute URL) it serves the URL's path from the same files.
    """

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.gets[self.path] = self.server.gets.get(self.path, 0) + 1
        if "://" in self.path:
            self.path = urlsplit(self.path).path
        if self.path.startswith("/status/"):
            self.send_error(int(self.path.split("/")[2]))
            return
        if self.path.startswith("/slow"):
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Content-Length", "10000000")
            self.end_headers()
            self.wfile.write(b"\0" * 1024)
            self.wfile.flush()
            time.sleep(20)
            return
        super().do_GET()


class CountingServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path):
        super().__init__(("127.0.0.1", 0), partial(CountingHandler, directory=str(root)))
        self.lock = threading.Lock()
        self.gets: dict[str, int] = {}
        self.connections = 0

    def verify_request(self, request, client_address) -> bool:
        with self.lock:
            self.connections += 1
        return True

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@contextmanager
def counting_server(root: Path, server_class: type[CountingServer] = CountingServer):
    with serving(server_class(root)) as server:
        yield server


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
