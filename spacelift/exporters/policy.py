from __future__ import annotations

from spacelift.exporters.base import SearchExporter
from spacelift.exporters.enrich import Item, enrich_policy


class PolicyExporter(SearchExporter):
    search_document = "search_policies"
    connection = "searchPolicies"
    get_document = "get_policy"
    list_document = "list_policies"
    list_field = "policies"
    get_field = "policy"

    def enrich(self, item: Item) -> Item:
        return enrich_policy(item, self.links)
