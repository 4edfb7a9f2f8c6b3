"""A worker paused (SIGSTOP) in the middle of a model call loses its lease to another worker, which
finishes the task; when the paused one resumes with its model answers in hand, none of its late writes
is accepted and it gives the task up."""

import signal
import time

from tests.support.cluster import GATEWAY_WORKER, LEASE_S
from tests.support.invariants import assert_invariants
from tests.support.video_origin import serve_videos

ZOMBIE_CALL_S = 10.0  # the paused worker's model calls are answered this late, long after the takeover
NEW_REPLY = "Seen by the worker that took over."
LATE_REPLY = "Late answer for the paused worker."


def wait_for(what: str, check, timeout: float, every: float = 0.1):
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"{what}: not within {timeout:g} s"
        time.sleep(every)
    return found


def test_a_paused_worker_cannot_write_after_its_task_was_taken_over(cluster_factory, small_video):
    workers = {GATEWAY_WORKER: {}, "worker-1": {}}
    with serve_videos(small_video, 1) as origin, cluster_factory(workers, fault_delay_s=ZOMBIE_CALL_S) as cluster:
        task_id = cluster.submit(origin.url(0), max_frames=2)
        running = cluster.wait_for_running(("analyzing_vision",), timeout=90)
        frames = len(cluster.tasks([task_id])[task_id].checkpoints["extracting_frames"]["frames"])
        wait_for("the paused worker's model calls", lambda: cluster.faults.stats()["in_flight"] >= frames, 15, 0.02)
        zombie, old_attempt = running.worker, running.attempt
        stopped = cluster.signal(zombie, signal.SIGSTOP)
        cluster.faults.control(delay_s=0.2, reply=NEW_REPLY)

        takeover = wait_for("a takeover claim", lambda: [
            e for e in cluster.events(task_id) if e.kind == "claimed" and e.attempt > old_attempt], LEASE_S + 20)[0]
        tasks = cluster.wait_terminal([task_id], timeout=60)
        assert tasks[task_id].status == "completed", tasks[task_id].error
        # The paused worker's calls are answered now, while it cannot act: it wakes up with them in hand.
        pending = cluster.faults.control(reply=LATE_REPLY)["in_flight"]
        assert pending == frames, "the takeover was too slow: the paused worker's calls were already answered"
        wait_for("the paused worker's answers", lambda: cluster.faults.stats()["in_flight"] == 0, ZOMBIE_CALL_S + 10)
        before = [(e.id, e.kind, e.status, e.attempt) for e in cluster.events(task_id)]
        resumed = cluster.signal(zombie, signal.SIGCONT)
        gave_up = f"task {task_id}: deleted or taken over"
        wait_for("the resumed worker giving the task up", lambda: gave_up in cluster.log(zombie), 20)
        time.sleep(LEASE_S / 3 + 0.5)  # a heartbeat period: room for any late write to show

        events = cluster.events(task_id)
        task = cluster.tasks([task_id])[task_id]
        late = [(e.id, e.kind, e.status, e.attempt) for e in events if e.id > takeover.id and e.attempt <= old_attempt]
        stats = cluster.faults.stats()
        print(f"\nzombie: {zombie} paused in a model call at attempt {old_attempt}; taken over after "
              f"{(takeover.at - stopped).total_seconds():.1f} s (lease {LEASE_S:g} s) at attempt {takeover.attempt}; "
              f"resumed {(resumed - stopped).total_seconds():.1f} s after the pause with {frames} late answers; "
              f"late writes accepted: {len(late)}; model server {stats}")

        assert takeover.detail != running.owner and cluster.worker_of(takeover.detail) != zombie
        assert stats["answered"] >= 2 * frames and stats["disconnected"] == 0  # the zombie did get its answers
        assert not late, f"writes of the superseded attempt accepted after the takeover: {late}"
        assert [(e.id, e.kind, e.status, e.attempt) for e in events] == before  # nothing at all was added
        assert task.status == "completed" and task.attempt == takeover.attempt
        assert [e.attempt for e in events if e.status in ("completed", "failed")] == [takeover.attempt]
        assert task.frame_analyses and all(a == NEW_REPLY for a in task.frame_analyses), task.frame_analyses
        assert LATE_REPLY not in (task.summary or "") and LATE_REPLY not in str(task.checkpoints)
        assert_invariants(cluster.sessions, [task_id])
