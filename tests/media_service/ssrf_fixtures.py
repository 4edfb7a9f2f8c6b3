"""Fixtures for server-side request forgery tests.

- Sinkhole: an HTTP server on a loopback address the service must never reach (127.0.0.2, or
  127.0.0.1 for a service that allows nothing). It serves real media, so a guard that fails shows
  as a download that works; it counts every connection it accepts, which must stay at 0.
- An origin on 127.0.0.1 (allowed) that leads elsewhere: /hops/<codes>?to=<url> answers with each
  redirect status in turn (301,302,307 is three hops) and then sends the client to <url>.
- Media made at test time: a short clip, a WebVTT file, and an HLS stream (real MPEG-TS segments
  written by ffmpeg) whose playlists name segments on the origin or on any other base URL.
- A media service process with the test-only network safety net (tests/support/netguard) on.
"""

import re
import subprocess
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import httpx

from tests.support.counting_origin import counting_server
from tests.support.netguard import breaches, guarded_pids, netguard_env
from tests.support.videos import FFMPEG, make_video, write_vtt

from .conftest import media_service_process
from .download_fixtures import PolicyHandler, PolicyServer

TIMEOUT = 60
SEGMENT = re.compile(r"^(segment\d+\.ts)$", re.MULTILINE)


def sinkhole(root: Path, host: str):
    return counting_server(root, host=host)


class HopHandler(PolicyHandler):
    def do_GET(self) -> None:
        if not self.path.startswith("/hops/"):
            super().do_GET()
            return
        self._count()
        parts = urlsplit(self.path)
        codes = parts.path.removeprefix("/hops/").split(",")
        target = parse_qs(parts.query)["to"][0]
        rest = ",".join(codes[1:])
        location = f"/hops/{rest}?to={quote(target, safe='')}" if rest else target
        self.send_response(int(codes[0]))
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()


def hop_origin(root: Path):
    return counting_server(root, PolicyServer, handler=HopHandler)


def hops_url(origin_base: str, codes: str, target: str) -> str:
    return f"{origin_base}/hops/{codes}?to={quote(target, safe='')}"


def make_media(root: Path) -> Path:
    """clip.mp4 (2 s, tiny), subs.vtt, and hls/segment<N>.ts with hls/local.m3u8 naming them."""
    make_video(root / "clip.mp4", seconds=2, size="160x90")
    write_vtt(root / "subs.vtt")
    hls = root / "hls"
    hls.mkdir()
    args = [FFMPEG, "-y", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=10", "-t", "2"]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "10"]
    args += ["-f", "hls", "-hls_time", "1", "-hls_list_size", "0", "-hls_playlist_type", "vod"]
    args += ["-hls_segment_filename", str(hls / "segment%d.ts"), str(hls / "local.m3u8")]
    subprocess.run(args, check=True, timeout=120)
    return root


def write_playlist_at(root: Path, name: str, segments_base: str) -> str:
    """hls/<name>: the local playlist with each segment named by absolute URL under segments_base."""
    playlist = (root / "hls" / "local.m3u8").read_text()
    (root / "hls" / name).write_text(SEGMENT.sub(lambda m: f"{segments_base}/hls/{m.group(1)}", playlist))
    return f"hls/{name}"


def write_page(root: Path, name: str, video_src: str, track_src: str | None = None) -> str:
    track = f'<track kind="subtitles" src="{track_src}" srclang="en" label="English">' if track_src else ""
    (root / name).write_text(
        f"<!doctype html><html><head><title>{name}</title></head><body>"
        f'<video controls><source src="{video_src}" type="video/mp4">{track}</video></body></html>'
    )
    return name


class GuardedService:
    """A media service whose processes have the network safety net on; `breaches` must stay empty."""

    def __init__(self, base: str, pid: int, breach_log: Path, media_dir: Path):
        self.base, self.pid, self.breach_log, self.media_dir = base, pid, breach_log, media_dir

    def download(self, url: str, **extra) -> httpx.Response:
        return httpx.post(f"{self.base}/downloads", json={"url": url, **extra}, timeout=TIMEOUT)

    def breaches(self) -> list[str]:
        return breaches(self.breach_log)

    def guarded_pids(self) -> set[int]:
        return guarded_pids(self.breach_log)


@contextmanager
def guarded_service(tmp: Path, fake_dns: dict[str, str] | None = None, **env: str):
    media_dir = tmp / "media"
    media_dir.mkdir()
    breach_log = tmp / "breaches.log"
    settings = {**netguard_env(breach_log, fake_dns), **env}
    with media_service_process(media_dir, **settings) as (base, process):
        # Nothing may be aimed at an internal address unless the net is known to be on.
        assert process.pid in guarded_pids(breach_log), "the network safety net is not loaded in the service"
        yield GuardedService(base, process.pid, breach_log, media_dir)


def assert_refused(response: httpx.Response, address: str, category: str, what: str = "download") -> str:
    """A 422 whose one-line detail says which destination was refused and why."""
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail.startswith(f"{what} failed: destination {address} is {category} address"), detail
    assert "EGRESS_ALLOW_CIDRS" in detail
    return detail
