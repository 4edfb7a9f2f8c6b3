"""SIGTERM a worker during a long model call. Given enough SHUTDOWN_GRACE_S it finishes the task, then exits;
given too little it hands the task back without counting the attempt, and another worker completes it.
Either way it claims nothing after the signal, although there is work waiting."""

import signal
import time

import pytest

from tests.support.cluster import GATEWAY_WORKER, owner_pid
from tests.support.invariants import assert_invariants
from tests.support.video_origin import serve_videos

TASKS = 3  # one per worker (each runs one at a time) and one waiting, which the stopping worker must leave


def claims_by(cluster, pid: int, ids: list[str]) -> list[tuple[str, int]]:
    return [(t, e.attempt) for t in ids for e in cluster.events(t)
            if e.kind == "claimed" and owner_pid(e.detail) == pid]


@pytest.mark.parametrize(("grace_s", "call_s"), [(30.0, 2.0), (1.0, 3.0)], ids=["grace-enough", "grace-too-short"])
def test_sigterm_finishes_or_hands_back_and_claims_nothing_more(cluster_factory, small_video, grace_s, call_s):
    workers = {GATEWAY_WORKER: {}, "worker-1": {}}
    env = {"WORKER_CONCURRENCY": "1", "SHUTDOWN_GRACE_S": str(grace_s)}
    with serve_videos(small_video, TASKS) as origin, \
            cluster_factory(workers, fault_delay_s=call_s, env=env) as cluster:
        ids = [cluster.submit(origin.url(i), max_frames=2) for i in range(TASKS)]
        running = cluster.wait_for_running(("analyzing_vision",), timeout=90)
        victim, pid, task_id = running.worker, cluster.process(running.worker).pid, running.task_id
        claims_before = claims_by(cluster, pid, ids)
        signalled = cluster.signal(victim, signal.SIGTERM)
        cluster.faults.control(delay_s=0.2)  # the victim's calls keep their delay; the rest need not wait
        started = time.monotonic()
        exit_code = cluster.process(victim).wait(timeout=grace_s + 30)
        exit_s = time.monotonic() - started
        right_after = cluster.tasks([task_id])[task_id]

        tasks = cluster.wait_terminal(ids, timeout=90)
        claims_after = claims_by(cluster, pid, ids)
        task = tasks[task_id]
        events = cluster.events(task_id)
        later_claims = [e for e in events if e.kind == "claimed" and e.at > signalled]
        print(f"\nSIGTERM, grace {grace_s:g} s, model calls {call_s:g} s: {victim} exited {exit_code} after "
              f"{exit_s:.1f} s; its task {task.status} at attempt {task.attempt}, row right after the exit "
              f"{right_after.status}/attempt {right_after.attempt}/owner {right_after.lease_owner}; "
              f"claims after the signal: {[(cluster.worker_of(e.detail), e.attempt) for e in later_claims]}")

        # uvicorn re-raises the signal once it has shut down cleanly
        assert exit_code in (0, -signal.SIGTERM) and "Application shutdown complete." in cluster.log(victim)
        assert claims_after == claims_before, "the stopping worker claimed work after SIGTERM"
        assert all(t.status == "completed" for t in tasks.values()), {t: x.error for t, x in tasks.items()}
        assert task.attempt == running.attempt  # finished, or handed back, the attempt is not counted twice
        if grace_s > call_s * 3:
            # Vision and text calls fit in the grace period: the task is finished by the worker that had it.
            assert not later_claims and right_after.status == "completed"
            assert f"task {task_id} completed" in cluster.log(victim)
        else:
            # It let go of the task (no lease left to run out) instead of finishing its call first.
            assert right_after.status != "completed" and owner_pid(right_after.lease_owner) != pid
            if right_after.lease_owner is None:  # not claimed again yet: handed back, the attempt uncounted
                assert (right_after.status, right_after.attempt) == ("analyzing_vision", running.attempt - 1)
            assert [e.attempt for e in later_claims] == [running.attempt]  # the next claim reuses the attempt
            assert cluster.worker_of(later_claims[0].detail) != victim
        assert_invariants(cluster.sessions, ids)
