from __future__ import annotations

from spacelift.exporters.base import ListExporter
from spacelift.exporters.enrich import Item, enrich_space
from spacelift.graphql import document


class SpaceExporter(ListExporter):
    """Spaces: ``spaces`` is unpaginated in Spacelift."""

    list_document = "list_spaces"
    list_field = "spaces"

    def enrich(self, item: Item) -> Item:
        return enrich_space(item, self.links)

    async def get_resource(self, resource_id: str) -> Item | None:
        space = (await self.client.execute(document("get_space"), {"id": resource_id})).get("space")
        return self.enrich(space) if space else None
