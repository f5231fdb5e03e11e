"""How big the integration's queries are. Spacelift documents no query-cost limits, so every choice that
makes a query bigger has a smaller fallback the integration takes on its own when Spacelift refuses one:

* ``unpaginated_lists``: ``stacks``, ``policies``, ``contexts``, ``modules``, ``workerPools`` in one request
  each (Spacelift's own Terraform provider reads them so) instead of ``search*`` pages; refused → pages.
* ``stacks_per_run_query``: how many stacks' deeper run pages share one request (GraphQL aliases); refused as
  too large → half as many, down to one.
* ``page_size``: ``first`` of ``search*`` pages (Spacelift's clients use 50).
* ``read_ahead_pages``: pages fetched while Ocean maps and upserts the previous ones (memory: that many pages).
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_STACKS_PER_RUN_QUERY = 50
DEFAULT_READ_AHEAD_PAGES = 2
# Items per batch handed to Ocean. Ocean writes one batch at a time (all its bulk upserts at once) and forks a
# JQ worker pool per batch: on the large sandbox account, 1,000-item batches resynced in 145 s where 50-item
# pages took 175 s (bench/e2e.py).
RESYNC_BATCH_ITEMS = 1000


@dataclass(frozen=True)
class QueryPlan:
    page_size: int = 50
    unpaginated_lists: bool = True
    stacks_per_run_query: int = DEFAULT_STACKS_PER_RUN_QUERY
    read_ahead_pages: int = DEFAULT_READ_AHEAD_PAGES
