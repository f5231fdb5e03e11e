"""Reporting a triggered run's outcome to Port: from the run-state webhook, with polling as the net.

Success when the run finished (or was skipped) or waits for confirmation; failure when it FAILED, was
CANCELED, STOPPED or DISCARDED. The webhook is the fast path; a poller watches every triggered run too
(every 10 s without ``OCEAN__BASE_URL``, every 60 s with it, in case the webhook was never configured).
Whichever sees the outcome first reports it; the other finds the Port run no longer in progress.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from loguru import logger
from port_ocean.context.ocean import ocean
from port_ocean.core.handlers.port_app_config.models import ResourceConfig
from port_ocean.core.handlers.webhook.abstract_webhook_processor import WebhookProcessorType
from port_ocean.core.handlers.webhook.webhook_event import EventPayload, WebhookEvent, WebhookEventRawResults
from port_ocean.core.models import IntegrationRun

from integration import ObjectKind
from spacelift.actions.base import upsert_quietly
from spacelift.connection import get_connection, get_exporters
from spacelift.webhooks.base_processor import SpaceliftWebhookProcessor
from spacelift.webhooks.payloads import RunStateEvent

SUCCESS_STATES = {
    "FINISHED": "finished",
    "UNCONFIRMED": "is waiting for confirmation",
    "SKIPPED": "was skipped",
}
FAILURE_STATES = {
    "FAILED": "failed",
    "CANCELED": "was canceled",
    "STOPPED": "was stopped",
    "DISCARDED": "was discarded",
}

_watchers: set[asyncio.Task[None]] = set()
_started_here: dict[str, None] = {}  # run ids this process triggered from Port, oldest first
STARTED_MEMORY = 10_000


def remember_started(run_id: str) -> None:
    _started_here[run_id] = None
    while len(_started_here) > STARTED_MEMORY:
        del _started_here[next(iter(_started_here))]


def may_have_a_port_run(run: dict[str, Any]) -> bool:
    """Only runs the integration triggered can have a Port action run waiting for them: those this process
    started, and those Spacelift says our API key triggered (``triggeredBy: api::<key id>``, which also
    covers a live-events pod that did not trigger the run itself). Every other finished run costs Port
    nothing."""
    if str(run.get("id")) in _started_here:
        return True
    key_id = get_connection().settings.api_key_id
    return bool(key_id) and run.get("triggeredBy") == f"api::{key_id}"


def outcome(state: str) -> tuple[bool, str] | None:
    """(success, wording) once ``state`` ends the action, else None."""
    if state in SUCCESS_STATES:
        return True, SUCCESS_STATES[state]
    if state in FAILURE_STATES:
        return False, FAILURE_STATES[state]
    return None


async def report_if_in_progress(run_id: str, state: str, url: str | None = None) -> bool:
    """Report the Port run whose external id is ``run_id``; False when there is none in progress."""
    verdict = outcome(state)
    if verdict is None:
        return False
    port_run = await ocean.port_client.find_run_by_external_id(run_id)
    if port_run is None or not port_run.is_in_progress:
        return False
    success, wording = verdict
    message = f"Spacelift run {run_id} {wording} ({state})" + (f": {url}" if url else "")
    await ocean.port_client.report_run_completed(
        port_run, success=success, message=message, status_label=state.title()
    )
    return True


class RunCompletionProcessor(SpaceliftWebhookProcessor):
    """Completes Port action runs from run-state webhooks (an ACTION processor: no entity mapping)."""

    @classmethod
    def get_processor_type(cls) -> WebhookProcessorType:
        return WebhookProcessorType.ACTION

    @classmethod
    def accepts(cls, payload: dict[str, Any]) -> bool:
        if not RunStateEvent.looks_like(payload) or outcome(str(payload.get("state"))) is None:
            return False
        return may_have_a_port_run(payload.get("run") or {})

    async def get_matching_kinds(self, event: WebhookEvent) -> list[str]:
        return []

    async def handle_event(self, payload: EventPayload, resource: ResourceConfig) -> WebhookEventRawResults:
        change = RunStateEvent.model_validate(payload)
        url = (payload.get("run") or {}).get("url")
        if await report_if_in_progress(change.run.id, change.state, url):
            logger.info(f"Reported Spacelift run {change.run.id} ({change.state}) to its Port action run")
        return WebhookEventRawResults(updated_raw_results=[], deleted_raw_results=[])


def watch(
    port_run: IntegrationRun,
    stack_id: str,
    run_id: str,
    interval: float | None = None,
    timeout: float = 6 * 3600,
) -> None:
    """Poll the run in the background until it ends the action; upsert it to Port as it changes."""
    if interval is None:
        configured = get_connection().settings.run_poll_seconds
        interval = float(configured) if configured else (60.0 if ocean.app.base_url else 10.0)
    task = asyncio.create_task(_watch(port_run, stack_id, run_id, interval, timeout))
    _watchers.add(task)
    task.add_done_callback(_watchers.discard)


async def _watch(
    port_run: IntegrationRun, stack_id: str, run_id: str, interval: float, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    last_state: str | None = None
    while time.monotonic() < deadline:
        try:
            run = await get_exporters().deployment.get_resource(f"{stack_id}/{run_id}")
        except Exception as error:  # keep watching through transient trouble
            logger.warning(f"Could not read Spacelift run {run_id} while watching it: {error}")
            run = None
        if run is not None and run.get("state") != last_state:
            last_state = run.get("state")
            await upsert_quietly(ObjectKind.DEPLOYMENT, [run])
            if outcome(str(last_state)) is not None:
                await report_if_in_progress(run_id, str(last_state), run.get("__url"))
                return
        await asyncio.sleep(interval)
    await ocean.port_client.report_run_completed(
        port_run, success=False,
        message=f"Spacelift run {run_id} was still {last_state} after {timeout / 3600:.0f} h; follow it in Spacelift",
        status_label="Timed out",
    )  # fmt: skip
