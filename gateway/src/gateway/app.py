"""The public FastAPI app. `uvicorn --factory gateway.app:create_app` or `python -m gateway`."""

import asyncio
import contextlib
import logging
from contextlib import asynccontextmanager

import aiohttp
import httpx
from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from service_common.fast_path import FastPath
from service_common.listening import bound_addresses, describe
from service_common.logging import configure_logging, write_in_background
from service_common.metrics import request_metrics
from service_common.observability import NO_NATIVE_TELEMETRY, TASK_IN_PATH, observe_requests
from service_common.request_context import OUTGOING_HOOKS
from service_common.serving import serve
from service_common.startup import settle_heap

from .clients.models import RouteCache
from .config import GatewaySettings
from .errors import install_error_handlers
from .live_progress import TaskFeeds
from .request_limits import RequestSizeLimits
from .routes import docs, events, exports, info, media, openai_compat, questions, tasks, ui
from .routes.metrics import router as metrics_router
from .schemas import ErrorResponse, OpenAIErrorResponse
from .security import ApiKeys, RateLimiter, authenticated_caller, is_loopback_host

log = logging.getLogger("gateway")
# Requests to the orchestrator in flight at once; more wait for a connection (aiohttp's default is 100).
ORCHESTRATOR_CONNECTIONS = 100

DESCRIPTION = """\
Analyses videos (YouTube and other sites yt-dlp supports) with open-weight Llama models:
`POST /analyze` starts a task and returns its `task_id` at once; poll `GET /tasks/{task_id}`
until `status` is `completed` (summary, key points, frame analyses, transcript) or `failed`
(`error`). Times are UTC. When the task service is briefly unavailable the answer is 503 with a
`Retry-After` header.

When the server has API keys, send yours as `Authorization: Bearer <key>` or `X-API-Key: <key>`;
each key sees only its own tasks. Too many requests or running tasks are answered 429 with
`Retry-After`.
"""


def _configure_logging(settings: GatewaySettings) -> None:
    configure_logging("gateway", settings.log_level, settings.log_format)
    # httpx logs every orchestrator call at INFO; uvicorn's access log already records each request.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    write_in_background(logging.getLogger("uvicorn.access"))


def _api_keys(settings: GatewaySettings) -> ApiKeys:
    keys = ApiKeys.from_settings(settings)
    if keys.enabled:
        return keys
    if not is_loopback_host(settings.host) and not settings.allow_unauthenticated:
        raise RuntimeError(f"refusing to serve {settings.host} without API keys: set API_KEYS (name:key,...) "
                           "or, to serve everyone who can reach this port, ALLOW_UNAUTHENTICATED=true")
    # Which port is not known yet (a launcher's --port may differ from PORT): see _warn_where_open.
    log.warning("API_KEYS is not set: authentication is off")
    return keys


async def _warn_where_open(settings: GatewaySettings) -> None:
    """Name the address the server actually listens on, once it has bound it."""
    addresses = await bound_addresses()
    where = describe(addresses) if addresses else f"port {settings.port}"
    log.warning("without API keys, anyone who can reach %s may use the API", where)


def _body_limits(settings: GatewaySettings):
    json_limit = (settings.max_request_body_kb * 1024, f"{settings.max_request_body_kb} KB (MAX_REQUEST_BODY_KB)")
    model_limit = (settings.max_model_request_mb * 2**20, f"{settings.max_model_request_mb} MB (MAX_MODEL_REQUEST_MB)")

    def limit_for(path: str) -> tuple[int, str] | None:
        if path.rstrip("/") == "/uploads":
            return None  # streamed to the media service under MAX_UPLOAD_MB
        return model_limit if path.startswith("/v1/") else json_limit

    return limit_for


def _orchestrator_session(settings: GatewaySettings, connections: int) -> aiohttp.ClientSession:
    """A client for the orchestrator, with at most `connections` open at once (0: no limit)."""
    return aiohttp.ClientSession(
        base_url=settings.orchestrator_url.rstrip("/") + "/",
        timeout=aiohttp.ClientTimeout(total=settings.orchestrator_timeout_s),
        connector=aiohttp.TCPConnector(limit=connections), auto_decompress=False)


def refusals(model: type) -> dict:
    """What every protected route may answer before it runs, for the OpenAPI document."""
    return {
        401: {"model": model, "description": "No API key, or not a valid one (only when the server has API_KEYS)"},
        413: {"model": model, "description": "The request body is over MAX_REQUEST_BODY_KB (MAX_MODEL_REQUEST_MB "
                                             "under /v1, MAX_UPLOAD_MB for uploads)"},
        429: {"model": model, "description": "Over RATE_LIMIT (or, on POST /analyze, ACTIVE_TASKS_PER_KEY); "
                                             "see Retry-After"},
        431: {"model": model, "description": "The request headers are far larger than any client sends"},
    }


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    if settings is None:
        # Built from the environment means this is the service process itself, so it owns logging.
        settings = GatewaySettings()
        _configure_logging(settings)
    api_keys = _api_keys(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # One pooled client for the app's lifetime: connections to the orchestrator are reused. Live
        # progress waits on a pool of its own, one connection per followed task, so that however many
        # tasks are followed, they never hold the connections task reads need.
        async with _orchestrator_session(settings, ORCHESTRATOR_CONNECTIONS) as http, \
                _orchestrator_session(settings, 0) as watch_http, \
                httpx.AsyncClient(timeout=settings.upload_timeout_s, event_hooks=OUTGOING_HOOKS) as media_http, \
                httpx.AsyncClient(timeout=httpx.Timeout(settings.model_call_timeout_s, connect=10.0),
                                  event_hooks=OUTGOING_HOOKS) as models_http:
            app.state.http = http
            app.state.watch_http = watch_http
            app.state.media_http = media_http
            app.state.models_http = models_http
            warning = None if api_keys.enabled else asyncio.create_task(_warn_where_open(settings))
            settle_heap()
            try:
                yield
            finally:
                if warning is not None:
                    warning.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await warning

    # /docs and /redoc come from routes.docs, which serves their scripts itself instead of from a CDN.
    app = FastAPI(title=info.API_NAME, version=info.API_VERSION, description=DESCRIPTION, lifespan=lifespan,
                  docs_url=None, redoc_url=None, telemetry=NO_NATIVE_TELEMETRY)
    app.state.settings = settings
    app.state.api_keys = api_keys
    app.state.rate_limiter = RateLimiter(settings.rate_limit)
    app.state.task_feeds = TaskFeeds(settings.events_heartbeat_s)
    app.state.model_routes = RouteCache()
    # Added first, so they run inside CORS: their answers carry the CORS headers a browser needs to read them.
    app.add_middleware(FastPath, method="GET", path=tasks.TASK_PATH, handler=tasks.read_task,
                       route="/tasks/{task_id}")
    app.add_middleware(RequestSizeLimits, limit_for=_body_limits(settings))
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_allow_origins,
        allow_methods=["*"],
        allow_headers=["*"],
        # Browsers hide response headers from scripts unless listed; clients need Retry-After.
        expose_headers=["Retry-After", "X-Request-ID"],
    )
    install_error_handlers(app)
    app.include_router(info.router)
    app.include_router(docs.router)
    app.include_router(ui.router)
    app.include_router(metrics_router)
    protected = [Depends(authenticated_caller)]
    app.include_router(tasks.router, dependencies=protected, responses=refusals(ErrorResponse))
    app.include_router(exports.router, dependencies=protected, responses=refusals(ErrorResponse))
    app.include_router(events.router, dependencies=protected, responses=refusals(ErrorResponse))
    app.include_router(questions.router, dependencies=protected, responses=refusals(ErrorResponse))
    app.include_router(media.router, dependencies=protected, responses=refusals(ErrorResponse))
    app.include_router(openai_compat.router, dependencies=protected, responses=refusals(OpenAIErrorResponse))
    # Outside everything, error answers included: request ids, and requests by route template for /metrics.
    observe_requests(app, metrics=request_metrics("gateway"), task_path=TASK_IN_PATH)
    return app


def main() -> None:
    settings = GatewaySettings()
    _configure_logging(settings)
    serve(create_app(settings), settings.host, settings.port, log_config=None)


if __name__ == "__main__":
    main()
