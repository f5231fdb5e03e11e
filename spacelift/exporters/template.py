from __future__ import annotations

from spacelift.exporters.base import SearchExporter
from spacelift.exporters.enrich import Item, enrich_template


class TemplateExporter(SearchExporter):
    """Templates, Spacelift's successor to blueprints (the version bodies are not read: they can hold values)."""

    search_document = "search_templates"
    connection = "searchTemplates"
    get_document = "get_template"
    get_field = "template"

    def enrich(self, item: Item) -> Item:
        return enrich_template(item)
