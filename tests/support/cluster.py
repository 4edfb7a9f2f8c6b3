"""Several orchestrator processes on one PostgreSQL database, with the media service, the gateway and the
fault-injecting model server, all real processes on 127.0.0.1, plus the means to find which process runs
which task (from the lease owner, "host:pid:hex") and to signal it."""

import json
import os
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg
import requests
from sqlalchemy import select

from orchestrator.clock import utcnow
from orchestrator.db import create_db_engine, create_session_factory
from orchestrator.models import Task, TaskEvent

from .fault_injecting_openai import FaultServer, run_fault_server
from .stack import Stack, running

TERMINAL = ("completed", "failed")
MODEL_STAGES = ("analyzing_vision", "analyzing_text")
GATEWAY_WORKER = "orchestrator"  # the orchestrator process the gateway talks to

# Short leases so that takeovers happen within seconds; heartbeats come every LEASE_S / 3.
LEASE_S = 3.0
CLUSTER_ENV = {
    "LEASE_S": str(LEASE_S),
    "POLL_INTERVAL_S": "0.2",
    "RETRY_BACKOFF_S": "0.5",
    "WORKER_CONCURRENCY": "3",
    "MODEL_CALL_TIMEOUT_S": "60",
    "PROGRESS_INTERVAL_S": "0.5",
}


# Test instrumentation only: every status change of a task is announced on a channel the test listens on.
STATUS_CHANNEL = "task_status_changes"
STATUS_TRIGGER = f"""
CREATE OR REPLACE FUNCTION announce_task_status() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('{STATUS_CHANNEL}',
                      concat_ws(' ', NEW.id, NEW.status, coalesce(NEW.lease_owner, '-'), NEW.attempt));
    RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE OR REPLACE TRIGGER announce_task_status AFTER UPDATE OF status ON tasks
    FOR EACH ROW WHEN (NEW.status IS DISTINCT FROM OLD.status) EXECUTE FUNCTION announce_task_status();
"""


def _libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@dataclass(frozen=True)
class Running:
    task_id: str
    status: str
    worker: str  # name of the orchestrator process holding the lease
    owner: str
    attempt: int
    lease_expires_at: datetime | None = None


def owner_pid(owner: str | None) -> int | None:
    """The process id in a lease owner "host:pid:hex"."""
    if not owner:
        return None
    parts = owner.rsplit(":", 2)
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None


class Cluster:
    """A running cluster, its processes by name, and its database as the tests read it."""

    def __init__(self, stack: Stack, faults: FaultServer, workers: list[str]):
        self.stack = stack
        self.faults = faults
        self.workers = workers
        self.engine = create_db_engine(stack.database_url)
        self.sessions = create_session_factory(self.engine)
        self._announcing = False

    def process(self, name: str) -> subprocess.Popen:
        return self.stack.processes[name]

    def alive(self, name: str) -> bool:
        return self.process(name).poll() is None

    def worker_of(self, owner: str | None) -> str | None:
        pid = owner_pid(owner)
        return next((name for name in self.workers if self.process(name).pid == pid), None)

    def signal(self, name: str, sig: signal.Signals) -> datetime:
        """Send `sig` to the named process; returns when (naive UTC, as the tables store times)."""
        at = utcnow()
        os.kill(self.process(name).pid, sig)
        if sig == signal.SIGKILL:
            self.process(name).wait(timeout=10)
        return at

    def log(self, name: str) -> str:
        return (self.stack.workdir / f"{name}.log").read_text(errors="replace")

    def running(self, statuses: tuple[str, ...] | None = None, among: list[str] | None = None) -> list[Running]:
        """Tasks leased by a live process of `among` (default: any), in one of `statuses`."""
        query = select(Task.id, Task.status, Task.lease_owner, Task.attempt, Task.lease_expires_at).where(
            Task.lease_owner.is_not(None))
        if statuses:
            query = query.where(Task.status.in_(statuses))
        with self.sessions() as session:
            rows = session.execute(query).all()
        found = []
        for row in rows:
            worker = self.worker_of(row.lease_owner)
            if worker and self.alive(worker) and (among is None or worker in among):
                found.append(Running(row.id, row.status, worker, row.lease_owner, row.attempt, row.lease_expires_at))
        return found

    def wait_for_running(self, statuses: tuple[str, ...], among: list[str] | None = None,
                         timeout: float = 60.0) -> Running:
        """The first task seen in one of `statuses` on a live process of `among` (default: any)."""
        if found := self.next_running(statuses, among, timeout):
            return found
        raise AssertionError(f"no task reached {statuses} on {among or 'any worker'} within {timeout:g} s")

    def next_running(self, statuses: tuple[str, ...], among: list[str] | None, timeout: float) -> Running | None:
        """As wait_for_running, or None after `timeout`. Status changes are pushed by a trigger
        (LISTEN/NOTIFY) rather than polled for: some stages last only tens of milliseconds."""
        deadline = time.monotonic() + timeout
        with psycopg.connect(_libpq_url(self.stack.database_url), autocommit=True) as conn:
            if not self._announcing:  # once: creating a trigger locks the table against the workers' writes
                conn.execute(STATUS_TRIGGER)
                self._announcing = True
            conn.execute(f"LISTEN {STATUS_CHANNEL}")
            if found := self.running(statuses, among):  # already there before we listened
                return found[0]
            while (left := deadline - time.monotonic()) > 0:
                for note in conn.notifies(timeout=left):
                    task_id, status, owner, attempt = note.payload.split(" ")
                    worker = self.worker_of(owner)
                    if status in statuses and worker and self.alive(worker) and (among is None or worker in among):
                        return Running(task_id, status, worker, owner, int(attempt))
        return None

    def leased_by(self, name: str) -> list[Running]:
        """Tasks whose lease names this process, dead or alive (a dead one's lease stays until taken over)."""
        pid = self.process(name).pid
        with self.sessions() as session:
            rows = session.execute(select(Task.id, Task.status, Task.lease_owner, Task.attempt, Task.lease_expires_at)
                                   .where(Task.lease_owner.is_not(None))).all()
        return [Running(r.id, r.status, name, r.lease_owner, r.attempt, r.lease_expires_at)
                for r in rows if owner_pid(r.lease_owner) == pid]

    def tasks(self, ids: list[str] | None = None) -> dict[str, Task]:
        with self.sessions() as session:
            query = select(Task) if ids is None else select(Task).where(Task.id.in_(ids))
            return {task.id: task for task in session.scalars(query)}

    def events(self, task_id: str) -> list[TaskEvent]:
        with self.sessions() as session:
            return list(session.scalars(select(TaskEvent).where(TaskEvent.task_id == task_id).order_by(TaskEvent.id)))

    def wait_terminal(self, ids: list[str], timeout: float) -> dict[str, Task]:
        deadline = time.monotonic() + timeout
        while True:
            tasks = self.tasks(ids)
            left = [i for i in ids if i not in tasks or tasks[i].status not in TERMINAL]
            if not left:
                return tasks
            if time.monotonic() > deadline:
                states = {i: tasks[i].status if i in tasks else "missing" for i in left}
                raise AssertionError(f"{len(left)} of {len(ids)} tasks not finished after {timeout:g} s: {states}")
            time.sleep(0.1)

    def submit(self, url: str, **fields) -> str:
        response = requests.post(self.stack.url("gateway") + "/analyze", json={"youtube_url": url, **fields},
                                 timeout=30)
        assert response.status_code == 200, response.text
        return response.json()["task_id"]

    def close(self) -> None:
        for process in self.stack.processes.values():
            if process.poll() is None:  # a stopped process would never act on the SIGTERM that stops it
                process.send_signal(signal.SIGCONT)
        self.engine.dispose()


def model_endpoints(base_url: str) -> str:
    endpoint = {"base_url": base_url, "model": "fault-model"}
    return json.dumps({"vision": {"int4": endpoint}, "text": {"int4": endpoint}})


def start_cluster(stack: Stack, workers: dict[str, dict[str, str]]) -> None:
    """The media service and the orchestrators named by `workers`, then the gateway."""
    # Start-up is mostly imports, CPU-bound: two at a time halves the wait on a small machine without
    # pushing each past its start-up deadline. The gateway comes last: its health check asks the orchestrator.
    with ThreadPoolExecutor(2) as pool:
        started = [pool.submit(stack.start_named, "media", "media")]
        started += [pool.submit(stack.start_named, name, "orchestrator", own) for name, own in workers.items()]
        for future in started:
            future.result()
    stack.start_named("gateway", "gateway")


@contextmanager
def run_cluster(database_url: str, workdir: Path, workers: dict[str, dict[str, str]], fault_delay_s: float = 0.0,
                env: dict[str, str] | None = None):
    """Media service, orchestrators named by `workers` (name -> its own extra env; GATEWAY_WORKER must be
    one of them) and the gateway. Yields a Cluster; every process is stopped on exit, and when the block
    fails, every process's log tail is printed."""
    assert GATEWAY_WORKER in workers
    with ExitStack() as exit_stack:
        faults = exit_stack.enter_context(run_fault_server(fault_delay_s))
        stack = Stack(database_url=database_url, workdir=workdir,
                      extra_env={**CLUSTER_ENV, "MODEL_ENDPOINTS": model_endpoints(faults.base_url), **(env or {})})
        exit_stack.enter_context(running(stack, start=lambda: start_cluster(stack, workers)))
        cluster = Cluster(stack, faults, list(workers))
        exit_stack.callback(cluster.close)
        yield cluster
