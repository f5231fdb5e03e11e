"""The two methods every exporter has: a paged listing for resync, a single fetch for live events."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from typing import Generic, TypeVar

from spacelift.client import SpaceliftClient, list_all
from spacelift.client.pagination import whole_list_or_pages
from spacelift.exporters.enrich import Item, Links
from spacelift.graphql import document
from spacelift.query_plan import QueryPlan

OptionsT = TypeVar("OptionsT")


class AbstractExporter(ABC, Generic[OptionsT]):
    def __init__(self, client: SpaceliftClient, links: Links, plan: QueryPlan) -> None:
        self.client = client
        self.links = links
        self.plan = plan
        self.page_size = plan.page_size

    @abstractmethod
    def get_paginated_resources(self, options: OptionsT) -> AsyncIterator[list[Item]]:
        """Batches of enriched items, streamed as Spacelift's pages arrive; raises on any failure."""

    @abstractmethod
    async def get_resource(self, resource_id: str) -> Item | None:
        """One enriched item, or None when Spacelift no longer has it."""


class SearchExporter(AbstractExporter[None]):
    """A kind read through a ``search*`` connection, or its unpaginated root list when Spacelift has one and
    the query plan allows it, and fetched singly by ``<field>(id:)``."""

    search_document: str
    connection: str
    get_document: str
    get_field: str
    list_document: str | None = None  # the unpaginated root (``policies`` …), where Spacelift has one
    list_field: str | None = None

    def enrich(self, item: Item) -> Item:
        return item

    def whole_list(self) -> tuple[str, str] | None:
        if self.plan.unpaginated_lists and self.list_document and self.list_field:
            return document(self.list_document), self.list_field
        return None

    async def get_paginated_resources(self, options: None = None) -> AsyncIterator[list[Item]]:
        pages = whole_list_or_pages(
            self.client,
            whole=self.whole_list(),
            search=(document(self.search_document), self.connection),
            page_size=self.page_size,
        )
        async for page in pages:
            yield [self.enrich(item) for item in page]

    async def get_resource(self, resource_id: str) -> Item | None:
        data = await self.client.execute(document(self.get_document), {"id": resource_id})
        item = data.get(self.get_field)
        return self.enrich(item) if item else None


class ListExporter(AbstractExporter[None]):
    """A kind Spacelift only offers as one unpaginated list; handed on in page-sized batches."""

    list_document: str
    list_field: str

    def enrich(self, item: Item) -> Item:
        return item

    async def get_paginated_resources(self, options: None = None) -> AsyncIterator[list[Item]]:
        items = await list_all(self.client, document(self.list_document), self.list_field)
        for start in range(0, len(items), self.page_size):
            yield [self.enrich(item) for item in items[start : start + self.page_size]]
