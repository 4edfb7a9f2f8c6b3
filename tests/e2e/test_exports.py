"""Exports through the whole system (one stack on SQLite, API keys on): a video with English subtitles is
analysed, then its transcript is fetched as SubRip and WebVTT and read back with real parsers (srt,
webvtt-py), its report as Markdown; ETags, key scoping, and the answers for a task still running."""

import time
from datetime import timedelta

import httpx
import pytest
import srt
import webvtt
from markdown_it import MarkdownIt

from tests.support.polling import wait_until
from tests.support.stack import running_stack
from tests.support.videos import DEFAULT_CUES

ALICE, BOB = {"Authorization": "Bearer key-of-alice-0001"}, {"Authorization": "Bearer key-of-bob-00001"}
EXPORTS = ("transcript.srt", "transcript.vtt", "report.md")


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    keys = {"API_KEYS": "alice:key-of-alice-0001,bob:key-of-bob-00001"}
    with running_stack(tmp_path_factory.mktemp("stack"), extra_env=keys) as stack:
        yield stack.url("gateway")


@pytest.fixture(scope="module")
def http():
    with httpx.Client(timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def task(api, http, video_site) -> dict:
    """Alice's completed analysis of the video site's clip (its subtitles are DEFAULT_CUES)."""
    answer = http.post(f"{api}/analyze", json={"youtube_url": f"{video_site}/watch.html", "max_frames": 2},
                       headers=ALICE)
    assert answer.status_code == 200, answer.text
    task_id = answer.json()["task_id"]
    deadline = time.monotonic() + 90
    while (result := http.get(f"{api}/tasks/{task_id}", headers=ALICE).json())["status"] not in (
            "completed", "failed"):
        assert time.monotonic() < deadline, f"task {task_id} did not finish: {result['status']}"
        time.sleep(0.2)
    assert result["status"] == "completed", result["error"]
    assert result["transcript_source"] == "subtitles" and len(result["transcript_segments"]) == len(DEFAULT_CUES)
    return result


def export(api: str, http: httpx.Client, task: dict, name: str, headers=ALICE) -> httpx.Response:
    return http.get(f"{api}/tasks/{task['task_id']}/{name}", headers=headers)


def check_file_headers(answer: httpx.Response, content_type: str, filename: str) -> None:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == content_type
    assert answer.headers["content-disposition"] == f'attachment; filename="{filename}"'
    assert answer.headers["cache-control"] == "private, no-cache"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["etag"].startswith('"') and len(answer.headers["etag"]) > 10


def expected_cues(task: dict) -> list[tuple[float, float, str]]:
    got = [(s["start"], s["end"], s["text"]) for s in task["transcript_segments"]]
    # The segments are the site's subtitles, to the millisecond.
    assert got == [(pytest.approx(a, abs=0.001), pytest.approx(b, abs=0.001), t) for a, b, t in DEFAULT_CUES]
    return got


def test_the_transcript_as_subrip(api, http, task):
    answer = export(api, http, task, "transcript.srt")
    check_file_headers(answer, "application/x-subrip; charset=utf-8", "Colour-bars-demo.srt")
    cues = list(srt.parse(answer.text))
    assert [c.index for c in cues] == [1, 2, 3]
    assert [(c.start, c.end, c.content) for c in cues] == [
        (timedelta(milliseconds=round(a * 1000)), timedelta(milliseconds=round(b * 1000)), t)
        for a, b, t in expected_cues(task)]


def test_the_transcript_as_webvtt(api, http, task):
    answer = export(api, http, task, "transcript.vtt")
    check_file_headers(answer, "text/vtt; charset=utf-8", "Colour-bars-demo.vtt")
    assert answer.text.startswith("WEBVTT\n")
    captions = webvtt.from_string(answer.text, strict=True).captions
    assert [(c.start_time.to_tuple(), c.end_time.to_tuple(), c.text) for c in captions] == [
        (seconds_tuple(a), seconds_tuple(b), t) for a, b, t in expected_cues(task)]


def seconds_tuple(seconds: float) -> tuple[int, int, int, int]:
    ms = round(seconds * 1000)
    return ms // 3_600_000, ms // 60_000 % 60, ms // 1000 % 60, ms % 1000


def test_the_report(api, http, task):
    answer = export(api, http, task, "report.md")
    check_file_headers(answer, "text/markdown; charset=utf-8", "Colour-bars-demo.md")
    report = answer.text
    assert report.startswith("# Colour bars demo\n")
    headings = [line for line in report.splitlines() if line.startswith("## ")]
    assert headings[:5] == ["## Summary", "## Key points", "## Chapters", "## Frames", "## Transcript"]
    assert f"- **Source:** <{task['youtube_url']}>" in report
    assert "- **Duration:** 0:10" in report
    assert f"- **Task:** {task['task_id']}" in report
    for start, end, text in DEFAULT_CUES:
        assert f"- **0:{int(start):02d}–0:{int(end):02d}** {text}" in report

    html = MarkdownIt("commonmark").render(report)
    frames = task["frames"]
    assert frames and report.count("\n### Frame ") == len(frames)
    for frame in frames:
        image = f"{api}{frame['image_url']}"
        assert f'<img src="{image}"' in html
        fetched = http.get(image, headers=ALICE)
        assert fetched.status_code == 200 and fetched.content[:2] == b"\xff\xd8"
    assert f"<li><strong>Source:</strong> <a href=\"{task['youtube_url']}\">" in html


@pytest.mark.parametrize("name", EXPORTS)
def test_a_current_etag_is_answered_304(api, http, task, name):
    first = export(api, http, task, name)
    tag = first.headers["etag"]
    again = export(api, http, task, name, headers={**ALICE, "If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == tag and again.headers["cache-control"] == "private, no-cache"
    weak_in_a_list = export(api, http, task, name, headers={**ALICE, "If-None-Match": f'"old", W/{tag}'})
    assert weak_in_a_list.status_code == 304
    stale = export(api, http, task, name, headers={**ALICE, "If-None-Match": '"not-the-current-one"'})
    assert stale.status_code == 200 and stale.content == first.content and stale.headers["etag"] == tag


@pytest.mark.parametrize("name", EXPORTS)
def test_only_the_tasks_key_gets_its_exports(api, http, task, name):
    task_id = task["task_id"]
    refused = export(api, http, task, name, headers=BOB)
    assert refused.status_code == 404 and refused.json() == {"detail": f"Task {task_id} not found"}
    assert export(api, http, task, name, headers={}).status_code == 401
    for other in ("not-a-task", "00000000-0000-4000-8000-000000000000"):
        missing = http.get(f"{api}/tasks/{other}/{name}", headers=ALICE)
        assert missing.status_code == 404 and missing.json() == {"detail": f"Task {other} not found"}


def test_a_running_task_has_no_exports_yet_and_says_why(api, http, silent_origin):
    answer = http.post(f"{api}/analyze", json={"youtube_url": silent_origin}, headers=ALICE)
    task_id = answer.json()["task_id"]
    try:
        wait_until(lambda: http.get(f"{api}/tasks/{task_id}", headers=ALICE).json()["status"] == "downloading",
                   10, "the task never started downloading")
        for name in ("transcript.srt", "transcript.vtt"):
            refused = http.get(f"{api}/tasks/{task_id}/{name}", headers=ALICE)
            assert refused.status_code == 404
            assert refused.json() == {"detail": f"Task {task_id} has no transcript yet (status: downloading)"}
        report = http.get(f"{api}/tasks/{task_id}/report.md", headers=ALICE)
        assert report.status_code == 409
        assert report.json()["detail"].startswith(f"Task {task_id} is not completed yet (status: downloading)")
    finally:
        http.delete(f"{api}/tasks/{task_id}", headers=ALICE)


def test_the_exports_are_described(api, http):
    listed = http.get(f"{api}/").json()["endpoints"]
    paths = http.get(f"{api}/openapi.json").json()["paths"]
    for name in EXPORTS:
        assert f"GET /tasks/{{task_id}}/{name}" in listed
        assert f"/tasks/{{task_id}}/{name}" in paths
