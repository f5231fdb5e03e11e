"""Which runs this process has handed to Port, so a resource relates only to runs that exist there.

A resource names the run that created it and the one that last changed it, often runs older than the
deployment selector keeps. Relating to those would make Port create empty placeholder runs
(``createMissingRelatedEntities``), so the relation is filled only for runs synced here: by the deployment
kind (which the default mapping lists before the resource kind) or by a run-state webhook. Bounded.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

CAPACITY = 200_000


class SyncedRuns:
    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()

    def add(self, run_ids: Iterable[str]) -> None:
        for run_id in run_ids:
            self._ids[run_id] = None
            self._ids.move_to_end(run_id)
        while len(self._ids) > self._capacity:
            self._ids.popitem(last=False)

    def known(self, run: object) -> str | None:
        """The run's id when it is in Port, else None (``run`` is ``{"id": …}`` or null)."""
        run_id = run.get("id") if isinstance(run, dict) else None
        return str(run_id) if run_id and run_id in self._ids else None


synced_runs = SyncedRuns()
