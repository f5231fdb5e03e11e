"""One throttle gate per client: when Spacelift says "slow down", every request waits, not only the one
that was told.

Spacelift sends no rate-limit headers (its GraphQL server answers ``429`` / ``rate limit exceeded``
without ``Retry-After``), so the gate is reactive: a throttled answer closes it for the backoff delay and
every request of the client waits for it to reopen. An optional requests-per-second cap
(``spaceliftMaxRequestsPerSecond``, like the Terraform provider's ``SPACELIFT_MAX_REQUESTS_PER_SECOND``)
keeps a client under a known limit in the first place; it uses ``aiolimiter``, as Ocean's own
integrations do.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from aiolimiter import AsyncLimiter


class ThrottleGate:
    def __init__(
        self,
        max_requests_per_second: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._open_at = 0.0
        self._limiter = (
            AsyncLimiter(max_requests_per_second, 1.0)
            if max_requests_per_second and max_requests_per_second > 0
            else None
        )
        self.closures = 0  # how many throttled answers closed the gate (for tests and the bench)

    def close_for(self, seconds: float) -> None:
        """Spacelift throttled a request: nobody sends for ``seconds``."""
        self.closures += 1
        self._open_at = max(self._open_at, self._clock() + max(0.0, seconds))

    def seconds_closed(self) -> float:
        return max(0.0, self._open_at - self._clock())

    async def wait(self) -> None:
        """Return when this client may send its next request."""
        while (remaining := self.seconds_closed()) > 0:
            await (self._sleep or asyncio.sleep)(remaining)
        if self._limiter is not None:
            await self._limiter.acquire()
