"""DELETE /downloads/{job_id}: a real service cancelling a real download from a slow origin on 127.0.0.1."""

import threading
import time
import uuid

import httpx
import pytest

from tests.support.videos import make_video

from .conftest import media_service_process
from .slow_origin import children, group_members, slow_origin
from .test_media_api import TIMEOUT, download

PAUSE_S = 0.1  # 16 KiB per pause: the 1.3 MB videos take about 8 s


@pytest.fixture(scope="module")
def cancel_site(tmp_path_factory):
    root = tmp_path_factory.mktemp("cancel-site")
    make_video(root / "cancel.mp4", seconds=6)
    make_video(root / "shared.mp4", seconds=6)
    make_video(root / "orphaned.mp4", seconds=6)
    return root


@pytest.fixture
def slow(cancel_site):
    with slow_origin(cancel_site, PAUSE_S) as server:
        yield server


@pytest.fixture(scope="module")
def own_service(tmp_path_factory):
    """A service of its own: the test looks at its child processes and its whole work directory."""
    media_dir = tmp_path_factory.mktemp("cancel-media")
    with media_service_process(media_dir, EGRESS_ALLOW_CIDRS="127.0.0.1/32") as (base, process):
        yield base, process, media_dir


def start_download(base: str, url: str, job_id: str) -> tuple[threading.Thread, list[httpx.Response]]:
    answers: list[httpx.Response] = []
    thread = threading.Thread(target=lambda: answers.append(download(base, url, job_id=job_id)), daemon=True)
    thread.start()
    return thread, answers


def progress(base: str, job_id: str) -> dict:
    return httpx.get(f"{base}/downloads/{job_id}/progress").json()


def wait_for(check, what: str, timeout: float = TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def downloading(base: str, job_id: str) -> bool:
    state = progress(base, job_id)
    return state["state"] == "downloading" and bool(state["downloaded_bytes"])


def entry_ids(base: str) -> list[str]:
    return [m["media_id"] for m in httpx.get(f"{base}/media").json()["media"]]


def assert_cancelled(thread: threading.Thread, answers: list[httpx.Response], within_s: float = 3.0) -> None:
    thread.join(timeout=within_s)
    assert not thread.is_alive(), "the cancelled POST /downloads was not answered"
    assert answers[0].status_code == 409, answers[0].text
    assert answers[0].json() == {"detail": "download cancelled", "retryable": False}


def test_cancel_kills_the_fetch_and_leaves_nothing_behind(own_service, slow):
    base, process, media_dir = own_service
    url = f"{slow.base}/throttled/cancel.mp4"
    job_id = str(uuid.uuid4())
    stored_before = set(entry_ids(base))
    thread, answers = start_download(base, url, job_id)
    wait_for(lambda: downloading(base, job_id), "the download to start")
    fetchers = children(process.pid)
    assert fetchers, "the download runs in a child process"

    started = time.monotonic()
    assert httpx.delete(f"{base}/downloads/{job_id}").status_code == 204
    assert_cancelled(thread, answers)
    assert time.monotonic() - started < 3.0
    assert children(process.pid) == set()
    assert all(not group_members(pid) for pid in fetchers)  # each fetcher leads its own process group
    assert list((media_dir / ".work").iterdir()) == []
    assert progress(base, job_id)["state"] == "failed"
    listing = httpx.get(f"{base}/media").json()
    assert {m["media_id"] for m in listing["media"]} == stored_before and listing["work_bytes"] == 0

    # Idempotent, and a job that never ran is no error either.
    assert httpx.delete(f"{base}/downloads/{job_id}").status_code == 204
    assert httpx.delete(f"{base}/downloads/{uuid.uuid4()}").status_code == 204

    # Nothing of the cancelled download was kept (see the listing above), and asking again works.
    slow.pause_s = 0.0
    again = download(base, url, job_id=str(uuid.uuid4()))
    assert again.status_code == 200, again.text
    assert set(entry_ids(base)) == stored_before | {again.json()["media_id"]}


def test_cancelling_one_request_leaves_the_others_for_the_same_video(own_service, slow):
    base, _process, _media_dir = own_service
    url = f"{slow.base}/throttled/shared.mp4"
    fetcher, waiter, later = (str(uuid.uuid4()) for _ in range(3))
    fetching = start_download(base, url, fetcher)
    wait_for(lambda: downloading(base, fetcher), "the first download to start")
    waiting = start_download(base, url, waiter)
    wait_for(lambda: progress(base, waiter)["state"] == "extracting", "the second request to wait")

    # A request waiting for another's fetch stops alone; the fetch goes on.
    assert httpx.delete(f"{base}/downloads/{waiter}").status_code == 204
    assert_cancelled(*waiting)
    assert fetching[0].is_alive() and progress(base, fetcher)["state"] == "downloading"

    # The fetching request stops; one still waiting then fetches the video itself.
    waiting_later = start_download(base, url, later)
    wait_for(lambda: progress(base, later)["state"] == "extracting", "the third request to wait")
    assert httpx.delete(f"{base}/downloads/{fetcher}").status_code == 204
    assert_cancelled(*fetching)
    slow.pause_s = 0.0
    waiting_later[0].join(timeout=TIMEOUT)
    answer = waiting_later[1][0]
    assert answer.status_code == 200, answer.text
    assert progress(base, later)["state"] == "done"
    assert answer.json()["media_id"] in entry_ids(base)


def test_a_caller_that_dies_leaves_the_fetch_to_its_successor(own_service, slow):
    """A worker killed mid-download hangs up; the worker that takes the task over asks again with the
    same job id and gets the same fetch, finished, rather than starting the download over."""
    base, process, _media_dir = own_service
    url = f"{slow.base}/throttled/orphaned.mp4"
    job_id = str(uuid.uuid4())
    with pytest.raises(httpx.ReadTimeout):  # the caller goes away mid-download
        httpx.post(f"{base}/downloads", json={"url": url, "job_id": job_id}, timeout=2.0)
    time.sleep(1.0)  # longer than the service takes to notice a caller has gone
    assert children(process.pid), "the fetch was stopped when its caller went away"
    assert progress(base, job_id)["state"] in ("extracting", "downloading")  # still at work

    slow.pause_s = 0.0
    again = download(base, url, job_id=job_id)
    assert again.status_code == 200, again.text
    assert httpx.delete(f"{base}/media/{again.json()['media_id']}").status_code == 204
    # One fetch, not two: the origin saw no more requests than one fetch of a like file makes. (Counting
    # bodies sent to the end would not do: once the pause is gone, the extractor's first look at the URL,
    # if its connection is still open, takes the whole file into the socket buffers.)
    one_fetch = download(base, f"{slow.base}/throttled/shared.mp4", job_id=str(uuid.uuid4()))
    assert one_fetch.status_code == 200, one_fetch.text
    assert httpx.delete(f"{base}/media/{one_fetch.json()['media_id']}").status_code == 204
    assert slow.requests["/throttled/shared.mp4"] >= 1
    assert slow.requests["/throttled/orphaned.mp4"] == slow.requests["/throttled/shared.mp4"]
