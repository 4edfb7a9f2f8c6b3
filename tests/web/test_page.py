"""The page at /ui in headless Chromium against the whole system on the lite backend: submit a link or a
file, watch the task move through its stages, read the result, list and delete tasks, at desktop and
phone width. One stack for the module; the videos are a few seconds long and served from 127.0.0.1."""

import json
import re
import time

import pytest
import requests
from playwright.sync_api import expect

from tests.support.http_server import serve_directory
from tests.support.stack import running_stack
from tests.support.video_origin import serve_videos
from tests.support.videos import DEFAULT_CUES, make_video, write_video_site

from .conftest import PHONE

FINISHED_S = 90_000  # ms a task of a few seconds' video may take on a busy 2-core machine
TERMINAL = {"completed", "failed"}
STAGE_NAMES = ["Waiting to start", "Downloading the video", "Picking the frames", "Reading the transcript",
               "Describing the frames", "Writing the summary"]
BYTES_OF = re.compile(r"\d+(\.\d)? [KM]B of \d+(\.\d)? [KM]B")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with running_stack(tmp_path_factory.mktemp("web-stack")) as stack:
        yield stack


@pytest.fixture(scope="module")
def api(stack):
    return stack.url("gateway")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A page embedding a 6 s clip with English subtitles (DEFAULT_CUES)."""
    root = tmp_path_factory.mktemp("web-site")
    write_video_site(root, seconds=9)
    with serve_directory(root) as base:
        yield base


@pytest.fixture(scope="module")
def slow_origin(tmp_path_factory):
    """A 4 s clip whose every download takes about 5 s, so the page has time to show it going."""
    video = make_video(tmp_path_factory.mktemp("web-slow") / "clip.mp4", seconds=4)
    with serve_videos(video, count=4, send_s=5) as origin:
        yield origin


@pytest.fixture(scope="module")
def small_file(tmp_path_factory):
    return make_video(tmp_path_factory.mktemp("web-upload") / "holiday clip.mp4", seconds=3, size="320x180")


def wait_for_task(api: str, task_id: str, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        task = requests.get(f"{api}/tasks/{task_id}", timeout=10).json()
        if task["status"] in TERMINAL or time.monotonic() > deadline:
            return task
        time.sleep(0.3)


@pytest.fixture(scope="module")
def finished_task(api, site):
    """A task analysed to the end through the API, for the tests that only read a result."""
    body = {"youtube_url": f"{site}/watch.html", "max_frames": 4, "frame_strategy": "uniform"}
    task = wait_for_task(api, requests.post(f"{api}/analyze", json=body, timeout=10).json()["task_id"])
    assert task["status"] == "completed", task["error"]
    return task


def task_id_of(page) -> str:
    match = re.search(r"#task=([0-9a-f-]{36})", page.url)
    assert match, page.url
    return match.group(1)


def submitted_bodies(watched) -> list[dict]:
    return watched.analyze_bodies


def record_analyze_bodies(watched) -> None:
    watched.analyze_bodies = []
    watched.page.on("request", lambda request: watched.analyze_bodies.append(json.loads(request.post_data))
                    if request.method == "POST" and request.url == watched.origin + "/analyze" else None)


def open_options(page) -> None:
    options = page.locator("details.options")
    if options.get_attribute("open") is None:
        page.get_by_text("Options", exact=True).click()


def expect_completed_result(page, frames: int) -> None:
    expect(page.locator(".task-head .badge")).to_have_text("Completed", timeout=FINISHED_S)
    expect(page.locator(".summary-text")).not_to_be_empty()
    expect(page.locator(".strip .frame")).to_have_count(frames)
    # Every frame image arrives (through fetch, with the key if there is one) and is shown as a blob: URL.
    expect(page.locator(".strip .frame img")).to_have_count(frames)
    page.wait_for_function("""() => [...document.querySelectorAll('.strip img')]
        .every(img => img.complete && img.naturalWidth > 0 && img.src.startsWith('blob:'))""")


def test_the_form_offers_the_deployed_tiers_and_loads_nothing_from_elsewhere(open_page, api):
    watched = open_page(api)
    page = watched.page
    response = requests.get(f"{api}/ui", timeout=10)
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "unsafe-inline" not in policy and "script-src 'self'" in policy
    assert requests.get(api, timeout=10).json()["name"] == "YouTube Video Analysis API"  # GET / stays JSON

    expect(page.get_by_role("heading", name="New analysis")).to_be_visible()
    expect(page.get_by_label("Video link")).to_have_attribute("type", "url")
    open_options(page)
    # The tiers come from /health: the lite backend deploys all three of both roles.
    for select in ("Vision model", "Text model"):
        expect(page.get_by_label(select).locator("option")).to_have_count(3)
        assert page.get_by_label(select).input_value() == "int4"
    for label in ("Max frames", "Frames", "Summary language", "Instructions"):
        expect(page.get_by_label(label, exact=True)).to_be_visible()
    watched.screenshot("01-form")
    watched.assert_stayed_on_origin()
    assert any(url.endswith("/ui/assets/app.js") for url in watched.requests)


def test_a_link_is_analysed_and_its_result_read_without_a_reload(open_page, api, site):
    watched = open_page(api)
    page = watched.page
    record_analyze_bodies(watched)
    page.evaluate("window.sameDocument = true")
    page.get_by_label("Video link").fill(f"{site}/watch.html")
    open_options(page)
    page.get_by_label("Max frames").fill("4")
    page.get_by_label("Frames", exact=True).select_option("uniform")
    page.get_by_label("Vision model").select_option("int8")
    page.get_by_label("Summary language").fill("English")
    page.get_by_label("Instructions").fill("Focus on the colours")
    page.get_by_label("Video link").press("Enter")

    expect_completed_result(page, frames=4)
    assert page.evaluate("window.sameDocument") is True, "the page reloaded"
    assert submitted_bodies(watched) == [{
        "youtube_url": f"{site}/watch.html", "max_frames": 4, "frame_strategy": "uniform",
        "vision_quantization": "int8", "text_quantization": "int4", "language": "English",
        "prompt": "Focus on the colours"}]
    task = requests.get(f"{api}/tasks/{task_id_of(page)}", timeout=10).json()
    assert task["status"] == "completed"

    expect(page.locator(".task-head h1")).to_have_text("Colour bars demo")
    expect(page.locator(".summary-text")).to_have_text(task["summary"])
    expect(page.locator(".points li")).to_have_count(len(task["key_points"]))
    expect(page.locator(".chapters li")).to_have_count(len(task["chapters"]))
    lines = page.locator(".transcript li")
    expect(lines).to_have_count(len(DEFAULT_CUES))
    for index, (start, _end, text) in enumerate(DEFAULT_CUES):
        expect(lines.nth(index)).to_contain_text(text)
        expect(lines.nth(index).locator(".time")).to_have_text(f"0:{int(start):02d}")
    for index, frame in enumerate(task["frames"]):
        expect(page.locator(".strip .frame").nth(index).locator("figcaption")).to_have_text(frame["analysis"])
    # The task list shows it, and the stage bar is gone.
    expect(page.locator(f'.task-item[data-task-id="{task["task_id"]}"]')).to_contain_text("Completed")
    expect(page.locator(".progress-panel")).to_be_hidden()
    page.evaluate("window.scrollTo(0, 0)")
    watched.screenshot("03-result")
    watched.screenshot("03-result-full", full_page=True)

    # A time goes to its moment: the last frame at or before it, and the line being spoken.
    lines.nth(2).locator(".time").click()
    spoken_at = DEFAULT_CUES[2][0]
    shown = max(i for i, f in enumerate(task["frames"]) if f["timestamp"] <= spoken_at + 0.5)
    expect(page.locator(".strip .frame").nth(shown)).to_have_class(re.compile(r"\bactive\b"))
    expect(lines.nth(2)).to_have_class(re.compile(r"\bactive\b"))
    expect(page.locator(".strip .frame.active")).to_have_count(1)
    expect(page.locator(".strip .frame").nth(shown)).to_be_in_viewport()
    page.locator(".strip .frame").nth(0).locator(".time").click()
    expect(lines.nth(0)).to_have_class(re.compile(r"\bactive\b"))
    watched.assert_stayed_on_origin()


def test_progress_moves_live_through_the_stages(open_page, api, slow_origin):
    watched = open_page(api)
    page = watched.page
    page.get_by_label("Video link").fill(slow_origin.url(0))
    page.get_by_role("button", name="Analyse video").click()

    seen_stages, seen_details = [], set()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        badge = page.locator(".task-head .badge")
        if badge.count() and badge.inner_text() in ("Completed", "Failed"):
            break
        stage = page.locator(".stage-name")
        if stage.count():
            name = stage.inner_text()
            if not seen_stages or seen_stages[-1] != name:
                seen_stages.append(name)
            detail = page.locator(".progress-detail")
            if detail.count():
                text = detail.inner_text()
                if BYTES_OF.search(text) and "02-running" not in seen_details:
                    watched.screenshot("02-running")
                    seen_details.add("02-running")
                seen_details.add(text)
        time.sleep(0.1)
    expect_completed_result(page, frames=len(requests.get(
        f"{api}/tasks/{task_id_of(page)}", timeout=10).json()["frames"]))
    # The stages came in their order, the download among them with its bytes out of the whole.
    assert "Downloading the video" in seen_stages and len(seen_stages) >= 2, seen_stages
    order = [STAGE_NAMES.index(name) for name in seen_stages]
    assert order == sorted(order), seen_stages
    assert any(BYTES_OF.search(text) and text.endswith(" %") for text in seen_details), seen_details
    assert "02-running" in seen_details


def test_a_file_is_uploaded_and_analysed(open_page, api, small_file):
    watched = open_page(api)
    page = watched.page
    page.get_by_text("File", exact=True).click()
    expect(page.get_by_label("Video link")).to_be_hidden()
    page.get_by_label("Video file").set_input_files(str(small_file))
    open_options(page)
    page.get_by_label("Max frames").fill("2")
    page.get_by_role("button", name="Analyse video").click()

    expect_completed_result(page, frames=2)
    task = requests.get(f"{api}/tasks/{task_id_of(page)}", timeout=10).json()
    assert task["youtube_url"].startswith("upload://")
    expect(page.locator(".task-url")).to_have_text("Uploaded file")
    expect(page.locator(".transcript-panel")).to_contain_text("no transcript")


def test_a_refused_link_and_a_failed_download_are_told_in_words(open_page, api, site):
    watched = open_page(api)
    page = watched.page
    refused = "ftp://example.org/video.mp4"
    expected = requests.post(f"{api}/analyze", json={"youtube_url": refused}, timeout=10).json()["detail"][0]["msg"]
    assert "http://" in expected
    page.get_by_label("Video link").fill(refused)
    page.get_by_label("Video link").press("Enter")
    expect(page.locator("#form-error")).to_be_visible()
    expect(page.locator("#form-error")).to_contain_text(expected.removeprefix("Value error, "))
    expect(page.get_by_label("Video link")).to_have_attribute("aria-invalid", "true")

    page.get_by_label("Video link").fill("")
    page.get_by_role("button", name="Analyse video").click()
    expect(page.locator("#form-error")).to_have_text("Paste the link of a video.")

    page.get_by_label("Video link").fill(f"{site}/missing.mp4")
    page.get_by_label("Video link").press("Enter")
    expect(page.locator("#form-error")).to_be_hidden()
    expect(page.locator(".task-head .badge")).to_have_text("Failed", timeout=FINISHED_S)
    task = requests.get(f"{api}/tasks/{task_id_of(page)}", timeout=10).json()
    assert task["status"] == "failed" and "404" in task["error"]
    expect(page.locator(".error-panel")).to_contain_text("The analysis failed")
    expect(page.locator(".task-error")).to_have_text(task["error"])
    watched.screenshot("05-failed")


def test_a_task_is_deleted_from_the_list(open_page, api, site):
    task_id = requests.post(f"{api}/analyze", json={"youtube_url": f"{site}/missing.mp4"},
                            timeout=10).json()["task_id"]
    watched = open_page(api, f"/ui#task={task_id}")
    page = watched.page
    row = page.locator(f'.task-item[data-task-id="{task_id}"]')
    expect(row).to_have_attribute("aria-current", "true")
    row.get_by_role("button", name=re.compile(r"^Delete ")).click()
    row.get_by_role("button", name="Keep").click()
    expect(row).to_be_visible()
    row.get_by_role("button", name=re.compile(r"^Delete ")).click()
    row.get_by_role("button", name=re.compile(r"^Confirm: delete")).click()
    expect(row).to_have_count(0)
    expect(page.locator("#toast")).to_have_text(f"Task {task_id} has been deleted.")
    expect(page.locator("#welcome")).to_be_visible()
    assert requests.get(f"{api}/tasks/{task_id}", timeout=10).status_code == 404
    page.reload()
    expect(page.locator("#task-list")).to_be_attached()
    page.wait_for_load_state("networkidle")
    expect(page.locator(f'.task-item[data-task-id="{task_id}"]')).to_have_count(0)


def test_tasks_open_from_the_list(open_page, api, finished_task):
    watched = open_page(api)
    page = watched.page
    page.locator(f'.task-item[data-task-id="{finished_task["task_id"]}"] .task-open').click()
    expect_completed_result(page, frames=len(finished_task["frames"]))
    assert task_id_of(page) == finished_task["task_id"]
    expect(page.locator(".task-head h1")).to_be_focused()
    # Times work from the keyboard too.
    page.locator(".transcript .time").nth(1).focus()
    page.keyboard.press("Enter")
    expect(page.locator(".transcript li").nth(1)).to_have_class(re.compile(r"\bactive\b"))
    expect(page.locator(".strip .frame.active")).to_have_count(1)
    page.evaluate("window.scrollTo(0, 0)")
    page.mouse.move(0, 0)
    watched.screenshot("10-result-opened", full_page=True)
    expect(page.locator(f'.task-item[data-task-id="{finished_task["task_id"]}"] .task-name')).to_have_text(
        "Colour bars demo")


def no_horizontal_overflow(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide at {PHONE['width']} px"


def test_the_page_fits_a_phone(open_page, api, finished_task):
    watched = open_page(api, viewport=PHONE, is_mobile=True, has_touch=True)
    page = watched.page
    expect(page.get_by_label("Video link")).to_be_visible()
    no_horizontal_overflow(page)
    watched.screenshot("04-phone-form", full_page=True)

    page.goto(f"{api}/ui#task={finished_task['task_id']}")
    expect_completed_result(page, frames=len(finished_task["frames"]))
    open_options(page)
    no_horizontal_overflow(page)
    page.evaluate("window.scrollTo(0, 0)")
    watched.screenshot("04-phone-result", full_page=True)
    watched.assert_stayed_on_origin()


def test_the_dark_scheme_renders(open_page, api, finished_task):
    watched = open_page(api, f"/ui#task={finished_task['task_id']}", color_scheme="dark")
    expect_completed_result(watched.page, frames=len(finished_task["frames"]))
    background = watched.page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background != "rgb(243, 244, 249)", background
    watched.screenshot("06-dark-result")


# How the page follows a running task does not depend on GET /tasks/{id}/events being there: the tests
# below stand in for it (and for a running task) with Playwright routes, so each path is taken for sure.

def sse(events: list[tuple[str, dict]], heartbeat: bool = True) -> str:
    lines = [": keep-alive\r\n\r\n"] if heartbeat else []
    for number, (name, data) in enumerate(events, start=1):
        lines.append(f"id: {number}\r\nevent: {name}\r\ndata: {json.dumps(data)}\r\n\r\n")
    return "".join(lines)


def running_copy(task: dict, status: str = "analyzing_vision") -> dict:
    return {**task, "status": status, "completed_at": None, "summary": None, "key_points": None,
            "frames": None, "frame_analyses": None, "transcript": None, "transcript_segments": None,
            "chapters": None, "progress": {"stage": status, "fraction": 0.5, "downloaded_bytes": None,
                                            "total_bytes": None, "detail": "2 of 4 frames"}}


def test_the_event_stream_is_followed_to_its_done_event(open_page, api, finished_task):
    task_id = finished_task["task_id"]
    watched = open_page(api, path=None)
    page = watched.page
    reads = []
    page.route(f"{api}/tasks/{task_id}", lambda route: (
        reads.append(time.monotonic()), route.fulfill(json=running_copy(finished_task))))
    done = {**finished_task, "summary": "Told by the event stream."}
    stream = sse([
        ("progress", {"task_id": task_id, "status": "analyzing_vision",
                      "progress": {"stage": "analyzing_vision", "fraction": 0.75, "downloaded_bytes": None,
                                   "total_bytes": None, "detail": "3 of 4 frames"}}),
        ("progress", {"task_id": task_id, "status": "analyzing_text", "progress": None}),
        ("done", done),
    ])
    events = []
    page.route(f"{api}/tasks/{task_id}/events", lambda route: (
        events.append(route.request.headers.get("accept")),
        route.fulfill(status=200, headers={"Content-Type": "text/event-stream"}, body=stream)))
    page.goto(f"{api}/ui#task={task_id}")

    expect_completed_result(page, frames=len(finished_task["frames"]))
    expect(page.locator(".summary-text")).to_have_text("Told by the event stream.")
    assert events == ["text/event-stream"]
    time.sleep(2.5)  # a poll would have come by now
    # The first read, and at most one more when the stage changed (for the title); no polling.
    assert 1 <= len(reads) <= 3, reads


@pytest.mark.parametrize("events_answer", ["missing", "cut short"])
def test_without_the_event_stream_the_page_polls(open_page, api, finished_task, events_answer):
    task_id = finished_task["task_id"]
    watched = open_page(api, path=None)
    page = watched.page
    reads = []

    def task_route(route):
        reads.append(time.monotonic())
        if len(reads) <= 3:  # running for the first reads, then the real (finished) task
            route.fulfill(json=running_copy(finished_task, "analyzing_text"))
        else:
            route.fallback()

    def events_route(route):
        if events_answer == "missing":
            route.fulfill(status=404, json={"detail": "Not Found"})
        else:  # the stream ends before its done event
            route.fulfill(status=200, headers={"Content-Type": "text/event-stream"}, body=sse([
                ("progress", {"task_id": task_id, "status": "analyzing_text", "progress": None})]))

    page.route(f"{api}/tasks/{task_id}", task_route)
    page.route(f"{api}/tasks/{task_id}/events", events_route)
    page.goto(f"{api}/ui#task={task_id}")
    expect(page.locator(".stage-name")).to_have_text("Writing the summary")
    expect_completed_result(page, frames=len(finished_task["frames"]))
    expect(page.locator(".summary-text")).to_have_text(finished_task["summary"])
    assert len(reads) >= 4
    gaps = [later - earlier for earlier, later in zip(reads[1:], reads[2:], strict=False)]
    assert all(1.5 < gap < 4 for gap in gaps), gaps  # every 2 s
