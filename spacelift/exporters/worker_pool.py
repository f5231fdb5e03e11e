from __future__ import annotations

from spacelift.exporters.base import SearchExporter
from spacelift.exporters.enrich import Item, enrich_worker_pool


class WorkerPoolExporter(SearchExporter):
    """Private worker pools (the public pool is not an entity; stacks on it have no pool relation)."""

    search_document = "search_worker_pools"
    connection = "searchWorkerPools"
    get_document = "get_worker_pool"
    get_field = "workerPool"

    def enrich(self, item: Item) -> Item:
        return enrich_worker_pool(item)
