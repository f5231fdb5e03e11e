from __future__ import annotations

from spacelift.exporters.base import SearchExporter
from spacelift.exporters.enrich import Item, enrich_module


class ModuleExporter(SearchExporter):
    search_document = "search_modules"
    connection = "searchModules"
    get_document = "get_module"
    list_document = "list_modules"
    list_field = "modules"
    get_field = "module"

    def enrich(self, item: Item) -> Item:
        return enrich_module(item, self.links)
