"""DELETE /tasks/{id} while its frames are being extracted from a hostile file: the orchestrator hangs up,
and the media service's decode process is gone within seconds, not after the minute the file would take."""

import time

import pytest
import requests

from tests.support.cluster import run_cluster
from tests.support.hostile_media import tiny_frames_gif
from tests.support.polling import wait_until
from tests.support.processes import descendants

# The orchestrator looks for a cancel every CANCEL_CHECK_S (1 s); the media service notices a hang-up
# within half a second and kills the decode at once.
STOP_WITHIN_S = 3.0


@pytest.fixture
def cluster(postgres_url, tmp_path):
    # Budgets out of the way: the decode must still be running when the task is deleted.
    env = {"DECODE_MAX_MEGAPIXELS": "10000000", "DECODE_MAX_FRAMES": "10000000"}
    with run_cluster(postgres_url, tmp_path, {"orchestrator": {"WORKER_CONCURRENCY": "1"}}, env=env) as cluster:
        yield cluster


def test_deleting_a_task_during_frame_extraction_kills_its_decode(cluster, tmp_path):
    media = cluster.stack.url("media")
    canvas = tiny_frames_gif(tmp_path / "canvas.gif", 4096, 4096, 6000)  # ~50 s of decoding
    response = requests.post(f"{media}/uploads", files={"file": (canvas.name, canvas.read_bytes())}, timeout=30)
    assert response.status_code == 200, response.text
    media_pid = cluster.process("media").pid

    task_id = cluster.submit(response.json()["url"], max_frames=2)
    cluster.wait_for_running(("extracting_frames",))
    wait_until(lambda: descendants(media_pid), 30, "frame extraction never started a decode process")

    gateway = cluster.stack.url("gateway")
    deleted_at = time.monotonic()
    assert requests.delete(f"{gateway}/tasks/{task_id}", timeout=15).status_code == 200
    gone = wait_until(lambda: not descendants(media_pid), STOP_WITHIN_S, "the decode outlived its deleted task")
    print(f"\ncancel during frame extraction: decode process gone {time.monotonic() - deleted_at:.2f} s "
          f"after the DELETE was sent ({gone:.2f} s after it answered)")
    assert requests.get(f"{media}/health", timeout=1).status_code == 200
    assert cluster.tasks() == {}
