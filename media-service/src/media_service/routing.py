"""What every router of the service shares: the error answers /docs shows, and work that stops when
the caller hangs up."""

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any, TypeVar

from fastapi import Request

from service_common.contracts import ErrorBody
from service_common.errors import ServiceError

from .errors import MediaError

T = TypeVar("T")
DISCONNECT_POLL_S = 0.5

ERRORS = {
    422: {"model": ErrorBody},
    404: {"model": ErrorBody},
    502: {"model": ErrorBody},
    503: {"model": ErrorBody},
    504: {"model": ErrorBody},
}


async def unless_caller_leaves(request: Request, work: Coroutine[Any, Any, T]) -> T:
    """Run `work`, cancelling it if the caller hangs up first: a caller that gave up must not leave
    work running (a decode child is killed then; a download shields its fetch from this, see
    fetch/routes.py)."""
    job = asyncio.ensure_future(work)
    while True:
        done, _ = await asyncio.wait({job}, timeout=DISCONNECT_POLL_S)
        if done:
            return job.result()
        if await request.is_disconnected():
            job.cancel()
            with contextlib.suppress(asyncio.CancelledError, ServiceError):
                await job
            raise MediaError("the caller went away before the work finished", 499, True)
