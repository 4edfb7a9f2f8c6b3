"""Beyond the guide's fields: per-frame timestamps and images, transcript segments and their source,
uploads, and speech-to-text as the transcript chain's last resort."""

import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from tests.support.http_server import send_json, serve_directory, serving
from tests.support.stack import Stack, running
from tests.support.videos import DEFAULT_CUES, make_video, write_video_site


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    write_video_site(root)
    with serve_directory(root) as base:
        yield root, base


def finish(api: str, task_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = requests.get(f"{api}/tasks/{task_id}", timeout=10).json()
        if result["status"] in ("completed", "failed"):
            return result
        time.sleep(0.3)
    raise AssertionError(f"task {task_id} did not finish")


def test_frames_carry_timestamps_and_images_and_the_transcript_its_segments(sqlite_url, tmp_path, site):
    _, base = site
    stack = Stack(database_url=sqlite_url, workdir=tmp_path)
    with running(stack):
        api = stack.url("gateway")
        task_id = requests.post(f"{api}/analyze", json={
            "youtube_url": f"{base}/watch.html", "max_frames": 4, "frame_strategy": "uniform"}).json()["task_id"]
        result = finish(api, task_id)
        assert result["status"] == "completed", result["error"]
        frames = result["frames"]
        assert [f["index"] for f in frames] == list(range(len(frames))) and 1 <= len(frames) <= 4
        stamps = [f["timestamp"] for f in frames]
        assert stamps == sorted(stamps) and stamps[0] >= 0 and stamps[-1] <= 10
        assert [f["analysis"] for f in frames] == result["frame_analyses"]
        image = requests.get(api + frames[0]["image_url"])
        assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
        assert image.content[:2] == b"\xff\xd8"
        assert requests.get(f"{api}/tasks/{task_id}/frames/99.jpg").status_code == 404

        assert result["transcript_source"] == "subtitles" and result["frame_strategy"] == "uniform"
        segments = result["transcript_segments"]
        assert [(s["start"], s["end"], s["text"]) for s in segments] == [
            (pytest.approx(start, abs=0.01), pytest.approx(end, abs=0.01), text) for start, end, text in DEFAULT_CUES]
        assert result["progress"] is None


class FakeWhisperServer(BaseHTTPRequestHandler):
    """Answers /v1/audio/transcriptions like vLLM serving Whisper would (no Whisper weights exist here):
    one segment per window it is sent, saying where the window started."""

    windows: list[int] = []

    def do_POST(self) -> None:
        length = int(self.headers["content-length"])
        body = self.rfile.read(length)
        ok = self.path == "/v1/audio/transcriptions" and b'name="file"' in body and b"RIFF" in body
        type(self).windows.append(len(body))
        payload = {"task": "transcribe", "language": "english", "duration": 4.0, "text": "spoken words",
                   "segments": [{"id": 0, "start": 0.5, "end": 2.0, "text": " Spoken words here."}]}
        send_json(self, 200 if ok else 400, payload if ok else {"error": {"message": "bad request"}})

    def log_message(self, *args) -> None:
        pass


def test_uploaded_file_without_subtitles_is_transcribed_by_speech_to_text(sqlite_url, tmp_path):
    video = make_video(tmp_path / "talk.mp4", seconds=6, with_audio=True)
    whisper = ThreadingHTTPServer(("127.0.0.1", 0), FakeWhisperServer)
    stt = {"base_url": f"http://127.0.0.1:{whisper.server_address[1]}/v1", "model": "whisper-large-v3"}
    stack = Stack(database_url=sqlite_url, workdir=tmp_path,
                  service_env={"orchestrator": {"SPEECH_TO_TEXT": json.dumps(stt), "SPEECH_CHUNK_S": "4",
                                                 "SPEECH_OVERLAP_S": "0"}})
    with serving(whisper), running(stack):
        api = stack.url("gateway")
        with open(video, "rb") as handle:
            uploaded = requests.post(f"{api}/uploads", files={"file": ("talk.mp4", handle, "video/mp4")})
        assert uploaded.status_code == 200, uploaded.text
        upload = uploaded.json()
        assert upload["url"].startswith("upload://") and upload["size_bytes"] == video.stat().st_size

        body = {"youtube_url": upload["url"], "max_frames": 3}
        task_id = requests.post(f"{api}/analyze", json=body).json()["task_id"]
        result = finish(api, task_id)
        assert result["status"] == "completed", result["error"]
        assert result["video_info"]["title"] == "talk" and result["video_info"]["duration"] == pytest.approx(6, abs=0.5)
        assert result["transcript_source"] == "speech_to_text"
        # Two windows of at most 4 s, each segment moved onto the video's clock.
        assert [s["start"] for s in result["transcript_segments"]] == [0.5, 4.5]
        assert len(FakeWhisperServer.windows) == 2


class ThrottledVideoOrigin(BaseHTTPRequestHandler):
    """Serves one real video at about 200 kB/s, so a download can be watched half-way."""

    video: bytes = b""

    def do_GET(self) -> None:
        data = type(self).video
        self.send_response(200)
        self.send_header("Content-Type", "video/mp4")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            for start in range(0, len(data), 16 * 1024):
                self.wfile.write(data[start:start + 16 * 1024])
                time.sleep(0.08)
        except OSError:
            pass

    def log_message(self, *args) -> None:
        pass


def test_download_progress_is_reported_on_the_task(sqlite_url, tmp_path):
    ThrottledVideoOrigin.video = make_video(tmp_path / "big.mp4", seconds=8, size="1280x720").read_bytes()
    assert len(ThrottledVideoOrigin.video) > 600_000  # several seconds at the throttled rate
    origin = ThreadingHTTPServer(("127.0.0.1", 0), ThrottledVideoOrigin)
    origin.daemon_threads = True
    stack = Stack(database_url=sqlite_url, workdir=tmp_path,
                  service_env={"orchestrator": {"PROGRESS_INTERVAL_S": "0.3"}})
    with serving(origin), running(stack):
        api = stack.url("gateway")
        url = f"http://127.0.0.1:{origin.server_address[1]}/big.mp4"
        task_id = requests.post(f"{api}/analyze", json={"youtube_url": url, "max_frames": 2}).json()["task_id"]
        seen = []
        deadline = time.monotonic() + 120
        while (task := requests.get(f"{api}/tasks/{task_id}").json())["status"] not in ("completed", "failed"):
            assert time.monotonic() < deadline
            progress = task["progress"]
            if progress and progress.get("downloaded_bytes"):
                seen.append(progress)
            time.sleep(0.2)
        assert task["status"] == "completed", task["error"]
        assert task["progress"] is None  # only while running
        assert seen, "no download progress was ever shown"
        assert all(p["stage"] == "downloading" and p["total_bytes"] == len(ThrottledVideoOrigin.video) for p in seen)
        assert 0 < seen[0]["fraction"] < 1 and seen[0]["downloaded_bytes"] < len(ThrottledVideoOrigin.video)
