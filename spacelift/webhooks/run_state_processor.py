"""Run state changes: upsert the run as a deployment and refresh its stack, in stateVersion order."""

from __future__ import annotations

from typing import Any

from loguru import logger
from port_ocean.core.handlers.port_app_config.models import ResourceConfig
from port_ocean.core.handlers.webhook.webhook_event import EventPayload, WebhookEvent, WebhookEventRawResults

from integration import ObjectKind
from spacelift.connection import get_exporters
from spacelift.options import ResourceOptions, RunOptions, StackOptions
from spacelift.webhooks.base_processor import SpaceliftWebhookProcessor
from spacelift.webhooks.ordering import state_versions
from spacelift.webhooks.payloads import RunStateEvent

NOTHING = WebhookEventRawResults(updated_raw_results=[], deleted_raw_results=[])
RESOURCE_CHANGING_END_STATES = {"FINISHED", "FAILED", "STOPPED"}  # an apply that ran, all or part of the way


class RunStateProcessor(SpaceliftWebhookProcessor):
    @classmethod
    def accepts(cls, payload: dict[str, Any]) -> bool:
        return RunStateEvent.looks_like(payload)

    async def get_matching_kinds(self, event: WebhookEvent) -> list[str]:
        change = RunStateEvent.model_validate(event.payload)
        kinds = [ObjectKind.DEPLOYMENT, ObjectKind.STACK]
        if change.state in RESOURCE_CHANGING_END_STATES and change.run.type in (None, "TRACKED", "DESTROY"):
            kinds.append(ObjectKind.RESOURCE)  # a finished run may have changed what the stack manages
        return kinds

    async def handle_event(self, payload: EventPayload, resource: ResourceConfig) -> WebhookEventRawResults:
        change = RunStateEvent.model_validate(payload)
        run_id, stack_id = change.run.id, change.stack.id
        if state_versions.is_stale(run_id, change.state_version):
            logger.info(
                f"Ignoring run {run_id} state {change.state} (stateVersion {change.state_version}): a newer one was applied"
            )
            return NOTHING
        if resource.kind == ObjectKind.DEPLOYMENT:
            results = await self._run(resource, stack_id, run_id, change)
        elif resource.kind == ObjectKind.RESOURCE:
            results = await refreshed_resources(resource, stack_id)
        else:
            results = await refreshed_stack(resource, stack_id)
        state_versions.record(run_id, change.state_version)
        return results

    async def _run(
        self, resource: ResourceConfig, stack_id: str, run_id: str, change: RunStateEvent
    ) -> WebhookEventRawResults:
        options = RunOptions.from_resource_config(resource)
        if change.run.type is not None and change.run.type not in options.run_types:
            logger.debug(
                f"Run {run_id} is {change.run.type}; the deployment selector keeps {sorted(options.run_types)}"
            )
            return NOTHING
        run = await get_exporters().deployment.get_resource(f"{stack_id}/{run_id}")
        if run is None or run.get("type") not in options.run_types:
            return NOTHING
        return WebhookEventRawResults(updated_raw_results=[run], deleted_raw_results=[])


async def refreshed_resources(resource: ResourceConfig, stack_id: str) -> WebhookEventRawResults:
    """The stack's managed resources as Spacelift has them now (ones it no longer manages go at the next resync)."""
    items = await get_exporters().resource.resources_of_stack(
        stack_id, ResourceOptions.from_resource_config(resource)
    )
    return WebhookEventRawResults(updated_raw_results=items or [], deleted_raw_results=[])


async def refreshed_stack(resource: ResourceConfig, stack_id: str) -> WebhookEventRawResults:
    """The stack as Spacelift has it now; removed from Port when gone or no longer selected."""
    stack = await get_exporters().stack.get_resource(stack_id)
    if stack is None:
        return WebhookEventRawResults(updated_raw_results=[], deleted_raw_results=[{"id": stack_id}])
    if not StackOptions.from_resource_config(resource).selects(stack):
        return WebhookEventRawResults(updated_raw_results=[], deleted_raw_results=[stack])
    return WebhookEventRawResults(updated_raw_results=[stack], deleted_raw_results=[])
