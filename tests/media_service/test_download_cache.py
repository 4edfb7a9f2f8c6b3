"""The store as a cache, and download progress: a real service fetching from a real origin."""

import shutil
import threading
import time
import uuid

import httpx
import pytest

from tests.support.videos import make_video

from .download_fixtures import policy_origin
from .test_media_api import TIMEOUT, download


@pytest.fixture(scope="module")
def cache_site(tmp_path_factory):
    root = tmp_path_factory.mktemp("cache-site")
    make_video(root / "base.mp4", seconds=6)  # 640x360: about 1.3 MB, over a second when throttled
    for name in ("again.mp4", "spelled.mp4", "together.mp4", "watched.mp4"):
        shutil.copy(root / "base.mp4", root / name)
    return root


@pytest.fixture(scope="module")
def cache_origin(cache_site):
    with policy_origin(cache_site) as server:
        yield server


def test_the_same_url_twice_is_not_even_extracted_again(service, cache_origin):
    url = f"{cache_origin.base}/throttled/again.mp4"
    first = download(service, url)
    assert first.status_code == 200, first.text
    gets = dict(cache_origin.gets)
    assert cache_origin.full_sends["/throttled/again.mp4"] == 1

    second = download(service, url)
    assert second.json() == first.json()
    assert cache_origin.gets == gets  # not a single request: the URL maps to the stored media


def test_two_spellings_that_reach_one_file_share_one_download(service, cache_origin):
    direct = download(service, f"{cache_origin.base}/throttled/spelled.mp4")
    assert direct.status_code == 200, direct.text
    redirected = download(service, f"{cache_origin.base}/redirect/throttled/spelled.mp4")
    assert redirected.status_code == 200, redirected.text
    assert redirected.json()["media_id"] == direct.json()["media_id"]
    assert cache_origin.gets["/redirect/throttled/spelled.mp4"] == 1
    assert cache_origin.full_sends["/throttled/spelled.mp4"] == 1  # extracted again, downloaded once


def test_two_identical_requests_at_once_download_once(service, cache_origin):
    url = f"{cache_origin.base}/throttled/together.mp4"
    results: list[httpx.Response] = []
    threads = [threading.Thread(target=lambda: results.append(download(service, url))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.status_code for r in results] == [200, 200]
    assert results[0].json() == results[1].json()
    assert cache_origin.full_sends["/throttled/together.mp4"] == 1


def test_progress_reports_bytes_and_fraction_while_downloading(service, cache_origin, cache_site):
    size = (cache_site / "watched.mp4").stat().st_size
    job_id = str(uuid.uuid4())
    progress_url = f"{service}/downloads/{job_id}/progress"
    assert httpx.get(progress_url).json() == {
        "job_id": job_id, "state": "unknown", "downloaded_bytes": None, "total_bytes": None, "fraction": None
    }
    done: list[httpx.Response] = []
    worker = threading.Thread(
        target=lambda: done.append(download(service, f"{cache_origin.base}/throttled/watched.mp4", job_id=job_id))
    )
    worker.start()
    seen = []
    deadline = time.monotonic() + TIMEOUT
    while worker.is_alive() and time.monotonic() < deadline:
        seen.append(httpx.get(progress_url).json())
        time.sleep(0.1)
    worker.join()
    assert done[0].status_code == 200, done[0].text
    assert done[0].json()["filesize"] == size

    states = [p["state"] for p in seen]
    assert "extracting" in states
    halfway = [p for p in seen if p["state"] == "downloading" and p["fraction"] and 0 < p["fraction"] < 1]
    assert halfway, seen
    assert all(p["total_bytes"] == size and 0 < p["downloaded_bytes"] < size for p in halfway)
    fractions = [p["fraction"] for p in halfway]
    assert fractions == sorted(fractions)
    final = httpx.get(progress_url).json()
    assert final == {"job_id": job_id, "state": "done", "downloaded_bytes": size, "total_bytes": size, "fraction": 1.0}


def test_progress_of_a_failed_download(service, cache_origin):
    job_id = str(uuid.uuid4())
    response = download(service, f"{cache_origin.base}/missing.mp4", job_id=job_id)
    assert response.status_code == 422
    assert httpx.get(f"{service}/downloads/{job_id}/progress").json()["state"] == "failed"
