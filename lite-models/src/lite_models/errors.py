"""Errors answered in the OpenAI error shape, so OpenAI clients (and our orchestrator) can read them."""

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException


class ApiError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None, param: str | None = None,
                 error_type: str = "invalid_request_error"):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.error_type = error_type


def error_body(message: str, error_type: str = "invalid_request_error", code: str | None = None,
               param: str | None = None) -> dict:
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


def _api_error(_: Request, exc: ApiError) -> JSONResponse:
    return JSONResponse(error_body(exc.message, exc.error_type, exc.code, exc.param), status_code=exc.status)


def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code)
    return JSONResponse(error_body(str(exc.detail), code=code), status_code=exc.status_code,
                        headers=getattr(exc, "headers", None))


def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
    return JSONResponse(error_body(describe_validation_errors(exc.errors())), status_code=400)


def _unexpected_error(_: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(error_body(f"internal error: {type(exc).__name__}", "server_error"), status_code=500)


def describe_validation_errors(errors) -> str:
    """One readable line per problem, e.g. "messages.0.role: Input should be 'system', 'user' ..."."""
    errors = list(errors)
    # A union (content: str | list of parts) reports one error per branch; the list branch's
    # error is the informative one when the client clearly sent a list.
    specific = [e for e in errors if e.get("type") != "string_type"] or errors
    parts = []
    for err in specific[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body" and "[" not in str(p))
        message = str(err.get("msg", "")).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "invalid request: " + "; ".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected_error)
