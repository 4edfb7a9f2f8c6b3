"""App factory: `uvicorn --factory media_service.app:create_app` reads its settings from the environment."""

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from service_common.contracts import ErrorBody
from service_common.errors import ServiceError
from service_common.logging import configure_logging
from service_common.metrics import exposition
from service_common.observability import NO_NATIVE_TELEMETRY, observe_requests

from .config import MediaSettings
from .decode.decoder import Decoder
from .errors import answer_status
from .fetch import routes as fetch_routes
from .fetch.downloader import Downloader
from .frames import routes as frames_routes
from .frames.frame_sets import FrameSets
from .store import routes as store_routes
from .store.media_store import MediaStore
from .transcripts import routes as transcripts_routes

log = logging.getLogger(__name__)


def _error(status: int, detail: str, retryable: bool = False) -> JSONResponse:
    return JSONResponse(ErrorBody(detail=detail, retryable=retryable).model_dump(), status_code=status)


def _validation_detail(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
        parts.append(f"{where}: {error.get('msg')}" if where else str(error.get("msg")))
    return "invalid request: " + "; ".join(parts)


def create_app(settings: MediaSettings | None = None) -> FastAPI:
    settings = settings or MediaSettings()
    configure_logging("media-service", settings.log_level, settings.log_format)
    app = FastAPI(title="Media service", version="1.0.0", telemetry=NO_NATIVE_TELEMETRY)
    app.state.settings = settings
    app.state.store = MediaStore(settings.media_dir)
    app.state.decoder = Decoder(settings)
    app.state.downloader = Downloader(settings, app.state.store, decoder=app.state.decoder)
    app.state.frame_sets = FrameSets(app.state.store, app.state.decoder, settings.frame_max_side)
    for routes in (fetch_routes, frames_routes, transcripts_routes, store_routes):
        app.include_router(routes.router)

    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: ServiceError) -> JSONResponse:
        status = answer_status(exc)
        log.info("%s %s -> %s: %s", request.method, request.url.path, status, exc.message)
        return _error(status, exc.message, exc.retryable)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(422, _validation_detail(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return _error(500, f"internal error: {type(exc).__name__}", True)

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok"}

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return await exposition()

    # Request ids (and the task a call is for) from the orchestrator and the gateway, for the logs.
    observe_requests(app, trust_task_header=True)
    return app
