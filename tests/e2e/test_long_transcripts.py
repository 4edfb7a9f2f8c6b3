"""A transcript longer than the text model can take at once is summarised in parts, then as a whole."""

import time

import requests

from tests.support.http_server import serve_directory
from tests.support.stack import Stack, running
from tests.support.videos import make_video, write_video_page, write_vtt

TOPICS = ["solar panels", "wind turbines", "river dams", "heat pumps", "battery storage", "power grids"]


def test_long_transcript_is_summarised_in_parts(sqlite_url, tmp_path):
    cues = [(i * 1.0, i * 1.0 + 0.9, f"Part {i} explains how {TOPICS[i % len(TOPICS)]} make clean energy cheaper.")
            for i in range(60)]
    make_video(tmp_path / "talk.mp4", seconds=61)
    write_vtt(tmp_path / "talk.en.vtt", cues)
    write_video_page(tmp_path / "talk.html", "talk.mp4", "Clean energy talk", vtt_name="talk.en.vtt")
    stack = Stack(database_url=sqlite_url, workdir=tmp_path,
                  service_env={"orchestrator": {"MAX_TRANSCRIPT_CHARS": "1000"}})
    with serve_directory(tmp_path) as base, running(stack):
        api = stack.url("gateway")
        task_id = requests.post(f"{api}/analyze", json={
            "youtube_url": f"{base}/talk.html", "max_frames": 2, "language": "English",
            "prompt": "focus on costs"}).json()["task_id"]
        deadline = time.monotonic() + 120
        while (result := requests.get(f"{api}/tasks/{task_id}").json())["status"] not in ("completed", "failed"):
            assert time.monotonic() < deadline
            time.sleep(0.3)
        assert result["status"] == "completed", result["error"]
        assert len(result["transcript"]) > 3000
        assert any(note.startswith("the transcript was summarised in") for note in result["notes"])
        assert "clean energy" in result["summary"] and result["key_points"]
