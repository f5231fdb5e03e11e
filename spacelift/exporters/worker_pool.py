from __future__ import annotations

from collections.abc import AsyncIterator

from spacelift.exporters.base import SearchExporter
from spacelift.exporters.enrich import (
    PUBLIC_WORKER_POOL_ID,
    Item,
    enrich_public_worker_pool,
    enrich_worker_pool,
)
from spacelift.graphql import document


class WorkerPoolExporter(SearchExporter):
    """Private worker pools, and Spacelift's public pool (id ``public``), where every stack without a private
    pool runs: so every stack has a worker-pool relation."""

    search_document = "search_worker_pools"
    connection = "searchWorkerPools"
    get_document = "get_worker_pool"
    list_document = "list_worker_pools"
    list_field = "workerPools"
    get_field = "workerPool"

    def enrich(self, item: Item) -> Item:
        return enrich_worker_pool(item)

    async def get_paginated_resources(self, options: None = None) -> AsyncIterator[list[Item]]:
        async for page in super().get_paginated_resources(options):
            yield page
        public = await self._public()
        if public is not None:
            yield [public]

    async def get_resource(self, resource_id: str) -> Item | None:
        if resource_id == PUBLIC_WORKER_POOL_ID:
            return await self._public()
        return await super().get_resource(resource_id)

    async def _public(self) -> Item | None:
        pool = (await self.client.execute(document("get_public_worker_pool"))).get("publicWorkerPool")
        return enrich_public_worker_pool(pool) if pool else None
