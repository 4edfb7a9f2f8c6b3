"""Running a stage's model calls side by side."""

import asyncio
from collections.abc import Awaitable, Iterable
from typing import TypeVar

T = TypeVar("T")


async def all_or_nothing(calls: Iterable[Awaitable[T]]) -> list[T]:
    """The results of `calls` in order; when one fails the others are cancelled at once, so a failed
    stage leaves no model call running behind it (asyncio.gather would let them run on)."""
    jobs = [asyncio.ensure_future(call) for call in calls]
    try:
        return list(await asyncio.gather(*jobs))
    except BaseException:
        for job in jobs:
            job.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)
        raise
