"""An upload belongs to the API key that sent it, as tasks do: another key's task for its upload:// URL
fails as if there were no such upload, while the owner's own task analyses it. The whole system, with
API_KEYS on."""

import time

import pytest
import requests

from tests.support.stack import running_stack
from tests.support.videos import make_video

ALICE, BOB = "alice-key-0001-secret", "bob-key-0002-secret"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def finish(api: str, task_id: str, key: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = requests.get(f"{api}/tasks/{task_id}", headers=bearer(key), timeout=10).json()
        if task["status"] in ("completed", "failed"):
            return task
        time.sleep(0.2)
    raise AssertionError(f"task {task_id} still {task['status']} after {timeout} s")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with running_stack(tmp_path_factory.mktemp("upload-owners"),
                       extra_env={"API_KEYS": f"alice:{ALICE},bob:{BOB}"}) as stack:
        yield stack


def test_another_keys_upload_is_not_found_and_the_owners_is_analysed(stack, tmp_path):
    api = stack.url("gateway")
    video = make_video(tmp_path / "private-talk.mp4", seconds=2, size="160x90")
    with open(video, "rb") as handle:
        uploaded = requests.post(f"{api}/uploads", headers=bearer(ALICE), timeout=30,
                                 files={"file": ("private-talk.mp4", handle, "video/mp4")})
    assert uploaded.status_code == 200, uploaded.text
    url = uploaded.json()["url"]
    upload_id = uploaded.json()["upload_id"]

    body = {"youtube_url": url, "max_frames": 2}
    bobs = requests.post(f"{api}/analyze", json=body, headers=bearer(BOB), timeout=10).json()["task_id"]
    bobs_task = finish(api, bobs, BOB)
    assert bobs_task["status"] == "failed"
    assert bobs_task["error"] == f"download failed: upload {upload_id} not found"
    assert bobs_task["video_info"] is None  # not even the title of Alice's file

    # The same answer as for an upload that never existed: nothing tells Bob the id is taken.
    absent = requests.post(f"{api}/analyze", json={"youtube_url": "upload://" + "0" * 32},
                           headers=bearer(BOB), timeout=10).json()["task_id"]
    assert finish(api, absent, BOB)["error"] == f"download failed: upload {'0' * 32} not found"

    alices = requests.post(f"{api}/analyze", json=body, headers=bearer(ALICE), timeout=10).json()["task_id"]
    alices_task = finish(api, alices, ALICE)
    assert alices_task["status"] == "completed", alices_task["error"]
    assert alices_task["video_info"]["title"] == "private-talk"
