"""Runs on the same stack execute in the order Port handed them out, whatever their action type.

Ocean queues runs per (action type, partition key), so a ``lock_stack`` and an ``unlock_stack`` on one
stack would otherwise race. Each run takes a ticket when Ocean asks for its partition key (that happens
in claim order, one run at a time) and executes when its ticket is first for the stack. A ticket whose
run never executes (claimed twice, shutdown) stops blocking after ``stale_after`` seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress


class StackTurns:
    def __init__(self, stale_after: float = 120.0) -> None:
        self._stale_after = stale_after
        self._queues: dict[str, list[tuple[str, float]]] = {}
        self._changed = asyncio.Condition()

    def take_ticket(self, stack: str, run_id: str) -> None:
        queue = self._queues.setdefault(stack, [])
        if all(existing != run_id for existing, _ in queue):
            queue.append((run_id, time.monotonic()))

    def _first(self, stack: str, run_id: str) -> bool:
        queue = self._queues.get(stack, [])
        now = time.monotonic()
        while queue and queue[0][0] != run_id and now - queue[0][1] > self._stale_after:
            queue.pop(0)  # its run never came to execute
        return not queue or queue[0][0] == run_id or all(existing != run_id for existing, _ in queue)

    @asynccontextmanager
    async def turn(self, stack: str, run_id: str) -> AsyncIterator[None]:
        async with self._changed:
            while not self._first(stack, run_id):
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), timeout=1.0)
        try:
            yield
        finally:
            async with self._changed:
                queue = self._queues.get(stack, [])
                self._queues[stack] = [(r, t) for r, t in queue if r != run_id]
                if not self._queues[stack]:
                    del self._queues[stack]
                self._changed.notify_all()


stack_turns = StackTurns()
