"""Managed resources: what each stack manages (``stack.entities``, Spacelift's Resources view), with the
runs that created and last changed them, drift, and the provider's own id for linking to cloud catalogs.

Attribute values can hold secrets (a ``user_data`` script, a connection string Spacelift does not know is
sensitive), so they are read only to take the allowlisted cloud-id keys out (``id``, ``arn``,
``self_link`` by default) and are dropped before anything reaches Ocean: no value outside the allowlist is
in the raw data Ocean maps, samples to Port or logs.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import AsyncIterator

from spacelift.client.pagination import entities_of_stacks, whole_list_or_pages
from spacelift.exporters.base import AbstractExporter
from spacelift.exporters.enrich import Item, iso
from spacelift.exporters.synced_runs import synced_runs
from spacelift.graphql import document
from spacelift.options import ResourceOptions

STACKS_PER_ENTITY_QUERY = 25  # a stack can manage thousands of resources: fewer stacks per request than runs
# Entity requests in flight: 4 x 25 stacks' resources held at once; on the large sandbox account (1,800 stacks
# with resources, 50 ms per request) 73 requests one after another took 9.3 s, 4 at once 3.6–3.9 s (bench/resync.py).
ENTITY_REQUESTS_AT_ONCE = 4
_NOT_IN_IDENTIFIER = re.compile(r"[^A-Za-z0-9@_.+:\\/=-]")
SANITIZED = re.compile(r"^[0-9a-f]{8}$")  # Spacelift shows a sanitized string as 8 hex characters


def values_are_shown(stack: Item) -> bool:
    """Spacelift sanitizes every string attribute unless the stack uses smart sanitization (only sensitive
    ones) or carries ``feature:disable_resource_sanitization`` (docs: vendors/terraform/resource-sanitization).
    """
    smart = bool((stack.get("vendorConfig") or {}).get("useSmartSanitization"))
    return smart or "feature:disable_resource_sanitization" in (stack.get("labels") or [])


def resource_identifier(stack_id: str, address: str) -> str:
    """``<stack>/<address>``, made fit for Port's identifier pattern; a short hash keeps altered ones unique."""
    readable = _NOT_IN_IDENTIFIER.sub("_", f"{stack_id}/{address}")
    if readable == f"{stack_id}/{address}":
        return readable
    return f"{readable}@{hashlib.sha1(address.encode()).hexdigest()[:8]}"


def cloud_id(vendor: Item, allowlist: tuple[str, ...], shown: bool) -> str:
    """The provider's own id: Pulumi's resource id, CloudFormation's physical id, or the first allowlisted
    Terraform attribute that Spacelift shows unsanitized; "" when there is none."""
    if vendor.get("__typename") == "EntityVendorPulumi":
        return str((vendor.get("pulumi") or {}).get("id") or "")
    if vendor.get("__typename") == "EntityVendorCloudFormation":
        return str((vendor.get("cloudFormation") or {}).get("physicalResourceId") or "")
    raw = (vendor.get("terraform") or {}).get("values")
    if not shown or not isinstance(raw, str):
        return ""
    try:
        values = json.loads(raw)
    except ValueError:
        return ""
    for key in allowlist:
        value = values.get(key) if isinstance(values, dict) else None
        if isinstance(value, str) and value and not SANITIZED.match(value):
            return value
    return ""


def enrich_resource(entity: Item, stack: Item, options: ResourceOptions) -> Item:
    """The resource as Ocean sees it: attribute values are gone, only the cloud id taken from them stays."""
    vendor = entity.get("vendor") or {}
    typename = str(vendor.get("__typename") or "")
    terraform = vendor.get("terraform") or {}
    pulumi = vendor.get("pulumi") or {}
    provider = str(terraform.get("provider") or pulumi.get("provider") or "")
    return {
        "id": entity["id"], "address": entity.get("address"), "name": entity.get("name"),
        "type": entity.get("type"), "parent": entity.get("parent"), "drifted": entity.get("drifted"),
        "creator": entity.get("creator"), "updater": entity.get("updater"),
        "__identifier": resource_identifier(stack["id"], str(entity.get("address") or entity["id"])),
        "__stackId": stack["id"],
        "__createdBy": synced_runs.known(entity.get("creator")),
        "__updatedBy": synced_runs.known(entity.get("updater")),
        "__vendor": typename.removeprefix("EntityVendor").upper() or "OTHER",
        "__provider": provider.removeprefix('provider["').removesuffix('"]').removeprefix("registry.terraform.io/"),
        "__module": str(terraform.get("module") or entity.get("parent") or ""),
        "__tainted": bool(terraform.get("tainted")),
        "__cloudId": cloud_id(vendor, options.cloud_id_attributes, values_are_shown(stack)),
        "__iso": {"drifted": iso(entity.get("drifted"))},
    }  # fmt: skip


class ResourceExporter(AbstractExporter[ResourceOptions]):
    async def get_paginated_resources(self, options: ResourceOptions) -> AsyncIterator[list[Item]]:
        stacks: dict[str, Item] = {}
        pages = whole_list_or_pages(
            self.client,
            whole=(document("list_stacks_with_resources"), "stacks") if self.plan.unpaginated_lists else None,
            search=(document("search_stacks_with_resources"), "searchStacks"),
            page_size=self.page_size,
        )
        async for page in pages:
            stacks.update({s["id"]: s for s in page if (s.get("entityCount") or 0) > 0})
        async for answer in entities_of_stacks(
            self.client,
            list(stacks),
            stacks_per_request=STACKS_PER_ENTITY_QUERY,
            requests_at_once=ENTITY_REQUESTS_AT_ONCE,
        ):
            batch = [
                enrich_resource(entity, stacks[stack_id], options)
                for stack_id, entities in answer.items()
                for entity in entities
                if options.wants(entity)
            ]
            if batch:
                yield batch

    async def get_resource(self, resource_id: str) -> Item | None:
        raise NotImplementedError("resources are refreshed per stack: use resources_of_stack")

    async def resources_of_stack(self, stack_id: str, options: ResourceOptions) -> list[Item] | None:
        """One stack's resources now (live events); None when the stack is gone."""
        data = await self.client.execute(document("get_stack_resources"), {"id": stack_id})
        stack = data.get("stack")
        if stack is None:
            return None
        return [enrich_resource(e, stack, options) for e in stack.get("entities") or [] if options.wants(e)]
