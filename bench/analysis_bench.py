"""A 10-minute 720p spoken video analysed end to end on the lite backend.

    python -m bench.analysis_bench [--minutes 10] [--out docs/benchmarks.md]

The video is the frames benchmark's 720p H.264 test pattern with the speech benchmark's espeak-ng
talk as its sound (AAC). The whole system runs as real processes on loopback, as `make run` starts it
(lite server, media service, orchestrator on SQLite, gateway; default settings, so the transcript
comes from the lite server's speech-to-text). The file is uploaded, then analysed with `max_frames`
8; the time is from `POST /analyze` to `completed`, and each stage's time comes from the task's
event history (the time between one status and the next). Target: at most a fifth of the video's
length (120 s for 10 minutes).
"""

import argparse
import sqlite3
import subprocess
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx

from bench.frames_bench import make_bench_video
from bench.report import machine, publish
from bench.speech_bench import CACHE, audio_seconds, make_speech, word_recall
from tests.support.stack import running_stack
from tests.support.videos import FFMPEG

MARKER = "## A spoken video end to end"


def spoken_720p_video(minutes: float) -> tuple[Path, str]:
    speech, said = make_speech(minutes)
    path = CACHE / f"spoken-720p-{minutes:g}min.mp4"
    if not path.exists():
        picture = make_bench_video(CACHE / f"picture-720p-{minutes:g}min.mp4", minutes, "libx264")
        subprocess.run([FFMPEG, "-y", "-loglevel", "error", "-i", str(picture), "-i", str(speech), "-map", "0:v",
                        "-map", "1:a", "-c:v", "copy", "-c:a", "aac", "-t", str(minutes * 60), str(path)],
                       check=True, timeout=600)
    return path, said


def stage_seconds(database: Path, task_id: str) -> list[tuple[str, float]]:
    """(status, seconds spent in it) in order, from the task's status events."""
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT at, status FROM task_events WHERE task_id = ? AND kind = 'status' ORDER BY id",
                          (task_id,)).fetchall()
    times = [(datetime.fromisoformat(str(at)), status) for at, status in rows]
    return [(status, (later - at).total_seconds()) for (at, status), (later, _) in zip(times, times[1:], strict=False)]


def analyse(api: str, video: Path) -> tuple[dict, float]:
    with httpx.Client(base_url=api, timeout=600) as http:
        with open(video, "rb") as handle:
            upload = http.post("/uploads", files={"file": (video.name, handle, "video/mp4")})
        upload.raise_for_status()
        started = time.perf_counter()
        task_id = http.post("/analyze", json={"youtube_url": upload.json()["url"], "max_frames": 8}).json()["task_id"]
        while (task := http.get(f"/tasks/{task_id}").json())["status"] not in ("completed", "failed"):
            time.sleep(0.2)
        return task, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    video, said = spoken_720p_video(args.minutes)
    seconds = audio_seconds(video)
    with tempfile.TemporaryDirectory(prefix="analysis-bench-") as work, running_stack(Path(work)) as stack:
        task, wall_s = analyse(stack.url("gateway"), video)
        stages = stage_seconds(Path(work) / "tasks.db", task["task_id"])
    if task["status"] != "completed":
        raise SystemExit(f"the analysis failed: {task['error']}")
    target = seconds / 5
    rows = [f"| {status} | {spent:.1f} s |" for status, spent in stages]
    table = "\n".join([
        f"### {seconds / 60:.1f} min 1280x720 H.264 with espeak-ng speech, max_frames 8 "
        f"({machine()})",
        "",
        "| stage | time |",
        "|---|---|",
        *rows,
        f"| **submit to completed** | **{wall_s:.1f} s** |",
        "",
        f"transcript: {task['transcript_source']}, {len(task['transcript_segments'] or [])} segments, word recall "
        f"{word_recall(task['transcript'] or '', said):.0%}; {len(task['frames'])} frames; "
        f"{len(task.get('chapters') or [])} chapters; {len(task['key_points'])} key points.",
        "",
        f"{wall_s:.0f} s for {seconds:.0f} s of video "
        f"(target ≤ {target:.0f} s: {'met' if wall_s <= target else 'missed'}).",
    ])
    publish(table, args.out, MARKER, "bench.analysis_bench", __doc__)


if __name__ == "__main__":
    main()
