from __future__ import annotations

from spacelift.exporters.base import ListExporter
from spacelift.exporters.enrich import Item, enrich_user


class UserExporter(ListExporter):
    """Managed users with their space access rules (``managedUsers`` is unpaginated)."""

    list_document = "list_managed_users"
    list_field = "managedUsers"

    def enrich(self, item: Item) -> Item:
        return enrich_user(item)

    async def get_resource(self, resource_id: str) -> Item | None:
        async for page in self.get_paginated_resources():
            for user in page:
                if user["id"] == resource_id:
                    return user
        return None
