"""What every Spacelift webhook processor shares: the signature and payload check, done once per event.

The check runs in ``should_process_event`` so a forged or malformed delivery is turned away with one
log line before any processor fetches from Spacelift or writes to Port; ``IgnoredEventProcessor`` then
acknowledges it quietly.
"""

from __future__ import annotations

from typing import Any

from loguru import logger
from port_ocean.core.handlers.webhook.abstract_webhook_processor import AbstractWebhookProcessor
from port_ocean.core.handlers.webhook.webhook_event import EventHeaders, EventPayload, WebhookEvent
from pydantic import ValidationError

from spacelift.client.errors import SpaceliftError
from spacelift.connection import get_connection
from spacelift.webhooks.payloads import AuditTrailEvent, RunStateEvent, describe
from spacelift.webhooks.signature import signature_problem

ACCEPTED = "accepted"
_VERDICT = "_spacelift_verdict"


async def verdict(event: WebhookEvent) -> str:
    """``ACCEPTED`` or the reason the event is rejected; computed once and kept on the event."""
    cached = getattr(event, _VERDICT, None)
    if cached is not None:
        return str(cached)
    result = await _judge(event)
    setattr(event, _VERDICT, result)
    if result != ACCEPTED:
        logger.warning(f"Rejected Spacelift webhook {event.trace_id}: {result}")
    return result


async def _judge(event: WebhookEvent) -> str:
    secret = get_connection().settings.webhook_secret
    if secret:
        request = event._original_request
        if request is None:
            return "no raw body to verify the signature against"
        problem = signature_problem(await request.body(), event.headers, secret)
        if problem:
            return f"bad signature: {problem}"
    payload: Any = event.payload
    if not isinstance(payload, dict):
        return f"body is a JSON {type(payload).__name__}, not an object"
    try:
        if RunStateEvent.looks_like(payload):
            RunStateEvent.model_validate(payload)
        elif AuditTrailEvent.looks_like(payload):
            AuditTrailEvent.model_validate(payload)
    except ValidationError as error:
        return f"malformed payload ({describe(error)})"
    return ACCEPTED


class SpaceliftWebhookProcessor(AbstractWebhookProcessor):
    """Base for processors that act on accepted events; subclasses say which events via ``accepts``."""

    @classmethod
    def accepts(cls, payload: dict[str, Any]) -> bool:
        raise NotImplementedError

    async def should_process_event(self, event: WebhookEvent) -> bool:
        return await verdict(event) == ACCEPTED and self.accepts(event.payload)

    async def authenticate(self, payload: EventPayload, headers: EventHeaders) -> bool:
        return True  # the signature was verified in should_process_event, before any work

    async def validate_payload(self, payload: EventPayload) -> bool:
        return True  # validated with the signature, see verdict()

    def should_retry(self, error: Exception) -> bool:
        return isinstance(error, SpaceliftError) and error.retryable
