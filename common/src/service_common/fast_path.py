"""One kind of request answered ahead of FastAPI's routing, for the few requests that clients repeat.

FastAPI's work per request (its exception and exit-stack layers, routing through included routers,
solving parameters and dependencies) costs a service more than a small database read does. For a
request clients repeat many times a second, such as polling a task, that decides how many clients a
service can serve. `FastPath` is an ASGI middleware that hands such a request to a plain
`handler(request, *path_groups) -> Response` instead; what the handler raises is answered by the app's
own exception handlers, so the status, body and headers are the ones the route would give. Everything
else goes on to the app, which keeps the documented route for the same path. `route` names that route's
template ("/tasks/{task_id}") for the request metrics (service_common.metrics).
"""

import re
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from .metrics import FAST_PATH_ROUTE

Handler = Callable[..., Awaitable[Response]]


class FastPath:
    def __init__(self, app: ASGIApp, *, method: str, path: re.Pattern[str], handler: Handler,
                 route: str | None = None):
        self.app, self.method, self.path, self.handler, self.route = app, method, path, handler, route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        matched = None
        if scope["type"] == "http" and scope["method"] == self.method:
            matched = self.path.fullmatch(scope["path"])
        if matched is None:
            await self.app(scope, receive, send)
            return
        scope[FAST_PATH_ROUTE] = self.route
        request = Request(scope, receive)
        try:
            response = await self.handler(request, *matched.groups())
        except Exception as exc:
            response = await _handled(request, exc)
        await response(scope, receive, send)


async def _handled(request: Request, exc: Exception) -> Response:
    """The answer of the app's handler for the exception's class or its nearest base (as Starlette looks
    them up); with none, the exception goes on to the server's error layer."""
    handlers = request.app.exception_handlers
    for kind in type(exc).__mro__:
        if kind in handlers:
            return await handlers[kind](request, exc)
    raise exc
