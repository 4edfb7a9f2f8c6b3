"""How much decoding one request may do: frames and pixels decoded, counted in the decode loops.

Time and memory are bounded from outside (the decode child is killed, its address space capped);
these counts make a hostile file (a 4096x4096 GIF canvas behind thousands of one-pixel frames) fail
with a message that says which limit it reached, long before the time limit would.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


class DecodeLimit(Exception):
    """A limit on decoding was reached; the message names it and its setting, for an API error."""


@dataclass
class DecodeBudget:
    max_frames: int
    max_pixels: int
    frames: int = 0
    pixels: int = 0

    def charge(self, width: int, height: int) -> None:
        self.frames += 1
        self.pixels += width * height
        if self.frames > self.max_frames:
            raise DecodeLimit(f"the video needs more than {self.max_frames} decoded frames (DECODE_MAX_FRAMES)")
        if self.pixels > self.max_pixels:
            raise DecodeLimit(
                f"the video needs more than {self.max_pixels // 1_000_000} megapixels decoded "
                f"(DECODE_MAX_MEGAPIXELS; {self.frames} frames of {width}x{height} so far)"
            )


_current: ContextVar[DecodeBudget | None] = ContextVar("decode_budget", default=None)


def charge(frame) -> None:
    """Count one decoded frame against the budget in force, if any (none: unbounded, as in tests)."""
    budget = _current.get()
    if budget is not None:
        budget.charge(frame.width, frame.height)


@contextmanager
def decode_budget(budget: DecodeBudget) -> Iterator[DecodeBudget]:
    token = _current.set(budget)
    try:
        yield budget
    finally:
        _current.reset(token)
