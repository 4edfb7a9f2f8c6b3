"""Work done once per key at a time: one video downloaded once, one frame set extracted once."""

import asyncio
import contextlib


class KeyedLocks:
    """One asyncio.Lock per key while anyone holds or waits for it (counted, so a waiter that has
    been woken but not yet run never finds its lock replaced by a fresh one)."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str):
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)
