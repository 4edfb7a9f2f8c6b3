"""Waiting for something to become true, with a limit and a message that says what never happened."""

import time


def wait_until(check, within: float, what: str, every: float = 0.05) -> float:
    """Seconds until `check()` held; fails with `what` after `within` seconds."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < within, what
        time.sleep(every)
    return time.monotonic() - started
