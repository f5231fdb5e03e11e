from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from spacelift.client import run_pages_of_stacks, search_pages
from spacelift.exporters.base import AbstractExporter
from spacelift.exporters.enrich import Item, enrich_run
from spacelift.exporters.synced_runs import synced_runs
from spacelift.graphql import document
from spacelift.options import RunOptions

RUN_LISTS = ("runs", "proposedRuns", "tasks")  # TRACKED/DESTROY runs, PROPOSED runs, TASK runs


class DeploymentExporter(AbstractExporter[RunOptions]):
    """Runs as deployments.

    The newest page of runs of ``page_size`` stacks arrives inline with one ``searchStacks`` request;
    stacks whose history must go deeper (more runs wanted, still inside the lookback) are paged further,
    ``stacks_per_run_query`` stacks per request. While one page's deeper histories are read, the next
    stack page is already asked for (at most ``read_ahead_pages`` pages in flight), and batches come out
    in page order. Spacelift does not say its run page size, so the longest page seen so far stands for
    "a full page": a shorter one is the end of that stack's history.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._full_page = 0
        self._clock = time.time

    async def get_paginated_resources(
        self, options: RunOptions, since: float | None = None
    ) -> AsyncIterator[list[Item]]:
        """``since`` (unix seconds, an incremental sync's cursor): only runs created or updated since then;
        each stack's history is read only until its first run that is older and unchanged."""
        if since is not None:
            options = replace(options, since=since)
        cutoff = self._clock() - options.lookback_days * 86400
        lists = options.lists()
        variables = {
            "withRuns": "runs" in lists,
            "withProposed": "proposedRuns" in lists,
            "withTasks": "tasks" in lists,
        }
        pages = search_pages(
            self.client,
            document("search_stack_runs"),
            "searchStacks",
            page_size=self.page_size,
            variables=variables,
        )
        in_flight: deque[asyncio.Task[list[Item]]] = deque()
        try:
            async for stacks in pages:
                in_flight.append(asyncio.create_task(self._batch(stacks, lists, options, cutoff)))
                while in_flight and (in_flight[0].done() or len(in_flight) > self.plan.read_ahead_pages):
                    if batch := await in_flight.popleft():
                        yield batch
            while in_flight:
                if batch := await in_flight.popleft():
                    yield batch
        finally:  # a failure (or Ocean stopping early) leaves no reader behind
            for task in in_flight:
                task.cancel()
            await asyncio.gather(*in_flight, return_exceptions=True)

    async def _batch(
        self, stacks: list[Item], lists: tuple[str, ...], options: RunOptions, cutoff: float
    ) -> list[Item]:
        """One stack page's wanted runs: its inline pages, completed with deeper pages where needed."""
        per_stack: dict[str, list[Item]] = {stack["id"]: [] for stack in stacks}
        for field in lists:
            for stack_id, runs in (await self._runs_from(stacks, field, options, cutoff)).items():
                per_stack[stack_id] += runs
        batch = [
            enrich_run(run, stack_id, self.links)
            for stack_id, runs in per_stack.items()
            for run in sorted(runs, key=lambda r: r.get("createdAt") or 0, reverse=True)[
                : options.max_runs_per_stack
            ]
        ]
        synced_runs.add(run["id"] for run in batch)
        return batch

    async def _runs_from(
        self, stacks: list[Item], field: str, options: RunOptions, cutoff: float
    ) -> dict[str, list[Item]]:
        """The wanted runs of one run list of these stacks, newest first, at most ``max_runs_per_stack``."""
        inline: dict[str, list[Item]] = {
            stack["id"]: stack[field] for stack in stacks if stack.get(field) is not None
        }
        self._full_page = max([self._full_page, *(len(page) for page in inline.values())])
        picked: dict[str, list[Item]] = {stack_id: [] for stack_id in inline}

        def keep_going(stack_id: str, page: list[Item]) -> bool:
            self._full_page = max(self._full_page, len(page))
            return not self._take(page, picked[stack_id], options, cutoff) and len(page) >= self._full_page

        deeper = {
            stack_id: page[-1]["id"]
            for stack_id, page in inline.items()
            if page and keep_going(stack_id, page)
        }
        await run_pages_of_stacks(
            self.client, field, deeper, keep_going, stacks_per_request=self.plan.stacks_per_run_query
        )
        return picked

    @staticmethod
    def _take(page: list[Item], picked: list[Item], options: RunOptions, cutoff: float) -> bool:
        """Add the wanted runs of a newest-first page; True once nothing older can be wanted."""
        for run in page:
            created = run.get("createdAt") or 0
            if created < cutoff:
                return True
            if (
                options.since is not None
                and created < options.since
                and (run.get("updatedAt") or 0) < options.since
            ):
                return True  # known already (newest first: every older run is too)
            if run.get("type") in options.run_types:
                picked.append(run)
                if len(picked) >= options.max_runs_per_stack:
                    return True
        return False

    async def get_resource(self, resource_id: str) -> Item | None:
        """``resource_id`` is ``<stack id>/<run id>`` (runs are addressed through their stack)."""
        stack_id, _, run_id = resource_id.partition("/")
        data = await self.client.execute(document("get_run"), {"stackId": stack_id, "runId": run_id})
        run = (data.get("stack") or {}).get("run")
        if not run:
            return None
        synced_runs.add([run["id"]])
        return enrich_run(run, stack_id, self.links)
