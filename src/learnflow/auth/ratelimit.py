"""How often one client may try to sign in (a moving one-minute window per client address).

Counted in this process's memory (the ``limits`` library's memory storage): with several replicas each
counts its own share, so a client gets at most replicas x the limit. The per-account lockout, kept in the
database, is what bounds guessing one account's password across replicas.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from learnflow.errors import TooManyRequests


class LoginRateLimit:
    """At most ``per_minute`` sign-in attempts per client in any 60 seconds."""

    def __init__(self, per_minute: int) -> None:
        self.item = RateLimitItemPerMinute(per_minute)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def hit(self, client: str) -> None:
        """Count one attempt by ``client``, or refuse it (429 with Retry-After) when over the limit."""
        if self._limiter.hit(self.item, "login", client):
            return
        reset = self._limiter.get_window_stats(self.item, "login", client).reset_time
        retry = max(1, math.ceil(reset - time.time()))
        raise TooManyRequests(
            f"too many sign-in attempts from your address; try again in {retry} s", retry_after_s=retry
        )
