"""How often, and how soon, failed work is tried again: one policy object for tasks and for webhooks."""

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryStrategy:
    """`max_attempts` in all; after the n-th failed attempt the next one waits base_s * 2**(n-1), at most
    max_s, times a random factor in `jitter` (so that many failures at once do not come back at once)."""

    max_attempts: int
    base_s: float
    max_s: float = float("inf")
    jitter: tuple[float, float] = (0.8, 1.2)

    def may_retry_after(self, attempt: int) -> bool:
        """Whether the `attempt`-th attempt (1 for the first) may be followed by another."""
        return attempt < self.max_attempts

    def over(self, attempt: int) -> bool:
        """Whether an `attempt`-th attempt is one too many: the ones before it ended without saying so
        (their worker died), and they count."""
        return attempt > self.max_attempts

    def delay_s(self, attempt: int) -> float:
        """The wait before the attempt that follows the failed `attempt`-th."""
        ceiling = min(self.max_s, self.base_s * 2 ** max(attempt - 1, 0))
        return ceiling * random.uniform(*self.jitter)
