from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from spacelift.client import run_pages, search_pages
from spacelift.exporters.base import AbstractExporter
from spacelift.exporters.enrich import Item, enrich_run
from spacelift.graphql import document
from spacelift.options import RunOptions

# stack list field -> document that pages it further with runs(before:)
RUN_LISTS = {"runs": "stack_runs", "proposedRuns": "stack_proposed_runs"}


class DeploymentExporter(AbstractExporter[RunOptions]):
    """Runs as deployments.

    The newest page of runs of ~``page_size`` stacks arrives inline with one ``searchStacks`` request;
    only stacks whose history must go deeper (more runs wanted, still inside the lookback) are paged
    further, concurrently and bounded by the client's limiter. Spacelift does not say its run page
    size, so the longest inline page seen so far stands for "a full page": a shorter one is the end.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._full_page = 0
        self._clock = time.time

    async def get_paginated_resources(self, options: RunOptions) -> AsyncIterator[list[Item]]:
        cutoff = self._clock() - options.lookback_days * 86400
        variables = {"withTracked": options.wants_tracked_list, "withProposed": options.wants_proposed_list}
        pages = search_pages(
            self.client,
            document("search_stack_runs"),
            "searchStacks",
            page_size=self.page_size,
            variables=variables,
        )
        async for stacks in pages:
            for stack in stacks:
                for field in RUN_LISTS:
                    self._full_page = max(self._full_page, len(stack.get(field) or []))
            per_stack = await asyncio.gather(*(self._runs_of(stack, options, cutoff) for stack in stacks))
            batch = [run for runs in per_stack for run in runs]
            if batch:
                yield batch

    async def _runs_of(self, stack: dict[str, Any], options: RunOptions, cutoff: float) -> list[Item]:
        picked: list[Item] = []
        for field, doc_name in RUN_LISTS.items():
            first_page = stack.get(field)
            if first_page is not None:
                picked += await self._collect(stack["id"], first_page, field, doc_name, options, cutoff)
        picked.sort(key=lambda run: run.get("createdAt") or 0, reverse=True)
        return [enrich_run(run, stack["id"], self.links) for run in picked[: options.max_runs_per_stack]]

    async def _collect(
        self, stack_id: str, page: list[Item], field: str, doc_name: str, options: RunOptions, cutoff: float
    ) -> list[Item]:
        picked: list[Item] = []
        if self._take(page, picked, options, cutoff) or len(page) < self._full_page or not page:
            return picked
        more = run_pages(
            self.client,
            document(doc_name),
            f"stack.{field}",
            variables={"stackId": stack_id},
            before=page[-1]["id"],
        )
        async for next_page in more:
            self._full_page = max(self._full_page, len(next_page))
            if self._take(next_page, picked, options, cutoff) or len(next_page) < self._full_page:
                break
        return picked

    @staticmethod
    def _take(page: list[Item], picked: list[Item], options: RunOptions, cutoff: float) -> bool:
        """Add the wanted runs of a newest-first page; True once nothing older can be wanted."""
        for run in page:
            if (run.get("createdAt") or 0) < cutoff:
                return True
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
        return enrich_run(run, stack_id, self.links) if run else None
