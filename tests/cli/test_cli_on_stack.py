"""The `video-analysis` command and the guide's test_api.py against the whole system on the lite backend,
with videos served from 127.0.0.1."""

import json
import re

import pytest
import requests

from tests.support.http_server import serve_directory
from tests.support.processes import free_port
from tests.support.stack import running_stack
from tests.support.videos import make_video, write_video_page, write_vtt
from video_analysis_cli import errors
from video_analysis_cli.client import ApiClient
from video_analysis_cli.follow import follow_events
from video_analysis_cli.progress import STAGES as STATUSES

from .cli_runner import assert_clean_failure, run_test_script, video_analysis

CUES = ((0.2, 1.5, "The test pattern starts here."), (1.6, 2.9, "And here the short clip ends."))
STAGES = ["pending", "downloading", "extracting frames", "extracting transcript", "analyzing vision",
          "analyzing text", "completed"]
TASK_LINE = re.compile(r"^Task ([0-9a-f-]{36})  (\w+)$", re.MULTILINE)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A page embedding a 3-second MP4 with English subtitles."""
    root = tmp_path_factory.mktemp("cli-site")
    make_video(root / "clip.mp4", seconds=3, size="160x90")
    write_vtt(root / "clip.en.vtt", CUES)
    write_video_page(root / "watch.html", "clip.mp4", "CLI demo clip", vtt_name="clip.en.vtt")
    with serve_directory(root) as base:
        yield base


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    with running_stack(tmp_path_factory.mktemp("cli-stack")) as stack:
        yield stack.url("gateway")


def task_of(api: str, task_id: str) -> dict:
    return requests.get(f"{api}/tasks/{task_id}", timeout=10).json()


def frame_time(seconds: float) -> str:
    """How the CLI writes a frame's time under a minute: [0:02.4]."""
    return f"[0:{int(seconds):02d}.{int(seconds * 10) % 10}]"


def test_analyze_a_url_waits_and_prints_the_result_readably(api, site):
    run = video_analysis("analyze", f"{site}/watch.html", "--max-frames", "3", "--strategy", "uniform",
                         "--language", "en", "--wait", url=api)
    assert run.returncode == 0, run.stderr
    task_id, status = TASK_LINE.search(run.stdout).groups()
    assert status == "completed"
    task = task_of(api, task_id)
    assert task["status"] == "completed" and task["frame_strategy"] == "uniform"
    out = run.stdout
    assert "Video: CLI demo clip (0:03)" in out
    assert f"Summary\n{task['summary']}\n" in out
    for point in task["key_points"]:
        assert f"  • {point}\n" in out
    for chapter in task["chapters"] or []:
        assert chapter["title"] in out
    assert "Frames (uniform strategy)" in out and task["frames"]
    for frame in task["frames"]:
        assert f"  {frame_time(frame['timestamp'])} {frame['analysis']}\n" in out
        assert f"{api}/tasks/{task_id}/frames/{frame['index']}.jpg" in out
    assert task["transcript_source"] == "subtitles"
    assert f"from the site's subtitles (en), {len(task['transcript'])} characters, 2 segments" in out
    # Progress went to stderr, one line per stage seen, in the pipeline's order; the result alone to stdout.
    seen = [next((stage for stage in STAGES if line.startswith(f"… {stage}")), line)
            for line in run.stderr.splitlines()[1:]]
    assert set(seen) <= set(STAGES), run.stderr
    assert seen == sorted(set(seen), key=STAGES.index) and seen[-1] == "completed", run.stderr
    assert "…" not in out


def test_the_live_event_stream_is_read_to_its_end(api, site):
    """The service's own event stream, read by the CLI's follower, gives the finished task itself
    (follow_events answers None whenever it would leave the work to polling)."""
    task_id = requests.post(f"{api}/analyze", json={"youtube_url": f"{site}/watch.html", "max_frames": 2},
                            timeout=10).json()["task_id"]
    updates = []
    client = ApiClient(api)
    try:
        task = follow_events(client, task_id, lambda status, progress: updates.append(status))
    finally:
        client.close()
    assert task is not None and task["status"] == "completed"
    assert task == task_of(api, task_id)
    assert updates and set(updates) <= set(STATUSES) - {"completed", "failed"}


def test_analyze_a_local_file_uploads_it_and_json_is_the_task(api, tmp_path):
    video = make_video(tmp_path / "my talk.mp4", seconds=2, size="160x90")
    run = video_analysis("analyze", str(video), "--max-frames", "2", "--wait", "--json", url=api)
    assert run.returncode == 0, run.stderr
    task = json.loads(run.stdout)
    assert task == task_of(api, task["task_id"])
    assert task["status"] == "completed" and task["youtube_url"].startswith("upload://")
    assert task["video_info"]["title"] == "my talk"
    assert "Uploaded my talk.mp4 (" in run.stderr and task["youtube_url"] in run.stderr


def test_show_list_and_delete(api, site):
    started = video_analysis("analyze", f"{site}/watch.html", "--max-frames", "2", "--json", url=api)
    assert started.returncode == 0, started.stderr
    task_id = json.loads(started.stdout)["task_id"]
    assert json.loads(started.stdout)["status"] == "pending"

    shown = video_analysis("show", task_id, "--wait", "--json", url=api)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["status"] == "completed"
    shown = video_analysis("show", task_id, "--transcript", url=api)
    assert shown.returncode == 0 and f"Task {task_id}  completed" in shown.stdout
    assert "[0:00] The test pattern starts here.\n  [0:01] And here the short clip ends." in shown.stdout

    listed = video_analysis("list", url=api)
    assert listed.returncode == 0, listed.stderr
    assert re.search(rf"^{task_id}  completed +\S+  {re.escape(site)}/watch.html$", listed.stdout, re.MULTILINE)
    listing = json.loads(video_analysis("list", "--json", url=api).stdout)
    assert task_id in [t["task_id"] for t in listing["tasks"]] and listing["total"] >= 1

    deleted = video_analysis("delete", task_id, url=api)
    assert deleted.returncode == 0 and deleted.stdout == f"Task {task_id} has been deleted.\n"
    assert_clean_failure(video_analysis("show", task_id, url=api), errors.NOT_FOUND, f"Task {task_id} not found")
    assert_clean_failure(video_analysis("delete", task_id, url=api), errors.NOT_FOUND, "not found")


def test_health(api):
    run = video_analysis("health", url=api)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("Service: healthy\nGPU: none\nActive tasks: ")
    assert json.loads(video_analysis("health", "--json", url=api).stdout)["status"] == "healthy"


def test_refused_requests_say_why(api):
    run = video_analysis("analyze", "ftp://example.com/clip.mp4", url=api)
    assert_clean_failure(run, errors.REFUSED, "youtube_url: youtube_url must start with http:// or https://")
    run = video_analysis("analyze", "no-such-talk.mp4", url=api)
    assert_clean_failure(run, errors.REFUSED, "there is no file named 'no-such-talk.mp4'")
    run = video_analysis("analyze", "https://example.com/v.mp4", "--max-frames", "0", url=api)
    assert_clean_failure(run, errors.REFUSED, "max_frames")


def test_a_failed_task_prints_its_error_and_exits_1(api, site):
    run = video_analysis("analyze", f"{site}/missing.mp4", "--wait", url=api)
    assert_clean_failure(run, errors.TASK_FAILED, "the task failed: ", "404")
    assert re.search(r"^Error: .*404", run.stdout, re.MULTILINE)


def test_an_unreachable_service_is_named():
    closed = f"http://127.0.0.1:{free_port()}"
    for command in (["list"], ["health"], ["analyze", "https://example.com/v.mp4", "--wait"]):
        run = video_analysis(*command, url=closed)
        assert_clean_failure(run, errors.UNREACHABLE, f"cannot reach the service at {closed}", "VIDEO_ANALYSIS_URL")


def test_the_guides_test_script_runs_to_the_end(api, site):
    run = run_test_script(f"{site}/watch.html", api_url=api)
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    steps = ["1. Health check", "2. Analysis request", "3. Waiting for the task", "4. Result", "5. Task list"]
    assert [out.index(step) for step in steps] == sorted(out.index(step) for step in steps)
    task_id = re.search(r"task ([0-9a-f-]{36}): pending", out).group(1)
    task = task_of(api, task_id)
    assert task["status"] == "completed"
    assert f"summary: {task['summary']}" in out and "title: CLI demo clip" in out
    assert re.search(rf"^   {task_id}  completed ", out, re.MULTILINE)
    assert out.endswith("\nDone.\n")


def test_the_guides_test_script_names_an_unreachable_api():
    run = run_test_script(api_url=f"http://127.0.0.1:{free_port()}")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "Cannot reach the API at http://127.0.0.1:" in run.stderr
