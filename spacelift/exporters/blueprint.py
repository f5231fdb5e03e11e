from __future__ import annotations

from spacelift.exporters.base import SearchExporter
from spacelift.exporters.enrich import Item, enrich_blueprint


class BlueprintExporter(SearchExporter):
    search_document = "search_blueprints"
    connection = "searchBlueprints"
    get_document = "get_blueprint"
    get_field = "blueprint"

    def enrich(self, item: Item) -> Item:
        return enrich_blueprint(item)
