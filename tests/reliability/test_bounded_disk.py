"""Stored media is removed after MEDIA_RETENTION_S and whenever MEDIA_DISK_BUDGET_MB is exceeded, never
while a task still needs it; a deleted task's media goes at once. Real processes, real files."""

import time

import pytest
import requests

from tests.support.cluster import run_cluster
from tests.support.polling import wait_until
from tests.support.video_origin import serve_videos
from tests.support.videos import make_video

HELD_S = 8.0  # how long the held task's first model call takes


@pytest.fixture
def origin(tmp_path):
    video = tmp_path / "clip.mp4"
    make_video(video, seconds=3, size="160x120")
    with serve_videos(video, 3) as origin:
        yield origin


@pytest.mark.parametrize("rule", [
    {"MEDIA_RETENTION_S": "2", "MEDIA_DISK_BUDGET_MB": "0"},  # by age
    {"MEDIA_RETENTION_S": "0", "MEDIA_DISK_BUDGET_MB": "0.000001"},  # by size: nothing fits
], ids=["retention", "budget"])
def test_unused_media_goes_and_media_in_use_stays(postgres_url, tmp_path, origin, rule):
    env = {**rule, "MEDIA_JANITOR_INTERVAL_S": "0.5"}
    with run_cluster(postgres_url, tmp_path, {"orchestrator": {}}, env=env) as cluster:
        media_dir = cluster.stack.workdir / "media"
        done = cluster.submit(origin.url(0), max_frames=1)
        finished = cluster.wait_terminal([done], timeout=60)[done]
        assert finished.status == "completed", finished.error

        cluster.faults.control(faults=[{"delay_s": HELD_S}])  # the next task sits in its vision call
        held = cluster.submit(origin.url(1), max_frames=1)
        cluster.wait_for_running(("analyzing_vision",), timeout=60)
        held_media = cluster.tasks([held])[held].media_id

        removed_after = wait_until(lambda: not (media_dir / finished.media_id).exists(), HELD_S - 2,
                                   "the finished task's media was kept")
        assert (media_dir / held_media).is_dir(), "media in use was removed"
        assert cluster.tasks([held])[held].status == "analyzing_vision"

        result = cluster.wait_terminal([held], timeout=60)[held]
        assert result.status == "completed", result.error  # its frames were there when it needed them
        wait_until(lambda: not (media_dir / held_media).exists(), 10, "media of a finished task was kept")
        print(f"\n{next(iter(rule.items()))}: unused media removed {removed_after:.1f} s after the check began; "
              f"media in use kept for {HELD_S:.0f} s")
        # Its frame images are gone with it: a clear 404, not a 500.
        response = requests.get(f"{cluster.stack.url('gateway')}/tasks/{held}/frames/0.jpg", timeout=10)
        assert response.status_code == 404


def test_a_deleted_tasks_media_goes_at_once_unless_shared(postgres_url, tmp_path, origin):
    env = {"MEDIA_RETENTION_S": "0", "MEDIA_DISK_BUDGET_MB": "0"}  # only deletion removes anything
    with run_cluster(postgres_url, tmp_path, {"orchestrator": {}}, env=env) as cluster:
        gateway, media_dir = cluster.stack.url("gateway"), cluster.stack.workdir / "media"
        first = cluster.submit(origin.url(2), max_frames=1)
        second = cluster.submit(origin.url(2), max_frames=1)  # the same video: one download, shared
        tasks = cluster.wait_terminal([first, second], timeout=90)
        media_id = tasks[first].media_id
        assert media_id == tasks[second].media_id and (media_dir / media_id).is_dir()

        assert requests.delete(f"{gateway}/tasks/{first}", timeout=10).status_code == 200
        time.sleep(2)
        assert (media_dir / media_id).is_dir(), "media another task still shows was deleted"
        assert requests.delete(f"{gateway}/tasks/{second}", timeout=10).status_code == 200
        gone = wait_until(lambda: not (media_dir / media_id).exists(), 5, "the deleted task's media was kept")
        print(f"\ndeleted task's media removed after {gone:.2f} s")
