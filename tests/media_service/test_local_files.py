"""No file on the service's own disk is ever read as a video, by any route.

A readable MPEG-TS video is planted on the service's disk (208x112, 3.6 s: no other video here has that
size), and next to it a FIFO that records every open (a tripwire: whoever opens it is seen, whether or
not they read it). Then files that name them are uploaded and downloaded: HLS playlists (absolute
paths, file: URLs, a variant playlist, concat: and subfile: URLs), a DASH manifest, an ffconcat list, under
the playlist extensions in both cases and as .mp4, directly and through a redirect, and a polyglot that
is a playlist at its head and a real MPEG-TS (of another size) after it. Each is refused, or, for the
polyglot, analysed as its own bytes; the planted video's size and duration never come back, and the
tripwire is never opened. A control shows that libav itself would follow such a playlist to the file.
"""

import errno
import os
import subprocess
import threading
import time
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import av
import httpx
import pytest

from tests.support.http_server import serving
from tests.support.videos import FFMPEG

from .conftest import media_service_process

TIMEOUT = 60
SECRET_SIZE = (208, 112)
SECRET_SECONDS = 3.6
EXTENSIONS = (".m3u", ".m3u8", ".M3U8", ".mpd", ".ffconcat", ".mp4")


def _ts(path: Path, size: str, seconds: float) -> Path:
    subprocess.run([FFMPEG, "-y", "-loglevel", "error", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=10",
                    "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                    "-f", "mpegts", str(path)], check=True, timeout=60)
    return path


class Tripwire:
    """A FIFO whose every open is counted: a writer is offered whenever a reader opens it."""

    def __init__(self, path: Path, payload: bytes):
        self.path, self.payload, self.opens = path, payload, 0
        os.mkfifo(path)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)  # ENXIO while nobody reads it
            except OSError as exc:
                if exc.errno != errno.ENXIO:
                    raise
                time.sleep(0.005)
                continue
            self.opens += 1
            try:
                os.set_blocking(fd, True)
                os.write(fd, self.payload)
            except OSError:
                pass
            finally:
                os.close(fd)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """(secret video path, tripwire) on the service's own disk, outside its media store."""
    root = tmp_path_factory.mktemp("server-disk")
    secret = _ts(root / "secret.ts", "x".join(map(str, SECRET_SIZE)), SECRET_SECONDS)
    tripwire = Tripwire(root / "tripwire.ts", secret.read_bytes())
    yield secret, tripwire
    tripwire.close()


def hostile_bodies(secret: Path, tripwire: Path, public_ts: bytes) -> dict[str, bytes]:
    """kind -> body of a file that names the planted files."""
    def media_playlist(*targets: str) -> str:
        entries = "".join(f"#EXTINF:{SECRET_SECONDS},\n{t}\n" for t in targets)
        return f"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:0\n{entries}#EXT-X-ENDLIST\n"

    paths = (str(secret), str(tripwire))
    urls = tuple(f"file://{p}" for p in paths)
    hls_paths = media_playlist(*paths)
    return {
        "hls-paths": hls_paths.encode(),
        "hls-file-urls": media_playlist(*urls).encode(),
        "hls-protocols": media_playlist(f"concat:{secret}|{tripwire}", f"subfile,,start,0,end,0,,:{secret}").encode(),
        "hls-variant": "".join(f"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=100000\n{p}\n" for p in paths).encode(),
        "dash": ('<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" '
                 'profiles="urn:mpeg:dash:profile:isoff-on-demand:2011" mediaPresentationDuration="PT4S"><Period>'
                 '<AdaptationSet mimeType="video/mp2t"><Representation id="1" bandwidth="100000" width="208" '
                 f'height="112" codecs="avc1.42c00d"><BaseURL>{urls[0]}</BaseURL></Representation>'
                 "</AdaptationSet></Period></MPD>\n").encode(),
        "ffconcat": f"ffconcat version 1.0\nfile '{secret}'\nfile '{tripwire}'\n".encode(),
        # Playlist text, padding, then a real MPEG-TS of its own: a TS probe finds the TS.
        "polyglot": hls_paths.encode() + b"\n" * 4096 + public_ts,
    }


@pytest.fixture(scope="module")
def hostile(planted, tmp_path_factory):
    secret, tripwire = planted
    public = _ts(tmp_path_factory.mktemp("public") / "public.ts", "160x90", 2.0)
    return hostile_bodies(secret, tripwire.path, public.read_bytes())


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("local-files-media")


@pytest.fixture(scope="module")
def service(media_dir):
    with media_service_process(media_dir, EGRESS_ALLOW_CIDRS="127.0.0.1/32") as (base, _process):
        yield base


class AsVideoHandler(SimpleHTTPRequestHandler):
    """Every file served as video/mp4 (so yt-dlp saves it as a direct video); /redirect/<name> -> /<name>."""

    def log_message(self, *args) -> None:
        pass

    def guess_type(self, path) -> str:
        return "video/mp4"

    def do_GET(self) -> None:
        if self.path.startswith("/redirect/"):
            self.send_response(302)
            self.send_header("Location", "/" + self.path.removeprefix("/redirect/"))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_GET()


@contextmanager
def origin_serving(root: Path):
    handler = partial(AsVideoHandler, directory=str(root))
    with serving(ThreadingHTTPServer(("127.0.0.1", 0), handler)) as server:
        yield f"http://127.0.0.1:{server.server_address[1]}"


def assert_never_the_planted_video(service: str, response: httpx.Response, tripwire: Tripwire, kind: str) -> None:
    """Refused, or (the polyglot) read as its own bytes; never the planted file's."""
    if kind != "polyglot" or response.status_code != 200:
        # Downloads may also be refused by yt-dlp itself: a .m3u8 URL is HLS to it whatever its type (the
        # segments then come from the origin: 404), an extension like .ffconcat it will not save.
        assert response.status_code == 422, response.text
        assert response.json()["detail"].startswith(("upload failed", "download failed"))
    else:
        assert response.status_code == 200, response.text
        body = response.json()
        media_id = body.get("media_id") or body["upload_id"]
        frames = httpx.post(f"{service}/media/{media_id}/frames", json={"max_frames": 4, "strategy": "uniform"},
                            timeout=TIMEOUT)
        assert frames.status_code == 200, frames.text
        sizes = {(f["width"], f["height"]) for f in frames.json()["frames"]}
        assert sizes == {(160, 90)}, sizes  # the polyglot's own picture
        download = httpx.post(f"{service}/downloads", json={"url": f"upload://{media_id}"}, timeout=TIMEOUT)
        duration = (download.json() if "upload_id" in body else body)["video_info"]["duration"]
        assert duration == pytest.approx(2.0, abs=0.3), duration
    assert tripwire.opens == 0, f"{kind}: the file on the server's disk was opened"


@pytest.mark.parametrize("extension", EXTENSIONS)
def test_uploads_naming_local_files_never_read_them(service, hostile, planted, extension):
    _, tripwire = planted
    for kind, body in hostile.items():
        name = f"talk-{kind}{extension}"
        response = httpx.post(f"{service}/uploads", files={"file": (name, body, "video/mp4")}, timeout=TIMEOUT)
        if kind != "polyglot":
            assert response.json().get("detail") == f"upload failed: {name} is not a readable video", response.text
        assert_never_the_planted_video(service, response, tripwire, kind)


@pytest.mark.parametrize("extension", EXTENSIONS)
def test_downloads_naming_local_files_never_read_them(service, hostile, planted, tmp_path, extension):
    """Every kind under the playlist extension and as .mp4, directly and through a redirect; the polyglot
    and the plain playlist under every extension (each download costs a fetch process: kept few)."""
    _, tripwire = planted
    every_kind = extension in (".m3u", ".mp4")
    for kind, body in hostile.items():
        (tmp_path / f"talk-{kind}{extension}").write_bytes(body)
    with origin_serving(tmp_path) as origin:
        for kind in hostile if every_kind else ("hls-paths", "polyglot"):
            for route in ("", "redirect/") if every_kind else ("",):
                url = f"{origin}/{route}talk-{kind}{extension}"
                response = httpx.post(f"{service}/downloads", json={"url": url}, timeout=TIMEOUT)
                assert_never_the_planted_video(service, response, tripwire, kind)


def test_stored_media_keeps_no_name_from_the_client_or_the_origin(service, media_dir, hostile, tmp_path):
    polyglot = hostile["polyglot"]
    upload = httpx.post(f"{service}/uploads", files={"file": ("talk.M3U8", polyglot, "video/mp4")}, timeout=TIMEOUT)
    (tmp_path / "talk.m3u").write_bytes(polyglot)
    with origin_serving(tmp_path) as origin:
        download = httpx.post(f"{service}/downloads", json={"url": f"{origin}/talk.m3u"}, timeout=TIMEOUT)
    assert upload.status_code == 200 and download.status_code == 200, (upload.text, download.text)
    for media_id in (upload.json()["upload_id"], download.json()["media_id"]):
        files = sorted(p.name for p in (media_dir / media_id).iterdir()
                       if p.is_file() and not p.name.startswith(".") and p.suffix != ".json")
        assert files == ["video"], files


def test_control_libav_follows_such_a_playlist_to_the_planted_file_when_named_so(hostile, planted, tmp_path):
    """Opened by name, as the service opened stored media before: the .m3u is HLS, and its frames
    are the planted video's. This is what the tests above must never see."""
    _, tripwire = planted
    path = tmp_path / "talk.m3u"
    path.write_bytes(hostile["polyglot"])
    with av.open(str(path)) as container:
        assert container.format.name == "hls"
        frame = next(container.decode(video=0))
        assert (frame.width, frame.height) == SECRET_SIZE


def test_control_the_tripwire_sees_libav_open_it(planted, tmp_path):
    secret, _ = planted
    tripwire = Tripwire(tmp_path / "control-tripwire.ts", secret.read_bytes())
    try:
        path = tmp_path / "control.m3u8"
        path.write_bytes(hostile_bodies(tmp_path / "absent.ts", tripwire.path, b"")["hls-paths"])
        with av.open(str(path)) as container:
            for _ in container.decode(video=0):
                pass
        assert tripwire.opens >= 1
    finally:
        tripwire.close()
