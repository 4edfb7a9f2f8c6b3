"""Downloads where the best picture comes without sound (YouTube above 360p, DASH, HLS with an audio
group): the video and the audio are fetched apart, under the guard, and joined into one file by the
service itself."""

import subprocess
from pathlib import Path

import av
import httpx
import pytest

from media_service.fetch.incidents import Incidents
from media_service.fetch.policy import PolicyRefusal, joined, separate_streams
from media_service.fetch.ytdlp_options import download_options
from tests.support.http_server import serve_directory
from tests.support.videos import FFMPEG

from .conftest import media_service
from .test_media_api import TIMEOUT, download


def fmt(format_id: str, vcodec: str | None, acodec: str | None, height: int | None = None, size: int = 0) -> dict:
    return {"format_id": format_id, "vcodec": vcodec, "acodec": acodec, "height": height, "filesize": size or None}


# As yt-dlp lists a YouTube video (worst first): one file with sound at 360p, pictures alone up to 1080p.
YOUTUBE_LIKE = [
    fmt("139", "none", "mp4a.40.5"), fmt("140", "none", "mp4a.40.2", size=3_000_000),
    fmt("251", "none", "opus", size=3_200_000),
    fmt("18", "avc1.42001E", "mp4a.40.2", 360),
    fmt("134", "avc1.4d401e", "none", 360), fmt("136", "avc1.4d401f", "none", 720),
    fmt("247", "vp9", "none", 720), fmt("398", "av01.0.05M.08", "none", 720, size=20_000_000),
    fmt("137", "avc1.640028", "none", 1080),
]


def test_the_best_picture_up_to_the_limit_and_the_best_sound():
    video, audio = separate_streams({"formats": YOUTUBE_LIKE}, 720)
    assert (video["format_id"], audio["format_id"]) == ("398", "251")
    merged = joined({"formats": YOUTUBE_LIKE, "filesize": 1}, [video, audio])
    assert merged["format_id"] == "398,251" and merged["filesize"] == 23_200_000 and merged["height"] == 720
    assert joined({}, [fmt("1", "vp9", "none", 720), audio])["filesize"] is None  # one size unknown: unknown


@pytest.mark.parametrize(("formats", "max_height"), [
    (YOUTUBE_LIKE, 360),  # the file with sound is as good
    ([f for f in YOUTUBE_LIKE if f["vcodec"] != "none"], 720),  # no audio-only format
    ([*YOUTUBE_LIKE, fmt("direct", None, None)], 720),  # nothing known of a file: it may be the best
    ([*YOUTUBE_LIKE[:4], fmt("hls-720p", "avc1", "mp4a", 720), *YOUTUBE_LIKE[4:]], 720),  # 720p with sound
    ([fmt("v=1", "avc1", "none", 720), fmt("a1", "none", "opus")], 720),  # an id a format spec cannot name
    ([fmt("best", "avc1", "none", 720), fmt("a1", "none", "opus")], 720),  # nor one it reads as a keyword
    ([fmt("0", None, None)], 720),  # a direct file
])
def test_one_file_when_that_is_as_good(formats, max_height):
    assert separate_streams({"formats": formats}, max_height) is None


def test_the_size_limit_counts_both_parts():
    hook = download_options({"max_bytes": 1000, "out_dir": "/nonexistent"}, Incidents())["progress_hooks"][0]
    hook({"filename": "part.f398.mp4", "downloaded_bytes": 700, "status": "finished"})
    hook({"filename": "part.f251.webm", "downloaded_bytes": 200})
    with pytest.raises(PolicyRefusal):
        hook({"filename": "part.f251.webm", "downloaded_bytes": 301})


SOURCES = ["-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25", "-f", "lavfi", "-i", "sine=frequency=440", "-t", "4",
           "-map", "0:v", "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25",
           "-s:v:0", "1280x720", "-s:v:1", "640x360", "-b:v:0", "2M", "-b:v:1", "500k", "-c:a", "aac"]
# As sites serve them: 720p and 360p pictures without sound, and the sound apart.
STREAMS = {
    "dash": (["-f", "dash", "-adaptation_sets", "id=0,streams=v id=1,streams=a", "-seg_duration", "2",
              "manifest.mpd"], "manifest.mpd"),
    # An HLS master playlist whose variants take their sound from an audio group (EXT-X-MEDIA).
    "hls": (["-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod", "-master_pl_name", "master.m3u8",
             "-var_stream_map", "v:0,agroup:aud v:1,agroup:aud a:0,agroup:aud", "-hls_segment_filename",
             "s%v_%d.ts", "p%v.m3u8"], "master.m3u8"),
}


@pytest.fixture(scope="module", params=list(STREAMS))
def stream_site(request, tmp_path_factory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp(request.param)
    output, entry = STREAMS[request.param]
    subprocess.run([FFMPEG, "-y", "-loglevel", "error", *SOURCES, *output], check=True, timeout=120, cwd=root)
    return root, entry


def test_picture_and_sound_fetched_apart_are_one_stored_video(stream_site, tmp_path):
    root, entry = stream_site
    with serve_directory(root) as origin, media_service(tmp_path, EGRESS_ALLOW_CIDRS="127.0.0.1/32") as service:
        response = download(service, f"{origin}/{entry}")
        assert response.status_code == 200, response.text
        media_id = response.json()["media_id"]
        assert response.json()["video_info"]["duration"] == pytest.approx(4, abs=0.2)
        stored = [p for p in (tmp_path / media_id).iterdir() if p.is_file() and not p.name.startswith(".")
                  and p.suffix != ".json"]
        assert [p.name for p in stored] == ["video"]  # the parts are gone; no name from the origin stays
        with av.open(str(stored[0])) as container:
            assert container.format.name == "matroska,webm"  # joined as Matroska
            video, audio = container.streams.best("video"), container.streams.best("audio")
            assert (video.codec_context.width, video.codec_context.height) == (1280, 720)
            assert audio is not None and audio.codec_context.name == "aac"
            # Both start at 0, together (HLS parts are MPEG-TS, whose clocks start at 1.4 s).
            starts = [float(s.start_time * s.time_base) for s in (video, audio)]
            assert max(starts) < 0.1 and abs(starts[0] - starts[1]) < 0.05, starts
        info = httpx.get(f"{service}/media/{media_id}/audio/info", timeout=TIMEOUT).json()
        assert info["has_audio"] is True and info["duration"] == pytest.approx(4, abs=0.2)
        frames = httpx.post(f"{service}/media/{media_id}/frames", json={"max_frames": 2, "strategy": "uniform"},
                            timeout=TIMEOUT).json()
        assert [(f["width"], f["height"]) for f in frames["frames"]] == [(1120, 630)] * 2
