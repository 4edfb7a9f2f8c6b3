"""Request size limits, applied before any route reads the request (ASGI middleware).

Starlette reads a whole body into memory when a route asks for it, whatever its size; this caps it
first, with or without a Content-Length, and answers 413. Uploads stream and have their own cap
(MAX_UPLOAD_MB), so paths whose body limit is None pass straight through. The HTTP server parsing
requests (httptools) sets no bound on headers, so header blocks far beyond what clients send are
refused here with 431.
"""

import json
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_HEADER_BYTES = 64 * 1024  # browsers send at most a few KB; a long bearer key is well under 1 KB
MAX_HEADER_FIELDS = 200


class RequestSizeLimits:
    def __init__(self, app: ASGIApp, limit_for: Callable[[str], tuple[int, str] | None]):
        self.app = app
        self.limit_for = limit_for  # path -> (bytes, how to say it) or None for no limit here

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope["headers"]
        if len(headers) > MAX_HEADER_FIELDS or sum(len(k) + len(v) for k, v in headers) > MAX_HEADER_BYTES:
            await _answer(send, 431, f"the request headers are larger than {MAX_HEADER_BYTES // 1024} KB "
                                     f"or more than {MAX_HEADER_FIELDS} fields", scope["path"])
            return
        limit = self.limit_for(scope["path"])
        if limit is None:
            await self.app(scope, receive, send)
            return
        max_bytes, described = limit
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await _answer(send, 400, "the Content-Length header is not a number", scope["path"])
                return
            if int(declared) > max_bytes:
                await _answer(send, 413, f"the request body is larger than {described}", scope["path"])
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            size += len(message.get("body", b""))
            if size > max_bytes:
                await _answer(send, 413, f"the request body is larger than {described}", scope["path"])
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(b"".join(chunks), receive), send)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # only a disconnect can follow

    return replayed


async def _answer(send: Send, status: int, detail: str, path: str) -> None:
    if path.startswith("/v1/"):  # the OpenAI shape, as every answer under /v1
        code = "request_too_large" if status == 413 else "invalid_request"
        content: dict = {"error": {"message": detail, "type": "invalid_request_error", "param": None, "code": code}}
    else:
        content = {"detail": detail}
    body = json.dumps(content).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"connection", b"close")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
