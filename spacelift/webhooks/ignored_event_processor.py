"""Acknowledges what no other processor takes: rejected deliveries, internal-error and unknown events.

Without it Ocean reports an unmatched event as an error with a traceback; these are expected, so they
get one debug line (rejections were already logged once, as a warning, by the signature check).
"""

from __future__ import annotations

from typing import Any

from loguru import logger
from port_ocean.core.handlers.port_app_config.models import ResourceConfig
from port_ocean.core.handlers.webhook.webhook_event import EventPayload, WebhookEvent, WebhookEventRawResults

from spacelift.webhooks.audit_trail_processor import AuditTrailProcessor
from spacelift.webhooks.base_processor import ACCEPTED, SpaceliftWebhookProcessor, verdict
from spacelift.webhooks.payloads import AuditTrailEvent
from spacelift.webhooks.run_state_processor import RunStateProcessor


class IgnoredEventProcessor(SpaceliftWebhookProcessor):
    HANDLED_ELSEWHERE = (RunStateProcessor, AuditTrailProcessor)

    async def should_process_event(self, event: WebhookEvent) -> bool:
        if await verdict(event) != ACCEPTED:
            return True
        payload: Any = event.payload
        if any(processor.accepts(payload) for processor in self.HANDLED_ELSEWHERE):
            return False
        if isinstance(payload, dict) and {"title", "error", "severity"} <= payload.keys():
            kind = "internal-error"
        elif AuditTrailEvent.looks_like(payload):
            kind = f"audit-trail {str(payload.get('action'))[:80]!r}"
        else:
            kind = "unknown"
        logger.debug(f"Ignoring {kind} Spacelift webhook {event.trace_id}: nothing in the catalog to change")
        return True

    async def get_matching_kinds(self, event: WebhookEvent) -> list[str]:
        return []

    async def handle_event(self, payload: EventPayload, resource: ResourceConfig) -> WebhookEventRawResults:
        return WebhookEventRawResults(updated_raw_results=[], deleted_raw_results=[])
