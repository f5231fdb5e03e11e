"""Actions on stacks: lock, unlock, create stacks from a template (or a blueprint, Spacelift's older API)."""

from __future__ import annotations

from typing import Any

from port_ocean.context.ocean import ocean
from port_ocean.core.models import IntegrationRun
from port_ocean.exceptions.execution_manager import ActionExecutionError

from integration import ObjectKind
from spacelift.actions.base import SpaceliftActionExecutor, input_values, optional, required, upsert_quietly
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
        variables = {"id": blueprint, "input": {"templateInputs": input_values(properties)}}
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


class CreateStackFromTemplateExecutor(SpaceliftActionExecutor):
    """Deploys a template version (``templateDeploymentCreate`` takes a version id, as the provider sends)."""

    ACTION_NAME = "create_stack_from_template"
    PARTITION_INPUT = "template"

    def describe(self, properties: dict[str, Any]) -> str:
        return f"deploy template {properties.get('template')}"

    async def act(self, run: IntegrationRun, properties: dict[str, Any]) -> None:
        template_id = required(properties, "template")
        name = required(properties, "name")
        inputs = input_values(properties)
        number = optional(properties, "version")
        client = get_connection().client
        variables = {"id": template_id, "number": number or "", "byNumber": number is not None}
        template = (await client.execute(document("template_version_to_deploy"), variables)).get("template")
        if template is None:
            raise ActionExecutionError(
                f"Cannot deploy template {template_id}: not found (or the API key cannot see it)", "Not found"
            )
        version = template.get("templateVersionByNumber" if number else "latestVersion")
        if not version:
            which = f"version {number}" if number else "any version"
            raise ActionExecutionError(f"Template {template_id} has no {which}", "Not found")
        if version.get("state") != "PUBLISHED":
            raise ActionExecutionError(
                f"Cannot deploy template {template_id}: version {version.get('version')} is {version.get('state')}; "
                "publish it in Spacelift or name a published version",
                "Wrong state",
            )
        space = optional(properties, "space") or (template.get("space") or {}).get("id")
        deploy = {"id": version["id"], "input": {"space": space, "name": name, "inputs": inputs}}
        created = (await client.execute(document("template_deployment_create"), deploy))[
            "templateDeploymentCreate"
        ] or {}
        stack_ids = [s["id"] for s in created.get("stacks") or [] if s.get("id")]
        await _refresh_stacks(stack_ids)
        links = " ".join(get_exporters().stack.links.stack(i) for i in stack_ids)
        await ocean.port_client.report_run_completed(
            run, success=True, status_label="Deployed",
            message=(f"Deployed version {version.get('version')} of template {template_id} as {name} "
                     f"({created.get('state')}): stacks {', '.join(stack_ids) or 'none yet'} {links}").strip(),
        )  # fmt: skip
