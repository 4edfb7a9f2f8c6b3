"""PostgreSQL stops for 30 s under load: nothing is lost or done twice, the gateway answers 503 with a clear
message (never 500) meanwhile, and everything recovers by itself when the database returns."""

import time

import requests
from sqlalchemy import func, select

from orchestrator.clock import utcnow
from orchestrator.models import Task, TaskEvent
from tests.support.cluster import TERMINAL, run_cluster
from tests.support.postgres import postgres_cluster
from tests.support.video_origin import serve_videos
from tests.support.videos import make_video

OUTAGE_S = 30.0
TASKS = 12


def probe_during_outage(gateway: str, task_id: str) -> list[tuple[str, int, dict, str | None]]:
    """What a client sees: reading a task, submitting one, and the health check."""
    seen = []
    for name, call in (
        ("get", lambda: requests.get(f"{gateway}/tasks/{task_id}", timeout=15)),
        ("list", lambda: requests.get(f"{gateway}/tasks", timeout=15)),
        ("submit", lambda: requests.post(f"{gateway}/analyze", json={"youtube_url": "http://127.0.0.1:9/x.mp4"},
                                         timeout=15)),
        ("health", lambda: requests.get(f"{gateway}/health", timeout=15)),
    ):
        response = call()
        seen.append((name, response.status_code, response.json(), response.headers.get("Retry-After")))
    return seen


def test_a_database_outage_loses_nothing_and_heals_by_itself(tmp_path):
    video = tmp_path / "clip.mp4"
    make_video(video, seconds=3, size="160x120")
    with postgres_cluster() as database, serve_videos(video, TASKS, send_s=0.5) as origin, \
            run_cluster(database.url, tmp_path, {"orchestrator": {}, "orchestrator-2": {}},
                        fault_delay_s=1.0) as cluster:
        gateway = cluster.stack.url("gateway")
        ids = [cluster.submit(origin.url(i), max_frames=2) for i in range(TASKS)]
        deadline = time.monotonic() + 60
        while len(cluster.running()) < 3:
            assert time.monotonic() < deadline, "tasks never got going"
            time.sleep(0.05)
        in_flight = [r.task_id for r in cluster.running()]

        database.stop()
        stopped = time.monotonic()
        answers = []
        while time.monotonic() - stopped < OUTAGE_S:
            answers += probe_during_outage(gateway, ids[0])
            time.sleep(2)
        cluster.engine.dispose()  # the test's own pooled connections died with the server
        database.start()
        back_at = utcnow()

        tasks = cluster.wait_terminal(ids, timeout=120)
        with cluster.sessions() as session:
            total = session.scalar(select(func.count()).select_from(Task))
            finishes = dict(session.execute(
                select(TaskEvent.task_id, func.count()).where(TaskEvent.status.in_(TERMINAL))
                .group_by(TaskEvent.task_id)).all())
        worst = max((tasks[i].completed_at - back_at).total_seconds() for i in in_flight)
        outcomes = {status: sum(t.status == status for t in tasks.values()) for status in TERMINAL}
        print(f"\ndatabase outage {OUTAGE_S:.0f} s: {TASKS} tasks, {len(in_flight)} running when it stopped; "
              f"outcomes {outcomes}; worst time from the database's return to a terminal status "
              f"{worst:.1f} s; {len(answers)} client calls during the outage")

        unexpected = [a for a in answers if a[1] != 503]
        assert answers and not unexpected, (unexpected, cluster.log("orchestrator")[-3000:])
        for name, _, body, retry_after in answers:
            text = str(body)
            assert "Traceback" not in text and "127.0.0.1" not in text and "postgres" not in text.lower()
            if name != "health":
                assert "unavailable" in body["detail"] and retry_after, (name, body)
            else:
                assert body["status"] == "unhealthy"
        assert total == TASKS  # nothing submitted during the outage was half-created
        assert outcomes == {"completed": TASKS, "failed": 0}, {i: t.error for i, t in tasks.items()}
        assert finishes == dict.fromkeys(ids, 1)  # each finished exactly once
        assert all(tasks[i].frame_analyses and tasks[i].summary for i in ids)
        assert requests.get(f"{gateway}/health", timeout=15).json()["status"] == "healthy"
