from __future__ import annotations

from collections.abc import AsyncIterator

from spacelift.client.pagination import whole_list_or_pages
from spacelift.exporters.base import AbstractExporter
from spacelift.exporters.enrich import Item, enrich_stack
from spacelift.graphql import document
from spacelift.options import StackOptions


class StackExporter(AbstractExporter[StackOptions]):
    """Stacks with their relations (space, worker pool, policies, contexts, dependencies) in one query."""

    async def get_paginated_resources(self, options: StackOptions) -> AsyncIterator[list[Item]]:
        pages = whole_list_or_pages(
            self.client,
            whole=(document("list_stacks"), "stacks") if self.plan.unpaginated_lists else None,
            search=(document("search_stacks"), "searchStacks"),
            page_size=self.page_size,
            search_input=options.search_input(),
        )
        async for page in pages:  # the whole list is not filtered by Spacelift: selects() checks labels too
            batch = [enrich_stack(stack, self.links) for stack in page if options.selects(stack)]
            if batch:
                yield batch

    async def get_resource(self, resource_id: str) -> Item | None:
        stack = (await self.client.execute(document("get_stack"), {"id": resource_id})).get("stack")
        return enrich_stack(stack, self.links) if stack else None
