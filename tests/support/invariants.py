"""What the tasks and task_events tables must show whatever happened to the workers (killed, paused,
stopped, racing each other), checked over every task:

- a task's history starts with its one "created" event;
- its status events move forward only (pending → downloading → extracting_frames → extracting_transcript →
  analyzing_vision → analyzing_text → completed/failed); a stage may be entered again only after a new
  claim (a later attempt, or the same one handed back on shutdown), never an earlier stage;
- every status or retry event is written by the latest claim (a superseded worker's write is a bug);
- nothing at all follows a terminal status, and a finished task has exactly one terminal event (it
  never completes twice), matching the row's status; an unfinished one has none;
- completed_at is set iff the status is terminal; a failed task says why, a finished one holds no lease.
"""

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orchestrator.models import Task, TaskEvent

ORDER = {"pending": 0, "downloading": 1, "extracting_frames": 2, "extracting_transcript": 3,
         "analyzing_vision": 4, "analyzing_text": 5, "completed": 6, "failed": 6}
TERMINAL = ("completed", "failed")


@dataclass
class Report:
    tasks: int = 0
    outcomes: Counter = field(default_factory=Counter)  # final status -> tasks
    entries: dict[str, Counter] = field(default_factory=dict)  # task -> status -> times entered
    claims: dict[str, list[tuple[int, str]]] = field(default_factory=dict)  # task -> [(attempt, owner)]
    violations: list[str] = field(default_factory=list)


def _check_history(task: Task, events: list[TaskEvent], report: Report) -> None:
    bad = report.violations.append
    tid = task.id[:8]
    if not events or events[0].kind != "created":
        bad(f"{tid}: history does not start with 'created'")
    rank, claim_attempt, new_claim, terminal = 0, None, False, []
    last_claim = 0
    entries, claims = Counter(), []
    for event in events:
        where = f"{tid}: event {event.id} ({event.kind} {event.status or ''} attempt {event.attempt})"
        if terminal:
            bad(f"{where} follows the terminal status {terminal[0]}")
        if event.kind == "created":
            if event is not events[0]:
                bad(f"{where}: a second 'created'")
        elif event.kind == "claimed":
            if event.attempt < last_claim:
                bad(f"{where}: claimed with a lower attempt than the claim before ({last_claim})")
            claim_attempt, new_claim, last_claim = event.attempt, True, event.attempt
            claims.append((event.attempt, event.detail or ""))
        elif event.kind in ("status", "retry"):
            if claim_attempt is None or event.attempt != claim_attempt:
                bad(f"{where}: not written by the latest claim (attempt {claim_attempt})")
            if event.kind == "retry":
                claim_attempt = None  # released: only a new claim may write again
                continue
            if event.status not in ORDER:
                bad(f"{where}: unknown status")
                continue
            step = ORDER[event.status]
            if step < rank:
                bad(f"{where}: moved backwards")
            elif step == rank and not new_claim:
                bad(f"{where}: entered again without a new claim")
            rank, new_claim = step, False
            entries[event.status] += 1
            if event.status in TERMINAL:
                terminal.append(event.status)
    status_events = [e.status for e in events if e.kind == "status"]
    if (status_events[-1] if status_events else "pending") != task.status:
        bad(f"{tid}: row says {task.status}, its last status event {status_events[-1:] or 'none'}")
    if task.status in TERMINAL:
        if len(terminal) != 1:
            bad(f"{tid}: {len(terminal)} terminal events ({terminal})")
        if task.completed_at is None:
            bad(f"{tid}: {task.status} without completed_at")
        if task.lease_owner is not None:
            bad(f"{tid}: {task.status} but still leased by {task.lease_owner}")
        if task.status == "failed" and not task.error:
            bad(f"{tid}: failed without an error")
        if task.status == "completed" and task.error:
            bad(f"{tid}: completed with an error: {task.error}")
    else:
        if terminal:
            bad(f"{tid}: row says {task.status} after terminal events {terminal}")
        if task.completed_at is not None:
            bad(f"{tid}: {task.status} with completed_at set")
    report.entries[task.id] = entries
    report.claims[task.id] = claims


def check_invariants(sessions: sessionmaker[Session], task_ids: list[str] | None = None) -> Report:
    """Check every task (or those of `task_ids`); the report lists each violation found."""
    with sessions() as session:
        task_query, event_query = select(Task), select(TaskEvent).order_by(TaskEvent.id)
        if task_ids is not None:
            task_query = task_query.where(Task.id.in_(task_ids))
            event_query = event_query.where(TaskEvent.task_id.in_(task_ids))
        tasks = list(session.scalars(task_query))
        history: dict[str, list[TaskEvent]] = {}
        for event in session.scalars(event_query):
            history.setdefault(event.task_id, []).append(event)
    report = Report(tasks=len(tasks))
    if task_ids is not None and len(tasks) != len(set(task_ids)):
        report.violations.append(f"{len(set(task_ids)) - len(tasks)} tasks are missing")
    for task in tasks:
        report.outcomes[task.status] += 1
        _check_history(task, history.get(task.id, []), report)
    return report


def assert_invariants(sessions: sessionmaker[Session], task_ids: list[str] | None = None) -> Report:
    report = check_invariants(sessions, task_ids)
    shown = "\n".join(report.violations[:30])
    assert not report.violations, f"{len(report.violations)} invariant violations:\n{shown}"
    return report
