"""The public FastAPI app. `uvicorn --factory gateway.app:create_app` or `python -m gateway`."""

import logging
from contextlib import asynccontextmanager

import httpx
import uvicorn
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from service_common.logging import configure_logging

from .config import GatewaySettings
from .errors import install_error_handlers
from .routes import info, media, openai_compat, tasks

DESCRIPTION = """\
Analyses videos (YouTube and other sites yt-dlp supports) with open-weight Llama models:
`POST /analyze` starts a task and returns its `task_id` at once; poll `GET /tasks/{task_id}`
until `status` is `completed` (summary, key points, frame analyses, transcript) or `failed`
(`error`). Times are UTC. When the task service is briefly unavailable the answer is 503 with a
`Retry-After` header.
"""


def _configure_logging(settings: GatewaySettings) -> None:
    configure_logging("gateway", settings.log_level)
    # httpx logs every orchestrator call at INFO; uvicorn's access log already records each request.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    if settings is None:
        # Built from the environment means this is the service process itself, so it owns logging.
        settings = GatewaySettings()
        _configure_logging(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # One pooled client for the app's lifetime: connections to the orchestrator are reused.
        async with httpx.AsyncClient(
            base_url=settings.orchestrator_url.rstrip("/"), timeout=settings.orchestrator_timeout_s
        ) as http, httpx.AsyncClient(timeout=settings.upload_timeout_s) as media_http, httpx.AsyncClient(
            timeout=httpx.Timeout(settings.model_call_timeout_s, connect=10.0)
        ) as models_http:
            app.state.http = http
            app.state.media_http = media_http
            app.state.models_http = models_http
            yield

    app = FastAPI(title=info.API_NAME, version=info.API_VERSION, description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_allow_origins,
        allow_methods=["*"],
        allow_headers=["*"],
        # Browsers hide response headers from scripts unless listed; clients need Retry-After.
        expose_headers=["Retry-After"],
    )
    install_error_handlers(app)
    app.include_router(info.router)
    app.include_router(tasks.router)
    app.include_router(media.router)
    app.include_router(openai_compat.router)
    return app


def main() -> None:
    settings = GatewaySettings()
    _configure_logging(settings)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_config=None)


if __name__ == "__main__":
    main()
