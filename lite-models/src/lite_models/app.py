"""The lite model server's app factory: `uvicorn --factory lite_models.app:create_app`."""

import logging
import time

from fastapi import FastAPI, Response

from service_common.logging import configure_logging
from service_common.metrics import exposition, request_metrics
from service_common.observability import NO_NATIVE_TELEMETRY, observe_requests

from .api import router
from .completions import CompletionEngine
from .config import LiteSettings
from .errors import install_error_handlers
from .speech import SpeechEngine, SpeechModelUnavailable

# uvicorn's exit status for an app that cannot start.
STARTUP_FAILURE = 3


def create_app(settings: LiteSettings | None = None) -> FastAPI:
    settings = settings or LiteSettings()
    configure_logging("lite-models", settings.log_level, settings.log_format)
    app = FastAPI(
        title="Lite model server",
        description="OpenAI-compatible chat completions on CPU with no model weights: classical image "
                    "analysis for the vision model, extractive summarisation for the text model.",
        version="0.1.0",
        telemetry=NO_NATIVE_TELEMETRY,
    )
    app.state.settings = settings
    app.state.engine = CompletionEngine(settings)
    try:
        app.state.speech = SpeechEngine(settings)
    except SpeechModelUnavailable as exc:
        logging.getLogger("lite_models").error("cannot start: %s", exc)
        raise SystemExit(STARTUP_FAILURE) from None
    app.state.started_at = int(time.time())
    install_error_handlers(app)
    app.include_router(router)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return await exposition()

    # Request ids from the callers for the logs; calls counted and timed by endpoint (route template).
    observe_requests(app, metrics=request_metrics("lite-models"), trust_task_header=True)
    return app
