"""Exception handlers: every failure becomes a JSON `{"detail": ...}` answer, never a traceback."""

import logging
import math

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from service_common.errors import PermanentError, TransientError

from .clients.orchestrator import TaskQuotaExceeded, TaskRefused
from .security import ApiRefusal

log = logging.getLogger(__name__)

# When the orchestrator gives no hint, a few seconds is long enough for a restart to finish.
DEFAULT_RETRY_AFTER_S = 5


def field_error(field: str, message: str, value: object, kind: str = "value_error") -> RequestValidationError:
    """A 422 for one body field, shaped like FastAPI's own validation errors."""
    return RequestValidationError([{"type": kind, "loc": ("body", field), "msg": message, "input": value}])


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    # FastAPI's shape, minus pydantic's documentation links, which mean nothing to API users.
    errors = [{k: v for k, v in error.items() if k != "url"} for error in exc.errors()]
    return JSONResponse(status_code=422, content={"detail": jsonable_encoder(errors)})


async def _refused(request: Request, exc: TaskRefused) -> JSONResponse:
    return JSONResponse(status_code=422, content={"detail": exc.detail})


async def _api_refusal(request: Request, exc: ApiRefusal) -> JSONResponse:
    if request.url.path.startswith("/v1/"):
        # The OpenAI SDKs read this shape (AuthenticationError, RateLimitError).
        kind = "invalid_request_error" if exc.status == 401 else "rate_limit_error"
        content = {"error": {"message": exc.detail, "type": kind, "param": None, "code": exc.code}}
    else:
        content = {"detail": exc.detail}
    return JSONResponse(status_code=exc.status, content=content, headers=exc.headers)


async def _quota_exceeded(request: Request, exc: TaskQuotaExceeded) -> JSONResponse:
    return JSONResponse(status_code=429, content={"detail": exc.detail},
                        headers={"Retry-After": str(max(1, math.ceil(exc.retry_after)))})


def public_unavailable_detail(exc: TransientError) -> str:
    """What a client may know: the task service's own reason, never its internal address."""
    if exc.status is None:
        return "the task service is unavailable: it could not be reached, try again shortly"
    reason = exc.message.removeprefix("orchestrator: ")
    return f"the task service is unavailable: {reason}"


async def _unavailable(request: Request, exc: TransientError) -> JSONResponse:
    log.warning("%s %s: %s", request.method, request.url.path, exc.message)
    retry_after = exc.retry_after if exc.retry_after is not None else DEFAULT_RETRY_AFTER_S
    return JSONResponse(
        status_code=503,
        content={"detail": public_unavailable_detail(exc)},
        headers={"Retry-After": str(max(1, math.ceil(retry_after)))},
    )


async def _bad_gateway(request: Request, exc: PermanentError) -> JSONResponse:
    log.error("%s %s: %s", request.method, request.url.path, exc.message)
    return JSONResponse(status_code=502, content={"detail": f"the task service failed: {exc.message}"})


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error in %s %s", request.method, request.url.path)
    return JSONResponse(
        status_code=500, content={"detail": f"internal error ({type(exc).__name__}); see the gateway log"}
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(TaskRefused, _refused)
    app.add_exception_handler(ApiRefusal, _api_refusal)
    app.add_exception_handler(TaskQuotaExceeded, _quota_exceeded)
    app.add_exception_handler(TransientError, _unavailable)
    app.add_exception_handler(PermanentError, _bad_gateway)
    app.add_exception_handler(Exception, _unexpected)
