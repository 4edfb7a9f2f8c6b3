"""The orchestrator: internal task API plus, unless RUN_WORKERS=false, the workers in the same process."""

import asyncio
import contextlib
import logging
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import OperationalError

from service_common.fast_path import FastPath
from service_common.logging import configure_logging
from service_common.metrics import exposition
from service_common.observability import NO_NATIVE_TELEMETRY, TASK_IN_PATH, observe_requests
from service_common.request_context import OUTGOING_HOOKS
from service_common.startup import settle_heap

from . import api
from .answers import TaskAnswers, watch_for_changes
from .clients.media import MediaClient
from .clients.models import ModelClient
from .config import OrchestratorSettings
from .db import create_db_engine, create_session_factory
from .deployments import Deployments
from .metrics import task_counts_registry
from .migrate import upgrade_to_head
from .questions import Questions
from .retention import MediaJanitor
from .task_changes import TaskChanges
from .webhooks.sender import WebhookSender
from .worker import Worker

log = logging.getLogger(__name__)


def create_app(settings: OrchestratorSettings | None = None) -> FastAPI:
    settings = settings or OrchestratorSettings()
    configure_logging("orchestrator", settings.log_level, settings.log_format)
    engine = create_db_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await asyncio.to_thread(upgrade_to_head, engine)
        changes_seen = watch_for_changes(app.state.answers, engine)
        async with httpx.AsyncClient(timeout=settings.model_call_timeout_s, event_hooks=OUTGOING_HOOKS) as http:
            app.state.models = ModelClient(http, settings.model_concurrency, settings.model_call_timeout_s)
            app.state.media = MediaClient(http, settings.media_service_url)
            app.state.questions = Questions(settings, app.state.sessions, app.state.models, app.state.deployments)
            app.state.janitor = janitor = MediaJanitor(settings, app.state.sessions, app.state.media)
            worker = Worker(settings, app.state.sessions, app.state.media, app.state.models,
                            app.state.deployments) if settings.run_workers else None
            webhooks = WebhookSender(settings, app.state.sessions, worker.worker_id) if worker else None
            loops = [asyncio.create_task(worker.run()), asyncio.create_task(webhooks.run())] if worker else []
            if settings.run_workers and (settings.media_retention_s or settings.media_disk_budget_mb):
                loops.append(asyncio.create_task(janitor.run()))
            settle_heap()
            try:
                yield
            finally:
                if worker:
                    await worker.stop(settings.shutdown_grace_s)
                await janitor.close()
                for loop in loops:
                    loop.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await loop
                if webhooks:
                    await webhooks.aclose()
                await app.state.changes.aclose()
                await changes_seen.aclose()
                await app.state.sessions.aclose()
        engine.dispose()

    app = FastAPI(title="Orchestrator (internal task API)", lifespan=lifespan, telemetry=NO_NATIVE_TELEMETRY)
    app.state.settings = settings
    app.state.deployments = Deployments.from_settings(settings)
    app.state.sessions = create_session_factory(engine)
    app.state.changes = TaskChanges(app.state.sessions)
    app.state.answers = TaskAnswers(settings.answer_cache_mb * 2**20)
    app.include_router(api.router)
    app.add_middleware(FastPath, method="GET", path=api.TASK_PATH, handler=api.read_task,
                       route="/internal/tasks/{task_id}")

    @app.exception_handler(OperationalError)
    async def database_unavailable(_request: Request, exc: OperationalError) -> JSONResponse:
        log.warning("database unavailable: %s", str(exc).splitlines()[0])
        return JSONResponse({"detail": "the task database is unavailable, try again shortly",
                             "retryable": True}, status_code=503, headers={"Retry-After": "5"})

    @app.get("/health")
    async def liveness() -> dict:
        return {"status": "ok"}

    task_counts = task_counts_registry(app.state.sessions)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        """Prometheus metrics; tasks by status and the queue's depth are read from the database now."""
        return await exposition(task_counts)

    # Request ids from the gateway (and the task a call is about) for the logs and the calls made from here.
    observe_requests(app, trust_task_header=True, task_path=TASK_IN_PATH)
    return app
