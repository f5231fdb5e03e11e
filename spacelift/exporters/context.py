from __future__ import annotations

from spacelift.exporters.base import SearchExporter
from spacelift.exporters.enrich import Item, enrich_context


class ContextExporter(SearchExporter):
    """Contexts as metadata: the query never selects config values."""

    search_document = "search_contexts"
    connection = "searchContexts"
    get_document = "get_context"
    list_document = "list_contexts"
    list_field = "contexts"
    get_field = "context"

    def enrich(self, item: Item) -> Item:
        return enrich_context(item)
