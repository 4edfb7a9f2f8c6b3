"""Workers: claim a task, keep its lease alive, run its unfinished stages, record the outcome."""

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from tenacity import AsyncRetrying, retry_if_exception, stop_after_delay, wait_exponential_jitter

from service_common.contracts import STAGES, TaskStatus
from service_common.errors import PermanentError, TransientError
from service_common.request_context import working_on

from .clients.media import MediaClient
from .clients.models import ModelClient
from .clients.speech import SpeechClient
from .config import OrchestratorSettings
from .deployments import Deployments
from .metrics import CLAIMS, LEASES_LOST, STAGE_SECONDS, TAKEOVERS
from .pipeline import Pipeline, StageContext
from .queue import (
    Claim,
    LeaseLost,
    claim_next_task,
    complete_task,
    enter_stage,
    extend_lease,
    fail_task,
    release_for_retry,
    release_unstarted,
    report_progress,
    save_checkpoint,
    still_owned,
)

log = logging.getLogger(__name__)


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def database_unreachable(exc: BaseException) -> bool:
    """Connection-level failures (server down or restarting, network, a busy SQLite file), which pass;
    not errors in the statement, which would only repeat."""
    return isinstance(exc, OperationalError | InterfaceError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated)


class Worker:
    def __init__(self, settings: OrchestratorSettings, sessions: sessionmaker[Session], media: MediaClient,
                 models: ModelClient, deployments: Deployments):
        """`media` and `models` are the app's own clients: one pool of connections, one concurrency bound per
        model endpoint, for the workers and the API alike."""
        self.settings = settings
        self.sessions = sessions
        self.worker_id = new_worker_id()
        self.retries = settings.task_retries()
        speech = SpeechClient(models, deployments.speech) if deployments.speech else None
        self.pipeline = Pipeline(settings, media, models, speech, deployments=deployments)
        self._stopping = asyncio.Event()
        self._running: dict[asyncio.Task, str] = {}  # job -> task id

    async def _db(self, write, *args):
        """Run a queue write in a thread, waiting out a database outage of up to DATABASE_OUTAGE_S.
        Repeating a write is safe: each is fenced on the claim, and one that did land re-applies the same
        values (or finds the task finished and raises LeaseLost)."""
        retrying = AsyncRetrying(retry=retry_if_exception(database_unreachable), reraise=True,
                                 stop=stop_after_delay(self.settings.database_outage_s),
                                 wait=wait_exponential_jitter(multiplier=0.2, max=5.0),
                                 before_sleep=lambda state: log.warning(
                                     "database unavailable, retrying: %s",
                                     str(state.outcome.exception()).splitlines()[0]))
        async for attempt in retrying:
            with attempt:
                return await asyncio.to_thread(write, self.sessions, *args)
        raise AssertionError("unreachable")  # pragma: no cover

    async def run(self) -> None:
        """Claim and run tasks until stop() is called: up to WORKER_CONCURRENCY at once, plus RESCUE_SLOTS
        for tasks whose worker died."""
        log.info("worker %s started", self.worker_id)
        while not self._stopping.is_set():
            claim = None
            busy = len(self._running)
            # Past its regular slots a worker still takes over tasks whose worker died, so that a crash is
            # repaired within a lease even when every worker is busy.
            rescue_only = busy >= self.settings.worker_concurrency
            if busy < self.settings.worker_concurrency + self.settings.rescue_slots:
                try:
                    claim = await asyncio.to_thread(claim_next_task, self.sessions, self.worker_id,
                                                    self.settings.lease_s, set(self._running.values()), rescue_only)
                except Exception as exc:  # the database may be down for a while; keep trying
                    log.warning("claiming failed: %s", exc)
            if claim is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.settings.poll_interval_s)
                continue
            CLAIMS.inc()
            if claim.took_over:
                TAKEOVERS.inc()
            job = asyncio.create_task(self.process(claim))
            self._running[job] = claim.task_id
            job.add_done_callback(lambda done: self._running.pop(done, None))

    async def stop(self, grace_s: float = 10.0) -> None:
        """Claim nothing more; give running tasks `grace_s`, then hand them back."""
        self._stopping.set()
        if self._running:
            _, pending = await asyncio.wait(set(self._running), timeout=grace_s)
            for job in pending:
                job.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def process(self, claim: Claim) -> None:
        # Every log line of the task, and every call made for it, names the task (and the request that made it).
        with working_on(claim.task_id, claim.request_id):
            await self._process(claim)

    async def _process(self, claim: Claim) -> None:
        body = asyncio.create_task(self._run_stages(claim))
        lease_lost = asyncio.Event()
        beat = asyncio.create_task(self._heartbeat(claim, body, lease_lost))
        try:
            await body
        except asyncio.CancelledError:
            if lease_lost.is_set():
                LEASES_LOST.inc()
                log.info("task %s: deleted or taken over, stopped working on it", claim.task_id)
                return
            # Shutting down: hand the task back without counting this attempt against it.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._db(release_unstarted, claim), 5)
            raise
        except LeaseLost:
            LEASES_LOST.inc()
            log.info("task %s: deleted or taken over, stopped working on it", claim.task_id)
        except Exception:
            # The lease runs out and another claim resumes from the last checkpoint.
            log.exception("task %s: unexpected error", claim.task_id)
        finally:
            beat.cancel()

    async def _heartbeat(self, claim: Claim, body: asyncio.Task, lease_lost: asyncio.Event) -> None:
        """Extend the lease every third of it, and check often in between that the task is still ours,
        so that a deleted task stops within CANCEL_CHECK_S rather than at its next write."""
        beat_every = max(self.settings.lease_s / 3, 0.2)
        check_every = min(self.settings.cancel_check_s, beat_every)
        loop = asyncio.get_running_loop()
        next_beat = loop.time() + beat_every
        while not body.done():
            await asyncio.sleep(check_every)
            try:
                if loop.time() >= next_beat:
                    next_beat = loop.time() + beat_every
                    await asyncio.to_thread(extend_lease, self.sessions, claim, self.settings.lease_s)
                elif not await asyncio.to_thread(still_owned, self.sessions, claim):
                    raise LeaseLost(claim.task_id)
            except LeaseLost:
                lease_lost.set()
                body.cancel()  # stop its calls now rather than at its next write
                return
            except Exception as exc:
                log.warning("task %s: heartbeat failed: %s", claim.task_id, str(exc).splitlines()[0])

    async def _run_stages(self, claim: Claim) -> None:
        if self.retries.over(claim.attempt):
            reason = claim.last_error or "the worker running it stopped"
            await self._db(fail_task, claim, f"{reason} (gave up after {self.retries.max_attempts} attempts)")
            return
        checkpoints = claim.checkpoints
        timeouts = self.settings.stage_timeouts()

        async def report(progress: dict) -> None:
            try:
                await asyncio.to_thread(report_progress, self.sessions, claim, progress)
            except LeaseLost:
                raise
            except Exception as exc:  # progress is a nicety: a database hiccup must not stop the stage
                log.warning("task %s: progress not saved: %s", claim.task_id, str(exc).splitlines()[0])

        for stage in STAGES:
            if checkpoints.finished(stage):
                continue
            await self._db(enter_stage, claim, stage)
            started = time.monotonic()
            try:
                context = StageContext(claim.task_id, claim.request, checkpoints, report, claim.task_owner)
                output = await asyncio.wait_for(self.pipeline.run_stage(stage, context), timeouts[stage.value])
            except TimeoutError:
                _stage_took(stage, "timed_out", started)
                if stage == TaskStatus.DOWNLOADING:  # the media service keeps a fetch whose caller left
                    with contextlib.suppress(Exception):
                        await self.pipeline.media.cancel_download(claim.task_id)
                await self._fail(claim, f"{stage.value.replace('_', ' ')} timed out after "
                                        f"{timeouts[stage.value]:.0f} s")
                return
            except PermanentError as exc:
                _stage_took(stage, "failed", started)
                await self._fail(claim, exc.message)
                return
            except TransientError as exc:
                _stage_took(stage, "retried", started)
                await self._retry_or_fail(claim, exc.message)
                return
            _stage_took(stage, "ok", started)
            await self._db(save_checkpoint, claim, stage, output)
            checkpoints = checkpoints.with_stage(stage, output.checkpoint)
        await self._db(complete_task, claim)
        log.info("task %s completed", claim.task_id)

    async def _fail(self, claim: Claim, error: str) -> None:
        log.info("task %s failed: %s", claim.task_id, error)
        await self._db(fail_task, claim, _one_line(error))

    async def _retry_or_fail(self, claim: Claim, error: str) -> None:
        if not self.retries.may_retry_after(claim.attempt):
            await self._fail(claim, f"{error} (gave up after {claim.attempt} attempts)")
            return
        delay = self.retries.delay_s(claim.attempt)
        log.info("task %s: transient failure, retrying in %.1f s: %s", claim.task_id, delay, error)
        await self._db(release_for_retry, claim, _one_line(error), delay)


def _stage_took(stage: TaskStatus, outcome: str, started: float) -> None:
    STAGE_SECONDS.labels(stage.value, outcome).observe(time.monotonic() - started)


def _one_line(text: str, limit: int = 500) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
