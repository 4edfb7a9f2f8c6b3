"""The transcript chain: which link wins, the notes left by the ones before, and what is cached."""

import asyncio
import subprocess
from pathlib import Path

import httpx
import pytest

from media_service.config import MediaSettings
from media_service.errors import MediaError
from media_service.transcripts import chain
from media_service.transcripts.chain import fetch_transcript
from service_common.contracts import SubtitleTrack, TranscriptRequest
from tests.support.videos import DEFAULT_CUES, FFMPEG, make_video, write_vtt

from .conftest import counting_server, media_service
from .test_media_api import assert_one_line_error

TIMEOUT = 60
YOUTUBE_URL = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
VTT = b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nfrom the site\n"


class FakeWorker:
    """Stands in for the fetch worker (YouTube cannot be reached here): answers the YouTube job with
    a note, and each subtitle fetch with a file or a failure, recording what it was asked."""

    def __init__(self, youtube: dict | None = None, files: dict[str, bytes | Exception] | None = None):
        disabled = {"segments": [], "note": "YouTube captions are disabled for this video", "final": True}
        self.youtube = youtube or disabled
        self.files = files or {}
        self.jobs: list[dict] = []

    async def __call__(self, job: dict, timeout_s: float, what: str, work_dir: Path) -> dict:
        self.jobs.append(job)
        if job["action"] == "youtube_transcript":
            return {"ok": True, **self.youtube}
        answer = self.files[job["url"]]
        if isinstance(answer, Exception):
            raise answer
        Path(job["out_path"]).write_bytes(answer)
        return {"ok": True}


def track(language: str, automatic: bool = False, ext: str = "vtt") -> SubtitleTrack:
    url = f"http://site/{language}-{automatic}.{ext}"
    return SubtitleTrack(language=language, ext=ext, url=url, automatic=automatic)


def run_chain(monkeypatch, tmp_path, worker: FakeWorker, video: Path | None = None, **request):
    monkeypatch.setattr(chain, "run_job", worker)
    body = TranscriptRequest(**{"url": YOUTUBE_URL, **request})
    return asyncio.run(fetch_transcript(body, None, MediaSettings(media_dir=tmp_path), tmp_path, video))


def test_youtube_note_then_subtitles(monkeypatch, tmp_path):
    worker = FakeWorker(files={track("en").url: VTT})
    outcome = run_chain(monkeypatch, tmp_path, worker, subtitles=[track("en", automatic=True), track("en")])
    result = outcome.result
    assert (result.source, result.language, result.text) == ("subtitles", "en", "from the site")
    assert result.notes == ["YouTube captions are disabled for this video"] and outcome.final
    assert worker.jobs[0]["languages"] == ["en"]


def test_a_failed_track_gives_way_to_the_next_and_is_not_final(monkeypatch, tmp_path):
    failure = MediaError("fetching the de subtitles (vtt) failed: Connection reset by peer", 502, True)
    blocked = {"segments": [], "note": "YouTube blocked the request from this server's IP; set a proxy", "final": False}
    worker = FakeWorker(youtube=blocked, files={track("de").url: failure, track("de", True).url: VTT})
    outcome = run_chain(
        monkeypatch, tmp_path, worker, subtitles=[track("de", True), track("de")], languages=None, video_language="de"
    )
    assert (outcome.result.source, outcome.result.language) == ("automatic_captions", "de")
    assert outcome.result.notes == [blocked["note"], failure.message]
    assert not outcome.final
    assert worker.jobs[0]["languages"] == ["de", "en"]


def test_unreadable_formats_and_embedded_track(monkeypatch, tmp_path):
    video = tmp_path / "subs.mp4"
    make_video(tmp_path / "plain.mp4", seconds=9.0, size="320x180")
    vtt = write_vtt(tmp_path / "en.vtt")
    subprocess.run(
        [FFMPEG, "-y", "-loglevel", "error", "-i", str(tmp_path / "plain.mp4"), "-i", str(vtt), "-map", "0:v",
         "-map", "1:0", "-c:v", "copy", "-c:s", "mov_text", "-metadata:s:s:0", "language=eng", str(video)],
        check=True, timeout=60,
    )  # fmt: skip
    worker = FakeWorker()
    outcome = run_chain(monkeypatch, tmp_path, worker, video, subtitles=[track("en", ext="json3")])
    assert outcome.result.source == "embedded_subtitles" and outcome.result.language == "en"
    assert [(s.start, s.end, s.text) for s in outcome.result.segments] == [tuple(c) for c in DEFAULT_CUES]
    assert outcome.result.notes == [
        "YouTube captions are disabled for this video",
        "the site's subtitle tracks are in formats that are not read (json3)",
    ]


def test_nothing_anywhere(monkeypatch, tmp_path):
    outcome = run_chain(monkeypatch, tmp_path, FakeWorker(), url="http://site/clip.mp4")
    assert outcome.result.model_dump() == {
        "text": None, "segments": [], "language": None, "source": None, "notes": []
    }  # fmt: skip


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("chain-site")
    make_video(root / "plain.mp4", seconds=9.0, size="320x180")
    write_vtt(root / "en.vtt")
    args = [FFMPEG, "-y", "-loglevel", "error", "-i", str(root / "plain.mp4"), "-i", str(root / "en.vtt")]
    args += ["-map", "0:v", "-map", "1:0", "-c:v", "copy", "-c:s", "srt", "-metadata:s:s:0", "language=eng"]
    subprocess.run([*args, str(root / "embedded.mkv")], check=True, timeout=60)
    return root


@pytest.fixture(scope="module")
def proxied(site, tmp_path_factory):
    """The service with a loopback proxy allowed: the proxy serves plain HTTP and refuses CONNECT,
    so a YouTube request fails at the proxy and no packet ever leaves this machine."""
    media_dir = tmp_path_factory.mktemp("chain-media")
    with counting_server(site) as origin:
        env = {"EGRESS_ALLOW_CIDRS": "127.0.0.1/32", "ALLOWED_PROXIES": origin.base}
        with media_service(media_dir, **env) as base:
            yield base, origin, media_dir


def transcript(base: str, media_id: str, **body) -> httpx.Response:
    return httpx.post(f"{base}/media/{media_id}/transcript", json=body, timeout=TIMEOUT)


def test_embedded_track_of_a_downloaded_mkv_is_found_and_cached(proxied):
    base, origin, media_dir = proxied
    url = f"{origin.base}/embedded.mkv"
    download = httpx.post(f"{base}/downloads", json={"url": url}, timeout=TIMEOUT)
    assert download.status_code == 200, download.text
    media_id = download.json()["media_id"]
    data = transcript(base, media_id, url=url).json()
    assert (data["source"], data["language"], data["notes"]) == ("embedded_subtitles", "en", [])
    assert [(s["start"], s["end"], s["text"]) for s in data["segments"]] == [tuple(c) for c in DEFAULT_CUES]
    assert len(list((media_dir / media_id).glob("transcript-*.json"))) == 1


def test_unreachable_youtube_is_a_note_and_the_result_is_not_cached(proxied):
    base, origin, media_dir = proxied
    download = httpx.post(f"{base}/downloads", json={"url": f"{origin.base}/plain.mp4"}, timeout=TIMEOUT)
    media_id = download.json()["media_id"]
    subtitles = [{"language": "en", "ext": "vtt", "url": f"{origin.base}/en.vtt", "automatic": False}]
    response = transcript(base, media_id, url=YOUTUBE_URL, proxy=origin.base, subtitles=subtitles)
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["source"] == "subtitles" and data["text"] == " ".join(text for _, _, text in DEFAULT_CUES)
    assert data["notes"] == [
        "YouTube could not be reached through the proxy: Tunnel connection failed: 501 Unsupported method ('CONNECT')"
    ]
    assert origin.gets[f"{origin.base}/en.vtt"] == 1  # the track came through the proxy too
    assert not list((media_dir / media_id).glob("transcript-*.json"))


def test_a_proxy_that_is_not_allowed_is_refused(proxied):
    base, _, _ = proxied
    response = transcript(base, "0" * 32, url=YOUTUBE_URL, proxy="http://127.0.0.2:3128")
    assert "not allowed" in assert_one_line_error(response, 422)
