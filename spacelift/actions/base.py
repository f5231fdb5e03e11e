"""What every Spacelift action shares: inputs, partitioning by stack, rate-limit pauses, and turning
Spacelift's refusals into messages a person understands."""

from __future__ import annotations

import asyncio
import json
import time
from abc import abstractmethod
from decimal import Decimal
from typing import Any

from loguru import logger
from port_ocean.context.ocean import ocean
from port_ocean.core.handlers.actions.abstract_executor import AbstractExecutor
from port_ocean.core.handlers.webhook.abstract_webhook_processor import AbstractWebhookProcessor
from port_ocean.core.models import IntegrationRun
from port_ocean.exceptions.execution_manager import ActionExecutionError

from spacelift.actions.stack_turns import stack_turns
from spacelift.client import (
    SpaceliftAuthError,
    SpaceliftError,
    SpaceliftForbiddenError,
    SpaceliftRateLimitedError,
)
from spacelift.connection import get_connection
from spacelift.webhooks import WEBHOOK_PATH

MAX_RATE_LIMIT_PAUSE_SECONDS = 900.0
DEFAULT_THROTTLE_WAIT_SECONDS = 30.0


def required(properties: dict[str, Any], name: str) -> str:
    value = properties.get(name)
    if value in (None, "") or not isinstance(value, str | int):
        raise ActionExecutionError(
            f"The action needs '{name}' (got {value!r}); check the action's inputs in Port", "Bad input"
        )
    return str(value)


def optional(properties: dict[str, Any], name: str) -> str | None:
    value = properties.get(name)
    return None if value in (None, "") else str(value)


def input_values(properties: dict[str, Any], name: str = "inputs") -> list[dict[str, str]]:
    """A blueprint's or template's inputs object as ``[{id, value}]``, each value a string as spacectl
    formats it (``blueprint/deploy.go``): ``true``/``false``, ``42``, ``3.14`` (never an exponent), text
    unchanged; a nested object or list as compact JSON."""
    raw = properties.get(name) or {}
    if not isinstance(raw, dict):
        raise ActionExecutionError(
            f"{name} must be an object of input id → value, not {type(raw).__name__}", "Bad input"
        )
    return [{"id": str(key), "value": spacectl_value(value)} for key, value in raw.items()]


def spacectl_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else format(Decimal(repr(value)), "f")
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def spacelift_said(error: SpaceliftError) -> str:
    """The part of our error message that is Spacelift's own words."""
    text = str(error)
    for marker in (" failed: ", "): "):
        if marker in text:
            return text.split(marker, 1)[1]
    return text


def explain(error: SpaceliftError, attempt: str) -> ActionExecutionError:
    """``attempt`` reads like "confirm run X on stack Y"."""
    said = "unauthorized" if isinstance(error, SpaceliftForbiddenError) else spacelift_said(error)
    lowered = said.lower()
    if isinstance(error, SpaceliftAuthError | SpaceliftForbiddenError):
        return ActionExecutionError(
            f"The integration's Spacelift API key may not {attempt} ({said}). Give the key write access to the "
            "stack's space in Spacelift.",
            "No permission",
        )
    if "locked by" in lowered:
        return ActionExecutionError(
            f"Cannot {attempt}: {said}. Ask them to unlock it, or unlock it in Spacelift.", "Stack locked"
        )
    if "not found" in lowered:
        return ActionExecutionError(f"Cannot {attempt}: {said} (or the API key cannot see it).", "Not found")
    if "state" in lowered or "awaiting confirmation" in lowered or "has not started" in lowered:
        return ActionExecutionError(f"Cannot {attempt}: {said}.", "Wrong state")
    return ActionExecutionError(f"Spacelift refused to {attempt}: {said}", "Spacelift error")


class SpaceliftActionExecutor(AbstractExecutor):
    """Runs on the same stack execute in order; Spacelift throttling pauses a run instead of failing it."""

    WEBHOOK_PROCESSOR_CLASS: type[AbstractWebhookProcessor] | None = None
    WEBHOOK_PATH = WEBHOOK_PATH
    PARTITION_INPUT = "stack"

    def partition_value(self, properties: dict[str, Any]) -> Any:
        return properties.get(self.PARTITION_INPUT)

    async def _get_partition_key(self, run: IntegrationRun) -> str | None:
        """Ocean calls this in claim order: the run also takes its turn ticket for the stack here."""
        value = self.partition_value(run.execution_properties)
        if not value:
            return None
        stack_turns.take_ticket(f"{self.PARTITION_INPUT}:{value}", run.id)
        return f"{self.PARTITION_INPUT}:{value}"

    async def is_close_to_rate_limit(self, run: IntegrationRun) -> bool:
        return get_connection().client.seconds_until_unthrottled() > 0

    async def get_remaining_seconds_until_rate_limit(self, run: IntegrationRun) -> float:
        return get_connection().client.seconds_until_unthrottled()

    @abstractmethod
    def describe(self, properties: dict[str, Any]) -> str:
        """What the action attempts, for messages: "lock stack networking-prod"."""

    @abstractmethod
    async def act(self, run: IntegrationRun, properties: dict[str, Any]) -> None:
        """Do it; Spacelift errors propagate and are explained by ``execute``."""

    async def execute(self, run: IntegrationRun) -> None:
        properties = dict(run.execution_properties or {})
        value = self.partition_value(properties)
        if not value:
            await self._execute(run, properties)
            return
        async with stack_turns.turn(f"{self.PARTITION_INPUT}:{value}", run.id):
            await self._execute(run, properties)

    async def _execute(self, run: IntegrationRun, properties: dict[str, Any]) -> None:
        deadline = time.monotonic() + MAX_RATE_LIMIT_PAUSE_SECONDS
        while True:
            try:
                await self.act(run, properties)
                return
            except SpaceliftRateLimitedError as error:
                wait = error.retry_after or DEFAULT_THROTTLE_WAIT_SECONDS
                if time.monotonic() + wait > deadline:
                    raise ActionExecutionError(
                        f"Spacelift kept throttling requests for {MAX_RATE_LIMIT_PAUSE_SECONDS / 60:.0f} minutes; "
                        f"could not {self.describe(properties)}. Try again later.",
                        "Rate limited",
                    ) from None
                await ocean.port_client.post_run_log(
                    run, f"Spacelift is throttling requests; waiting {wait:.0f}s before trying again",
                    level="WARNING", status_label="Rate limited",
                )  # fmt: skip
                await asyncio.sleep(wait)
            except SpaceliftError as error:
                raise explain(error, self.describe(properties)) from None


async def upsert_quietly(kind: str, items: list[dict[str, Any]]) -> None:
    """Show the change in Port now (the mapping applies); a failure here must not fail the action."""
    try:
        await ocean.register_raw(kind, items)
    except Exception as error:  # the next resync or webhook catches up
        logger.warning(f"Could not upsert {kind} into Port after the action: {error}")
