"""The orchestrator: internal task API plus, unless RUN_WORKERS=false, the workers in the same process."""

import asyncio
import contextlib
import logging
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError

from service_common.fast_path import FastPath
from service_common.logging import configure_logging
from service_common.startup import settle_heap

from . import api
from .answers import TaskAnswers, watch_for_changes
from .clients.media import MediaClient
from .clients.models import ModelClient
from .config import OrchestratorSettings
from .db import create_db_engine, create_session_factory
from .migrate import upgrade_to_head
from .retention import MediaJanitor
from .task_changes import TaskChanges
from .worker import Worker

log = logging.getLogger(__name__)


def create_app(settings: OrchestratorSettings | None = None) -> FastAPI:
    settings = settings or OrchestratorSettings()
    configure_logging("orchestrator", settings.log_level)
    engine = create_db_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await asyncio.to_thread(upgrade_to_head, engine)
        changes_seen = watch_for_changes(app.state.answers, engine)
        async with httpx.AsyncClient(timeout=settings.model_call_timeout_s) as http:
            app.state.models = ModelClient(http, settings.model_concurrency, settings.model_call_timeout_s)
            app.state.media = MediaClient(http, settings.media_service_url)
            app.state.janitor = janitor = MediaJanitor(settings, app.state.sessions, app.state.media)
            worker = Worker(settings, app.state.sessions, http) if settings.run_workers else None
            loops = [asyncio.create_task(worker.run())] if worker else []
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
                await app.state.changes.aclose()
                await changes_seen.aclose()
                await app.state.sessions.aclose()
        engine.dispose()

    app = FastAPI(title="Orchestrator (internal task API)", lifespan=lifespan)
    app.state.settings = settings
    app.state.sessions = create_session_factory(engine)
    app.state.changes = TaskChanges(app.state.sessions)
    app.state.answers = TaskAnswers(settings.answer_cache_mb * 2**20)
    app.include_router(api.router)
    app.add_middleware(FastPath, method="GET", path=api.TASK_PATH, handler=api.read_task)

    @app.exception_handler(OperationalError)
    async def database_unavailable(_request: Request, exc: OperationalError) -> JSONResponse:
        log.warning("database unavailable: %s", str(exc).splitlines()[0])
        return JSONResponse({"detail": "the task database is unavailable, try again shortly",
                             "retryable": True}, status_code=503, headers={"Retry-After": "5"})

    @app.get("/health")
    async def liveness() -> dict:
        return {"status": "ok"}

    return app
