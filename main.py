"""Wiring only: resync handlers per kind, start-up checks. Behaviour lives in the ``spacelift`` package."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from typing import Any, cast

from loguru import logger
from port_ocean.context.event import event
from port_ocean.context.ocean import ocean
from port_ocean.core.incremental import active_incremental_cursor
from port_ocean.core.ocean_types import ASYNC_GENERATOR_RESYNC_TYPE
from port_ocean.core.probe import ProbeContext

from integration import DeploymentResourceConfig, ObjectKind, ResourceResourceConfig, StackResourceConfig
from spacelift.actions.ownership import point_shipped_actions_at_this_integration
from spacelift.actions.registry import register_actions
from spacelift.client import SpaceliftNotConfiguredError
from spacelift.connection import get_connection, settings_from_ocean
from spacelift.connection import get_exporters as exporters
from spacelift.credentials import check_port, check_spacelift, checked
from spacelift.exporters.read_ahead import read_ahead, rebatch
from spacelift.options import ResourceOptions, RunOptions, StackOptions
from spacelift.probe import probe_spacelift
from spacelift.query_plan import DEFAULT_READ_AHEAD_PAGES, RESYNC_BATCH_ITEMS
from spacelift.resync_outcome import reported_pages
from spacelift.webhooks import WEBHOOK_PATH
from spacelift.webhooks.audit_trail_processor import AuditTrailProcessor
from spacelift.webhooks.ignored_event_processor import IgnoredEventProcessor
from spacelift.webhooks.run_state_processor import RunStateProcessor


def stop_on_bad_configuration() -> None:
    """A missing or malformed setting, or a credential Port or Spacelift refuses, stops ``ocean sail`` here:
    one line, exit 2, before Ocean's own start-up (which would retry a refused Port login forever)."""
    try:
        settings = settings_from_ocean()
    except SpaceliftNotConfiguredError as error:
        for problem in error.problems:
            print(f"configuration error: {problem}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None
    if sys.argv[1:2] != ["sail"]:
        return  # probes, schema exports and test harnesses ask nobody
    port = ocean.config.port
    for verdict in (
        checked(lambda: check_port(port.base_url, port.client_id, port.client_secret)),
        checked(lambda: check_spacelift(settings)),
    ):
        if verdict.outcome == "rejected":
            print(f"configuration error: {verdict.message}", file=sys.stderr, flush=True)
            raise SystemExit(2)
        if verdict.outcome == "unknown":
            logger.warning(f"Could not check credentials at start-up: {verdict.message}; going on")


stop_on_bad_configuration()
ocean.add_webhook_processor(WEBHOOK_PATH, RunStateProcessor)
ocean.add_webhook_processor(WEBHOOK_PATH, AuditTrailProcessor)
ocean.add_webhook_processor(WEBHOOK_PATH, IgnoredEventProcessor)
register_actions()


@ocean.on_start()
async def on_start() -> None:
    settings = get_connection().settings
    logger.info(f"Spacelift integration for {settings.api_endpoint} (account {settings.account_name})")
    if ocean.config.actions_processor.enabled:
        try:
            await point_shipped_actions_at_this_integration()
        except Exception as error:  # the actions still work once someone points them at us in Port
            logger.warning(f"Could not point the shipped Port actions at this integration: {error}")
    if not settings.webhook_secret and ocean.app.base_url and ocean.event_listener_type != "ONCE":
        logger.warning(
            "spaceliftWebhookSecret is not set: live events are accepted unsigned, so anyone who can reach "
            "the webhook endpoint can write run data into Port. Set the secret in Spacelift and here."
        )


@ocean.on_probe()
async def on_probe(context: ProbeContext) -> ProbeContext:
    return await probe_spacelift(context)


INCREMENTAL_MARGIN_SECONDS = 300.0


def pages(kind: str, source: AsyncIterator[list[dict[str, Any]]]) -> AsyncIterator[list[dict[str, Any]]]:
    """A kind's pages, fetched ahead of Ocean's writes, with a failure recorded for the resync's summary."""
    return reported_pages(kind, read_ahead(rebatch(source, RESYNC_BATCH_ITEMS), DEFAULT_READ_AHEAD_PAGES))


@ocean.on_resync(ObjectKind.SPACE)
async def resync_spaces(kind: str) -> ASYNC_GENERATOR_RESYNC_TYPE:
    async for page in pages(kind, exporters().space.get_paginated_resources()):
        yield page


@ocean.on_resync(ObjectKind.STACK)
async def resync_stacks(kind: str) -> ASYNC_GENERATOR_RESYNC_TYPE:
    options = StackOptions.from_resource_config(cast(StackResourceConfig, event.resource_config))
    async for page in pages(kind, exporters().stack.get_paginated_resources(options)):
        yield page


@ocean.on_resync(ObjectKind.DEPLOYMENT)
async def resync_deployments(kind: str) -> ASYNC_GENERATOR_RESYNC_TYPE:
    options = RunOptions.from_resource_config(cast(DeploymentResourceConfig, event.resource_config))
    async for page in pages(kind, exporters().deployment.get_paginated_resources(options)):
        yield page


@ocean.on_incremental_resync(ObjectKind.DEPLOYMENT)  # only with OCEAN__INTEGRATION__INCREMENTAL_SYNC_ENABLED
async def resync_new_deployments(kind: str) -> ASYNC_GENERATOR_RESYNC_TYPE:
    """Ocean's incremental sync: the runs created or changed since its cursor (the last successful run's start),
    minus a margin for runs still being written then. Nothing is deleted; the full resync reconciles."""
    options = RunOptions.from_resource_config(cast(DeploymentResourceConfig, event.resource_config))
    cursor = active_incremental_cursor()
    since = cursor.timestamp() - INCREMENTAL_MARGIN_SECONDS if cursor else None
    async for page in pages(kind, exporters().deployment.get_paginated_resources(options, since=since)):
        yield page


@ocean.on_resync(ObjectKind.POLICY)
async def resync_policies(kind: str) -> ASYNC_GENERATOR_RESYNC_TYPE:
    async for page in pages(kind, exporters().policy.get_paginated_resources()):
        yield page


@ocean.on_resync(ObjectKind.USER)
async def resync_users(kind: str) -> ASYNC_GENERATOR_RESYNC_TYPE:
    async for page in pages(kind, exporters().user.get_paginated_resources()):
        yield page


@ocean.on_resync(ObjectKind.WORKER_POOL)
async def resync_worker_pools(kind: str) -> ASYNC_GENERATOR_RESYNC_TYPE:
    async for page in pages(kind, exporters().worker_pool.get_paginated_resources()):
        yield page


@ocean.on_resync(ObjectKind.CONTEXT)
async def resync_contexts(kind: str) -> ASYNC_GENERATOR_RESYNC_TYPE:
    async for page in pages(kind, exporters().context.get_paginated_resources()):
        yield page


@ocean.on_resync(ObjectKind.BLUEPRINT)
async def resync_blueprints(kind: str) -> ASYNC_GENERATOR_RESYNC_TYPE:
    async for page in pages(kind, exporters().blueprint.get_paginated_resources()):
        yield page


@ocean.on_resync(ObjectKind.TEMPLATE)
async def resync_templates(kind: str) -> ASYNC_GENERATOR_RESYNC_TYPE:
    async for page in pages(kind, exporters().template.get_paginated_resources()):
        yield page


@ocean.on_resync(ObjectKind.MODULE)
async def resync_modules(kind: str) -> ASYNC_GENERATOR_RESYNC_TYPE:
    async for page in pages(kind, exporters().module.get_paginated_resources()):
        yield page


@ocean.on_resync(ObjectKind.RESOURCE)
async def resync_resources(kind: str) -> ASYNC_GENERATOR_RESYNC_TYPE:
    options = ResourceOptions.from_resource_config(cast(ResourceResourceConfig, event.resource_config))
    async for page in pages(kind, exporters().resource.get_paginated_resources(options)):
        yield page
