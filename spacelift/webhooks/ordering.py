"""Out-of-order deliveries: remember the newest ``stateVersion`` applied per run.

Spacelift may deliver run events out of order; ``stateVersion`` orders them. The memory is per
process and bounded (least recently seen runs are forgotten first).
"""

from __future__ import annotations

from collections import OrderedDict


class StateVersions:
    def __init__(self, capacity: int = 10_000) -> None:
        self._capacity = capacity
        self._applied: OrderedDict[str, int] = OrderedDict()

    def is_stale(self, run_id: str, version: int) -> bool:
        """True when a newer state of this run was already applied."""
        return version < self._applied.get(run_id, -1)

    def record(self, run_id: str, version: int) -> None:
        self._applied[run_id] = max(version, self._applied.get(run_id, -1))
        self._applied.move_to_end(run_id)
        while len(self._applied) > self._capacity:
            self._applied.popitem(last=False)


state_versions = StateVersions()
