"""Actions on stacks: lock, unlock, create a stack from a blueprint."""

from __future__ import annotations

from typing import Any

from port_ocean.context.ocean import ocean
from port_ocean.core.models import IntegrationRun
from port_ocean.exceptions.execution_manager import ActionExecutionError

from integration import ObjectKind
from spacelift.actions.base import SpaceliftActionExecutor, optional, required, upsert_quietly
from spacelift.connection import get_connection, get_exporters
from spacelift.graphql import document


async def _refresh_stacks(stack_ids: list[str]) -> None:
    stacks = [s for s in [await get_exporters().stack.get_resource(i) for i in stack_ids] if s is not None]
    if stacks:
        await upsert_quietly(ObjectKind.STACK, stacks)


class LockStackExecutor(SpaceliftActionExecutor):
    ACTION_NAME = "lock_stack"

    def describe(self, properties: dict[str, Any]) -> str:
        return f"lock stack {properties.get('stack')}"

    async def act(self, run: IntegrationRun, properties: dict[str, Any]) -> None:
        stack = required(properties, "stack")
        variables = {"id": stack, "note": optional(properties, "note")}
        locked = (await get_connection().client.execute(document("stack_lock"), variables))["stackLock"] or {}
        await _refresh_stacks([stack])
        await ocean.port_client.report_run_completed(
            run,
            success=True,
            message=f"Locked stack {stack} as {locked.get('lockedBy')}",
            status_label="Locked",
        )


class UnlockStackExecutor(SpaceliftActionExecutor):
    ACTION_NAME = "unlock_stack"

    def describe(self, properties: dict[str, Any]) -> str:
        return f"unlock stack {properties.get('stack')}"

    async def act(self, run: IntegrationRun, properties: dict[str, Any]) -> None:
        stack = required(properties, "stack")
        await get_connection().client.execute(document("stack_unlock"), {"id": stack})
        await _refresh_stacks([stack])
        await ocean.port_client.report_run_completed(
            run, success=True, message=f"Unlocked stack {stack}", status_label="Unlocked"
        )


class CreateStackFromBlueprintExecutor(SpaceliftActionExecutor):
    ACTION_NAME = "create_stack_from_blueprint"
    PARTITION_INPUT = "blueprint"

    def describe(self, properties: dict[str, Any]) -> str:
        return f"create a stack from blueprint {properties.get('blueprint')}"

    async def act(self, run: IntegrationRun, properties: dict[str, Any]) -> None:
        blueprint = required(properties, "blueprint")
        inputs = properties.get("inputs") or {}
        if not isinstance(inputs, dict):
            raise ActionExecutionError(
                f"inputs must be an object of input id → value, not {type(inputs).__name__}", "Bad input"
            )
        template_inputs = [{"id": str(k), "value": str(v)} for k, v in inputs.items()]
        variables = {"id": blueprint, "input": {"templateInputs": template_inputs}}
        created = (await get_connection().client.execute(document("blueprint_create_stack"), variables))[
            "blueprintCreateStack"
        ] or {}
        stack_ids = list(created.get("stackIds") or [])
        if not stack_ids:
            raise ActionExecutionError(
                f"Spacelift created no stack from blueprint {blueprint}", "Spacelift error"
            )
        await _refresh_stacks(stack_ids)
        links = [get_exporters().stack.links.stack(i) for i in stack_ids]
        await ocean.port_client.report_run_completed(
            run, success=True, message=f"Created stack {', '.join(stack_ids)} from blueprint {blueprint}: {' '.join(links)}",
            status_label="Created",
        )  # fmt: skip
