"""Audit-trail deliveries: refresh or delete the stack, space, policy, context, module or worker pool."""

from __future__ import annotations

from typing import Any

from port_ocean.core.handlers.port_app_config.models import ResourceConfig
from port_ocean.core.handlers.webhook.webhook_event import EventPayload, WebhookEvent, WebhookEventRawResults

from integration import ObjectKind
from spacelift.connection import get_exporters
from spacelift.exporters import Exporters
from spacelift.exporters.base import AbstractExporter
from spacelift.webhooks.base_processor import SpaceliftWebhookProcessor
from spacelift.webhooks.payloads import AuditTrailEvent
from spacelift.webhooks.run_state_processor import refreshed_resources, refreshed_stack

# audit resource name (several spellings seen in action names) -> kind
RESOURCE_KINDS = {
    "stack": ObjectKind.STACK,
    "space": ObjectKind.SPACE,
    "policy": ObjectKind.POLICY,
    "context": ObjectKind.CONTEXT,
    "module": ObjectKind.MODULE,
    "worker_pool": ObjectKind.WORKER_POOL,
    "workerpool": ObjectKind.WORKER_POOL,
    "worker-pool": ObjectKind.WORKER_POOL,
}


def exporter_of(exporters: Exporters, kind: str) -> AbstractExporter[Any]:
    return {
        ObjectKind.SPACE: exporters.space,
        ObjectKind.POLICY: exporters.policy,
        ObjectKind.CONTEXT: exporters.context,
        ObjectKind.MODULE: exporters.module,
        ObjectKind.WORKER_POOL: exporters.worker_pool,
    }[kind]


class AuditTrailProcessor(SpaceliftWebhookProcessor):
    """Handles audit events about resources in the catalog that name the resource (``data.ID``); any
    other action is left to ``IgnoredEventProcessor`` (one debug line)."""

    @classmethod
    def accepts(cls, payload: dict[str, Any]) -> bool:
        if not AuditTrailEvent.looks_like(payload):
            return False
        change = AuditTrailEvent.model_validate(payload)
        return change.resource in RESOURCE_KINDS and change.resource_id is not None

    async def get_matching_kinds(self, event: WebhookEvent) -> list[str]:
        kind = RESOURCE_KINDS[AuditTrailEvent.model_validate(event.payload).resource]
        return [kind, ObjectKind.RESOURCE] if kind == ObjectKind.STACK else [kind]

    async def handle_event(self, payload: EventPayload, resource: ResourceConfig) -> WebhookEventRawResults:
        change = AuditTrailEvent.model_validate(payload)
        resource_id = change.resource_id
        assert resource_id is not None  # accepts() only lets events with an id through
        if resource.kind == ObjectKind.RESOURCE:  # a stack changed: its resources may have too
            if change.verb == "delete":
                return WebhookEventRawResults(updated_raw_results=[], deleted_raw_results=[])
            return await refreshed_resources(resource, resource_id)
        if change.verb == "delete":
            return WebhookEventRawResults(updated_raw_results=[], deleted_raw_results=[{"id": resource_id}])
        if resource.kind == ObjectKind.STACK:
            return await refreshed_stack(resource, resource_id)
        item = await exporter_of(get_exporters(), resource.kind).get_resource(resource_id)
        if item is None:
            return WebhookEventRawResults(updated_raw_results=[], deleted_raw_results=[{"id": resource_id}])
        return WebhookEventRawResults(updated_raw_results=[item], deleted_raw_results=[])
