"""Switchable faults: latency, throttling, 5xx, dropped connections, malformed bodies, unauthorized fields.

Two ways to inject: probabilities / a token bucket (for benchmarks and the demo), and a queue of faults
applied to the next requests in order (for tests that must be exact).
"""

from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass, field
from typing import Any

FAULT_KINDS = {
    "500",
    "502",
    "503",
    "429",
    "429_retry_after",
    "rate_limit_error",
    "drop",
    "malformed",
    "unauthorized",
    "401",
}


@dataclass
class Faults:
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    error_rate: float = 0.0  # probability of a random 500/502/503
    drop_rate: float = 0.0  # probability of closing the connection mid-response
    malformed_rate: float = 0.0  # probability of a truncated JSON body
    rate_limit_rps: float = 0.0  # 0 = no throttling; otherwise a token bucket
    rate_limit_burst: int = 10
    rate_limit_mode: str = "429"  # "429" | "429_retry_after" | "rate_limit_error"
    retry_after_seconds: int = 1
    unauthorized_fields: list[str] = field(default_factory=list)  # root fields answering "unauthorized"
    queue: list[str] = field(default_factory=list)  # faults for the next requests, in order
    seed: int = 0

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._tokens = float(self.rate_limit_burst)
        self._last = time.monotonic()
        self.injected: dict[str, int] = {}

    def update(self, changes: dict[str, Any]) -> None:
        for key, value in changes.items():
            if key not in self.public():
                raise ValueError(f"unknown fault setting {key!r}; known: {', '.join(sorted(self.public()))}")
            if key == "queue":
                unknown = [v for v in value if v not in FAULT_KINDS]
                if unknown:
                    raise ValueError(
                        f"unknown queued faults {unknown}; known: {', '.join(sorted(FAULT_KINDS))}"
                    )
            setattr(self, key, value)
        if "rate_limit_burst" in changes or "rate_limit_rps" in changes:
            self._tokens = float(self.rate_limit_burst)
        if "seed" in changes:
            self._rng = random.Random(self.seed)

    def public(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if not k.startswith("_")}

    def delay_seconds(self) -> float:
        if not self.latency_ms and not self.jitter_ms:
            return 0.0
        return max(0.0, (self.latency_ms + self._rng.uniform(-self.jitter_ms, self.jitter_ms)) / 1000)

    def _throttled(self) -> bool:
        if self.rate_limit_rps <= 0:
            return False
        now = time.monotonic()
        self._tokens = min(
            float(self.rate_limit_burst), self._tokens + (now - self._last) * self.rate_limit_rps
        )
        self._last = now
        if self._tokens >= 1:
            self._tokens -= 1
            return False
        return True

    def next_fault(self) -> str | None:
        """The fault to apply to this request, if any (and count it)."""
        fault: str | None = None
        if self.queue:
            fault = self.queue.pop(0)
        elif self._throttled():
            fault = self.rate_limit_mode
        elif self.error_rate and self._rng.random() < self.error_rate:
            fault = self._rng.choice(["500", "502", "503"])
        elif self.drop_rate and self._rng.random() < self.drop_rate:
            fault = "drop"
        elif self.malformed_rate and self._rng.random() < self.malformed_rate:
            fault = "malformed"
        if fault:
            self.injected[fault] = self.injected.get(fault, 0) + 1
        return fault
