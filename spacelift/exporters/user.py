from __future__ import annotations

from collections.abc import AsyncIterator

from spacelift.client import SpaceliftForbiddenError
from spacelift.exporters.base import ListExporter
from spacelift.exporters.enrich import Item, enrich_user


class UserExporter(ListExporter):
    """Managed users with their space access rules (``managedUsers`` is unpaginated)."""

    list_document = "list_managed_users"
    list_field = "managedUsers"

    def enrich(self, item: Item) -> Item:
        return enrich_user(item)

    async def get_paginated_resources(self, options: None = None) -> AsyncIterator[list[Item]]:
        empty = True
        async for page in super().get_paginated_resources(options):
            empty = False
            yield page
        if empty:  # every account has a user (whoever created it): an empty list is a key that may not look
            raise SpaceliftForbiddenError(
                "Spacelift listed no users for this API key, yet every account has at least the person who "
                "created it: the key most likely may not view users"
            )

    async def get_resource(self, resource_id: str) -> Item | None:
        async for page in self.get_paginated_resources():
            for user in page:
                if user["id"] == resource_id:
                    return user
        return None
