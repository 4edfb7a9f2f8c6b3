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


ECHOED_INPUT_CHARS = 200


def _echoable(value: object) -> object:
    """The offending input as a refusal may echo it: scalars only (a 900-deep list is not worth echoing,
    and walking it would exhaust the stack), strings cut short, and nothing strict JSON cannot print
    (a lone surrogate such as "\\ud800", NaN, 1e999): echoing must not turn a 422 into a 500."""
    if isinstance(value, str):
        text = value[:ECHOED_INPUT_CHARS] + ("…" if len(value) > ECHOED_INPUT_CHARS else "")
        return json_safe(text)
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return f"<{type(value).__name__}>"


def json_safe(text: str) -> str:
    """`text` with what UTF-8 cannot carry (lone surrogates) written as escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    # FastAPI's shape, minus pydantic's documentation links, which mean nothing to API users.
    errors = []
    for error in exc.errors():
        shown = {k: v for k, v in error.items() if k not in ("url", "input")}
        shown["msg"] = json_safe(str(shown.get("msg", "")))
        shown["loc"] = [json_safe(part) if isinstance(part, str) else part for part in shown.get("loc", ())]
        if "input" in error:
            shown["input"] = _echoable(error["input"])
        errors.append(shown)
    return JSONResponse(status_code=422, content={"detail": jsonable_encoder(errors)})


async def _refused(request: Request, exc: TaskRefused) -> JSONResponse:
    return JSONResponse(status_code=422, content={"detail": exc.detail})


def error_body(request: Request, detail: str, code: str, kind: str = "invalid_request_error") -> dict:
    """`{"detail": ...}`, or under /v1 the OpenAI error shape, which the OpenAI SDKs turn into their
    own exceptions (AuthenticationError, RateLimitError, ...)."""
    if request.url.path.startswith("/v1/"):
        return {"error": {"message": detail, "type": kind, "param": None, "code": code}}
    return {"detail": detail}


async def _api_refusal(request: Request, exc: ApiRefusal) -> JSONResponse:
    kind = "invalid_request_error" if exc.status == 401 else "rate_limit_error"
    return JSONResponse(status_code=exc.status, content=error_body(request, exc.detail, exc.code, kind),
                        headers=exc.headers)


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
        content=error_body(request, public_unavailable_detail(exc), "service_unavailable", "server_error"),
        headers={"Retry-After": str(max(1, math.ceil(retry_after)))},
    )


async def _bad_gateway(request: Request, exc: PermanentError) -> JSONResponse:
    log.error("%s %s: %s", request.method, request.url.path, exc.message)
    detail = f"the task service failed: {exc.message}"
    return JSONResponse(status_code=502, content=error_body(request, detail, "bad_gateway", "server_error"))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error in %s %s", request.method, request.url.path)
    detail = f"internal error ({type(exc).__name__}); see the gateway log"
    return JSONResponse(status_code=500, content=error_body(request, detail, "internal_error", "server_error"))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(TaskRefused, _refused)
    app.add_exception_handler(ApiRefusal, _api_refusal)
    app.add_exception_handler(TaskQuotaExceeded, _quota_exceeded)
    app.add_exception_handler(TransientError, _unavailable)
    app.add_exception_handler(PermanentError, _bad_gateway)
    app.add_exception_handler(Exception, _unexpected)
