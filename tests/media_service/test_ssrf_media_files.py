"""Files that are not media but tell a demuxer where to fetch media from: an HLS playlist, a DASH
manifest, an SDP session description, an ffconcat list. libav (PyAV) opens every upload and every
download, in C, where the connection guard (a Python audit hook) sees nothing; what keeps it from
following such a file is FFmpeg's rule that a local file may only open file, crypto and data URLs.
These tests hold the service to that: uploaded or downloaded, such a file is refused as not a video,
and the sinkholes it points at (HTTP and UDP on 127.0.0.3) see nothing. A control shows the HLS
playlists do reach the sinkhole when libav is allowed to follow them.
"""

import socket
import time
from contextlib import contextmanager

import av
import httpx
import pytest

from tests.support.http_server import serve_directory

from .ssrf_fixtures import TIMEOUT, guarded_service, make_media, sinkhole

SINKHOLE_HOST = "127.0.0.3"


def manifests(http_base: str, udp_port: int) -> dict[str, str]:
    """name -> text of each file, every one aimed at the sinkholes."""
    hls = ("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n"
           f"#EXTINF:1.0,\n{http_base}/hls/segment0.ts\n#EXT-X-ENDLIST\n")
    dash = ('<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" '
            'profiles="urn:mpeg:dash:profile:isoff-on-demand:2011" mediaPresentationDuration="PT2S"><Period>'
            '<AdaptationSet mimeType="video/mp4"><Representation id="1" bandwidth="100000" width="160" '
            f'height="90" codecs="avc1.42c00d"><BaseURL>{http_base}/clip.mp4</BaseURL></Representation>'
            "</AdaptationSet></Period></MPD>\n")
    sdp = (f"v=0\r\no=- 0 0 IN IP4 {SINKHOLE_HOST}\r\ns=session\r\nc=IN IP4 {SINKHOLE_HOST}\r\nt=0 0\r\n"
           f"m=video {udp_port} RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n")
    concat = f"ffconcat version 1.0\nfile '{http_base}/clip.mp4'\n"
    return {"playlist.m3u8": hls, "playlist-as-video.mp4": hls, "manifest.mpd": dash,
            "manifest-as-video.mp4": dash, "session.sdp": sdp, "session-as-video.mp4": sdp,
            "list.ffconcat": concat, "list-as-video.mp4": concat}


def _rtp_port_pair() -> tuple[socket.socket, socket.socket, int]:
    for _ in range(100):
        rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rtp.bind((SINKHOLE_HOST, 0))
        port = rtp.getsockname()[1]
        if port % 2 == 0:
            rtcp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                rtcp.bind((SINKHOLE_HOST, port + 1))
                return rtp, rtcp, port
            except OSError:
                rtcp.close()
        rtp.close()
    raise RuntimeError("no free RTP/RTCP port pair")


@contextmanager
def udp_sinkhole():
    """RTP and RTCP ports (even, then odd) on the sinkhole host, and a count of datagrams received."""
    rtp, rtcp, port = _rtp_port_pair()
    for sock in (rtp, rtcp):
        sock.setblocking(False)

    def received() -> int:
        count = 0
        for sock in (rtp, rtcp):
            while True:
                try:
                    sock.recv(65536)
                except BlockingIOError:
                    break
                count += 1
        return count

    try:
        yield port, received
    finally:
        rtp.close()
        rtcp.close()


@pytest.fixture(scope="module")
def media_root(tmp_path_factory):
    return make_media(tmp_path_factory.mktemp("manifest-media"))


@pytest.fixture
def http_sinkhole(media_root):
    with sinkhole(media_root, SINKHOLE_HOST) as server:
        yield server


@pytest.fixture
def sinkholes(http_sinkhole):
    with udp_sinkhole() as (udp_port, received):
        yield http_sinkhole, udp_port, received


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    with guarded_service(tmp_path_factory.mktemp("manifest-service"), EGRESS_ALLOW_CIDRS="127.0.0.1/32") as service:
        yield service


def test_control_the_files_reach_the_sinkhole_when_libav_may_follow_them(sinkholes, tmp_path):
    http, udp_port, received = sinkholes
    files = manifests(http.base, udp_port)
    # The .m3u8 only: the libav PyAV ships gives up on this DASH manifest before fetching (the ffmpeg
    # command does fetch it), and detects HLS only by its extension; the other cases stay in case a
    # later build does follow them.
    for name in ("playlist.m3u8",):
        path = tmp_path / name
        path.write_text(files[name])
        before = http.connections
        try:
            av.open(str(path), options={"protocol_whitelist": "file,http,tcp"}, timeout=5).close()
        except av.FFmpegError:
            pass  # the content need not make sense: reaching the sinkhole is the point
        assert http.connections > before, name


@pytest.mark.parametrize("name", list(manifests("http://x", 1)))
def test_an_uploaded_manifest_is_not_a_video_and_is_never_followed(service, sinkholes, name):
    http, udp_port, received = sinkholes
    text = manifests(http.base, udp_port)[name]
    response = httpx.post(f"{service.base}/uploads", files={"file": (name, text.encode(), "video/mp4")},
                          timeout=TIMEOUT)
    assert response.status_code == 422, response.text
    assert response.json()["detail"] == f"upload failed: {name} is not a readable video"
    time.sleep(0.2)  # a datagram sent would have arrived by now
    assert http.connections == 0 and received() == 0
    assert service.breaches() == []


@pytest.mark.parametrize("name", [n for n in manifests("http://x", 1) if n.endswith("-as-video.mp4")])
def test_a_downloaded_manifest_is_not_a_video_and_is_never_followed(service, sinkholes, tmp_path, name):
    """Served as video/mp4, so yt-dlp takes it for a direct link and saves it; then libav reads it."""
    http, udp_port, received = sinkholes
    (tmp_path / name).write_text(manifests(http.base, udp_port)[name])
    with serve_directory(tmp_path) as origin:
        response = service.download(f"{origin}/{name}")
    assert response.status_code == 422, response.text
    assert "not" in response.json()["detail"] and "video" in response.json()["detail"]
    time.sleep(0.2)
    assert http.connections == 0 and received() == 0
    assert service.breaches() == []
