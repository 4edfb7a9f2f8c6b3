"""`python -m <service>`: every service serves the same way, on the HOST and port its settings read,
with the HTTP protocol that cuts off slow clients (as the images and `make run` start them with
`uvicorn --http service_common.slow_clients:HttpProtocol`)."""

from typing import Any

import uvicorn

from .slow_clients import HttpProtocol


def serve(app: Any, host: str, port: int, **options: Any) -> None:
    """Run `app` (an ASGI app, or the "module:factory" that makes it) until the process is stopped."""
    uvicorn.run(app, host=host, port=port, http=HttpProtocol, factory=isinstance(app, str), **options)
