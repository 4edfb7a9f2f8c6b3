"""DELETE /tasks/{id}: a queued task never starts; a running one stops within 5 s with its fetch processes
gone, its model calls aborted and its media files deleted, and it is not retried."""

import time

import pytest
import requests

from tests.support.cluster import run_cluster
from tests.support.polling import wait_until
from tests.support.processes import descendants
from tests.support.video_origin import serve_videos
from tests.support.videos import make_video

STOP_WITHIN_S = 5.0
SEED_DELETED = "Task {} has been deleted."


def delete(gateway: str, task_id: str) -> float:
    started = time.monotonic()
    response = requests.delete(f"{gateway}/tasks/{task_id}", timeout=15)
    assert response.status_code == 200 and response.json() == {"message": SEED_DELETED.format(task_id)}
    assert requests.get(f"{gateway}/tasks/{task_id}", timeout=15).status_code == 404
    return started


@pytest.fixture
def cluster(postgres_url, tmp_path):
    video = tmp_path / "clip.mp4"
    make_video(video, seconds=3, size="160x120")
    with serve_videos(video, 4, send_s=30.0, chunks=300) as origin, \
            run_cluster(postgres_url, tmp_path, {"orchestrator": {"WORKER_CONCURRENCY": "1"}},
                        fault_delay_s=0.0) as cluster:
        cluster.origin = origin
        yield cluster


def test_a_queued_task_never_starts(cluster):
    gateway, origin = cluster.stack.url("gateway"), cluster.origin
    busy = cluster.submit(origin.url(0), max_frames=2)  # holds the only worker slot: a 30 s download
    cluster.wait_for_running(("downloading",))
    queued = cluster.submit(origin.url(1), max_frames=2)
    delete(gateway, queued)
    delete(gateway, busy)
    time.sleep(3)  # the worker is free again: it would claim the queued task now if it still existed
    requested = {**origin.counts.full, **origin.counts.aborted, **origin.counts.resumed, **origin.counts.heads}
    assert origin.path_of(origin.url(1)) not in requested
    assert cluster.running() == [] and cluster.tasks() == {}


def test_a_running_download_stops_within_seconds(cluster):
    gateway, origin = cluster.stack.url("gateway"), cluster.origin
    media_pid = cluster.process("media").pid
    task_id = cluster.submit(origin.url(2), max_frames=2)
    cluster.wait_for_running(("downloading",))
    wait_until(lambda: descendants(media_pid), 30, "the download never started its fetch process")
    work = cluster.stack.workdir / "media" / ".work"

    deleted_at = delete(gateway, task_id)
    fetch_gone = wait_until(lambda: not descendants(media_pid), STOP_WITHIN_S, "the fetch process outlived 5 s")
    files_gone = wait_until(lambda: not any(work.iterdir()), STOP_WITHIN_S, "partial download files were kept")
    print(f"\ncancel during download: fetch process gone {fetch_gone:.2f} s and partial files "
          f"{files_gone:.2f} s after the DELETE answered ({time.monotonic() - deleted_at:.2f} s in all)")
    time.sleep(3)
    assert origin.counts.full[origin.path_of(origin.url(2))] == 0  # not retried
    assert cluster.tasks() == {}


def test_a_running_model_call_is_aborted_and_the_media_deleted(cluster):
    gateway, origin, faults = cluster.stack.url("gateway"), cluster.origin, cluster.faults
    faults.control(delay_s=60.0)  # every model call hangs for a minute
    media_dir = cluster.stack.workdir / "media"
    origin.send_s = 0.0  # the download is not what this test is about
    task_id = cluster.submit(origin.url(3), max_frames=2)
    running = cluster.wait_for_running(("analyzing_vision",), timeout=60)
    wait_until(lambda: faults.stats()["in_flight"] >= 1, 10, "no model call in flight")
    media_id = cluster.tasks()[running.task_id].media_id
    assert media_id and (media_dir / media_id).is_dir()

    deleted_at = delete(gateway, task_id)
    wait_until(lambda: faults.stats()["in_flight"] == 0, STOP_WITHIN_S, "model calls kept going")
    aborted = time.monotonic() - deleted_at
    wait_until(lambda: not (media_dir / media_id).exists(), STOP_WITHIN_S, "the media was kept")
    removed = time.monotonic() - deleted_at
    print(f"\ncancel during a model call: calls aborted {aborted:.2f} s and media removed {removed:.2f} s "
          "after the DELETE was sent")
    requests_before = faults.stats()["requests"]
    time.sleep(3)
    assert faults.stats()["requests"] == requests_before  # not retried
    assert faults.stats()["disconnected"] >= 1
    assert "Traceback" not in cluster.log("orchestrator")
