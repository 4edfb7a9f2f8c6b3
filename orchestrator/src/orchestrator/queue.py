"""Claiming tasks under a lease, and the fenced writes a worker makes while it holds one.

A claim bumps `attempt` and sets `lease_owner`; every later write by that worker names both,
so a worker that lost its lease (paused, partitioned, or its task deleted) cannot write again.
"""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Connection, and_, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from service_common.contracts import STAGES, TERMINAL_STATUSES, TaskStatus

from .clock import utcnow
from .models import Task, TaskEvent
from .stage_results import Checkpoints, StageOutput
from .webhooks.outbox import new_delivery

TERMINAL = [s.value for s in TERMINAL_STATUSES]
ORDER = [TaskStatus.PENDING, *STAGES]


def _at_or_before(stage: TaskStatus) -> list[str]:
    """The statuses a task may enter `stage` from: statuses only ever move forward."""
    return [s.value for s in ORDER[: ORDER.index(stage) + 1]]


class LeaseLost(Exception):
    """The task was taken over, finished elsewhere, or deleted: stop working on it."""


@dataclass(frozen=True)
class Claim:
    task_id: str
    owner: str
    attempt: int
    request: dict
    checkpoints: Checkpoints
    status: str
    last_error: str | None
    task_owner: str = ""  # the API key name that created the task (`owner` is the worker holding the lease)
    took_over: bool = False  # the previous worker's lease ran out without the task being handed back
    request_id: str | None = None  # of the request that created the task (X-Request-ID), for the logs

    @classmethod
    def from_row(cls, task: Task, *, took_over: bool = False, request_id: str | None = None) -> "Claim":
        """The claim on a task row as its claim left it (the row's lease owner is the claiming worker)."""
        return cls(task.id, task.lease_owner, task.attempt, dict(task.request),
                   Checkpoints.from_stored(task.checkpoints), task.status, task.last_error, task.owner,
                   took_over, request_id)


def _claimable(now):
    return and_(
        Task.status.not_in(TERMINAL),
        Task.cancel_requested.is_(False),
        or_(Task.lease_expires_at.is_(None), Task.lease_expires_at < now),
        or_(Task.not_before.is_(None), Task.not_before <= now),
    )


def claim_next_task(sessions: sessionmaker[Session], owner: str, lease_s: float,
                    running: Collection[str] = (), abandoned_only: bool = False) -> Claim | None:
    """Take the oldest claimable task, or None. On PostgreSQL, FOR UPDATE SKIP LOCKED keeps
    concurrent claimers off each other's rows; the re-checked WHERE makes it safe elsewhere too.
    `running`: tasks this worker still runs, whose leases lapsed while the database was away; their
    heartbeat renews them, which keeps the work in hand rather than starting the stage over.
    `abandoned_only`: only tasks whose lease ran out without being given back (their worker died)."""
    now = utcnow()
    with sessions.begin() as session:
        query = select(Task.id, Task.lease_owner).where(_claimable(now))
        if running:
            query = query.where(Task.id.not_in(list(running)))
        if abandoned_only:
            query = query.where(Task.lease_owner.is_not(None))
        found = session.execute(
            query.order_by(Task.created_at).limit(1)
            .with_for_update(skip_locked=True)
        ).first()
        if found is None:
            return None
        task_id, previous_owner = found
        claimed = session.execute(
            update(Task)
            .where(Task.id == task_id, _claimable(now))
            .values(
                lease_owner=owner,
                lease_expires_at=now + timedelta(seconds=lease_s),
                attempt=Task.attempt + 1,
                started_at=func.coalesce(Task.started_at, now),
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            return None
        task = session.execute(select(Task).where(Task.id == task_id)).scalar_one()
        session.add(TaskEvent(task_id=task.id, at=now, kind="claimed", status=task.status,
                              attempt=task.attempt, detail=owner))
        created_by = session.scalar(select(TaskEvent.detail).where(TaskEvent.task_id == task.id,
                                                                   TaskEvent.kind == "created"))
        return Claim.from_row(task, took_over=previous_owner is not None, request_id=created_by)


def claimable_count(connection: Connection) -> int:
    """How many tasks a worker could claim now: the queue's depth."""
    return connection.execute(select(func.count()).select_from(Task).where(_claimable(utcnow()))).scalar() or 0


def _fenced_update(session: Session, claim: Claim, *conditions, **values) -> None:
    result = session.execute(
        update(Task)
        .where(Task.id == claim.task_id, Task.lease_owner == claim.owner, Task.attempt == claim.attempt,
               Task.status.not_in(TERMINAL), *conditions)
        .values(updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise LeaseLost(claim.task_id)


def extend_lease(sessions: sessionmaker[Session], claim: Claim, lease_s: float) -> None:
    with sessions.begin() as session:
        _fenced_update(session, claim, lease_expires_at=utcnow() + timedelta(seconds=lease_s))


def still_owned(sessions: sessionmaker[Session], claim: Claim) -> bool:
    """Whether the claim still holds its task: a cheap read, so a deleted task is noticed quickly."""
    with sessions() as session:
        row = session.execute(select(Task.lease_owner, Task.attempt, Task.status)
                              .where(Task.id == claim.task_id)).first()
    return row is not None and (row.lease_owner, row.attempt) == (claim.owner, claim.attempt) \
        and row.status not in TERMINAL


def enter_stage(sessions: sessionmaker[Session], claim: Claim, stage: TaskStatus) -> None:
    with sessions.begin() as session:
        _fenced_update(session, claim, Task.status.in_(_at_or_before(stage)), status=stage.value,
                       progress={"stage": stage.value})
        session.add(TaskEvent(task_id=claim.task_id, at=utcnow(), kind="status", status=stage.value,
                              attempt=claim.attempt))


def save_checkpoint(sessions: sessionmaker[Session], claim: Claim, stage: TaskStatus, output: StageOutput) -> None:
    """Store one stage's checkpoint and the results it fills in."""
    with sessions.begin() as session:
        row = session.execute(select(Task.checkpoints, Task.notes).where(Task.id == claim.task_id)).first()
        current, notes = (row.checkpoints or {}, row.notes or []) if row else ({}, [])
        # The other stages' entries are written back as they were read, whatever shape they were stored in.
        checkpoints = {**current, stage.value: output.checkpoint.model_dump()}
        columns = output.results.columns()
        if output.results.notes:  # notes add up over the stages
            columns["notes"] = notes + [n for n in output.results.notes if n not in notes]
        else:
            columns.pop("notes", None)
        _fenced_update(session, claim, checkpoints=checkpoints, **columns)


def report_progress(sessions: sessionmaker[Session], claim: Claim, progress: dict | None) -> None:
    with sessions.begin() as session:
        _fenced_update(session, claim, progress=progress)


def _tell_the_end(session: Session, claim: Claim, status: str, error: str | None, now) -> None:
    # In the transaction that ends the task: no end goes untold, none is told twice.
    delivery = new_delivery(claim.task_id, claim.request, status, error, now)
    if delivery is not None:
        session.add(delivery)


def complete_task(sessions: sessionmaker[Session], claim: Claim) -> None:
    now = utcnow()
    with sessions.begin() as session:
        _fenced_update(session, claim, status=TaskStatus.COMPLETED.value, completed_at=now, error=None,
                       lease_owner=None, lease_expires_at=None, progress=None)
        session.add(TaskEvent(task_id=claim.task_id, at=now, kind="status", status="completed",
                              attempt=claim.attempt))
        _tell_the_end(session, claim, "completed", None, now)


def fail_task(sessions: sessionmaker[Session], claim: Claim, error: str) -> None:
    now = utcnow()
    with sessions.begin() as session:
        _fenced_update(session, claim, status=TaskStatus.FAILED.value, completed_at=now, error=error,
                       lease_owner=None, lease_expires_at=None, progress=None)
        session.add(TaskEvent(task_id=claim.task_id, at=now, kind="status", status="failed",
                              attempt=claim.attempt, detail=error))
        _tell_the_end(session, claim, "failed", error, now)


def release_for_retry(sessions: sessionmaker[Session], claim: Claim, error: str, delay_s: float) -> None:
    """Hand the task back after a transient failure; it is claimable again after `delay_s`."""
    now = utcnow()
    with sessions.begin() as session:
        _fenced_update(session, claim, last_error=error, lease_owner=None, lease_expires_at=None,
                       not_before=now + timedelta(seconds=delay_s))
        session.add(TaskEvent(task_id=claim.task_id, at=now, kind="retry", attempt=claim.attempt,
                              detail=error))


def release_unstarted(sessions: sessionmaker[Session], claim: Claim) -> None:
    """Give the task back on shutdown without counting the attempt against it."""
    with sessions.begin() as session:
        _fenced_update(session, claim, lease_owner=None, lease_expires_at=None, attempt=claim.attempt - 1)
