"""A stage's side-by-side model calls: one failure cancels the rest at once."""

import asyncio

import pytest

from orchestrator.concurrency import all_or_nothing
from service_common.errors import PermanentError


def test_results_keep_their_order():
    async def value(v, delay):
        await asyncio.sleep(delay)
        return v

    assert asyncio.run(all_or_nothing([value(1, 0.05), value(2, 0.0), value(3, 0.02)])) == [1, 2, 3]


def test_one_failure_cancels_the_calls_still_running():
    cancelled = []

    async def slow(i):
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.append(i)
            raise

    async def failing():
        await asyncio.sleep(0.01)
        raise PermanentError("vision model failed on frame 3")

    async def run():
        started = asyncio.get_running_loop().time()
        with pytest.raises(PermanentError, match="frame 3"):
            await all_or_nothing([slow(0), failing(), slow(2)])
        return asyncio.get_running_loop().time() - started

    assert asyncio.run(run()) < 5
    assert sorted(cancelled) == [0, 2]
