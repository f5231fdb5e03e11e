"""Backoff and Retry-After arithmetic for the GraphQL retry loop.

Ocean's ``RetryTransport`` does not retry POST and only sees HTTP statuses, while Spacelift reports
throttling and auth problems inside HTTP-200 GraphQL bodies too; so the loop (and this arithmetic)
is ours, kept small and unit-tested.

How many attempts? A request fails for good only when every attempt meets a fault. With the fault mix a
busy network gives (5% 5xx, 5% 429, 2% dropped connections, 2% truncated bodies: p = 0.14 per attempt,
taken as independent), ``DEFAULT_MAX_RETRIES`` = 6 gives 7 attempts and

    P(one request fails)      = 0.14 ** 7          ≈ 1.1e-6
    P(a resync loses a kind)  ≤ requests × 1.1e-6  ≈ 3.2e-4 for 300 requests (≈ 1 in 3,000 resyncs)

against 0.14 ** 3 ≈ 2.7e-3 per request (≈ 55% of 300-request resyncs) with the old 2 retries. The
waits before those retries are 0.5, 1, 2, 4, 8, 16 s (± 20%, capped at 30 s): ≈ 31 s at worst for one
request, inside ``request_budget_seconds``, which also bounds Retry-After pauses.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

DEFAULT_MAX_RETRIES = 6


@dataclass(frozen=True)
class BackoffPolicy:
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 120.0  # never sleep longer than this, whatever the server asks
    jitter_ratio: float = 0.2
    request_budget_seconds: float = 300.0  # one request, all its attempts and waits included

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        raw = min(self.base_delay * (2 ** (attempt - 1)), self.max_delay)
        jitter = raw * self.jitter_ratio
        return float(max(0.0, raw + random.uniform(-jitter, jitter)))


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` in seconds, from either the delta-seconds or the HTTP-date form."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now or datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())
