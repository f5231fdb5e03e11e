"""Actions on runs: trigger, run a task, confirm, discard, cancel."""

from __future__ import annotations

from typing import Any

from port_ocean.context.ocean import ocean
from port_ocean.core.models import IntegrationRun
from port_ocean.exceptions.execution_manager import ActionExecutionError

from integration import ObjectKind
from spacelift.actions.base import SpaceliftActionExecutor, optional, required, spacelift_said, upsert_quietly
from spacelift.actions.run_completion import RunCompletionProcessor, remember_started, watch
from spacelift.client import SpaceliftError, SpaceliftRateLimitedError
from spacelift.connection import get_connection, get_exporters
from spacelift.graphql import document

TRIGGERABLE_TYPES = ("TRACKED", "PROPOSED")


class TriggerRunExecutor(SpaceliftActionExecutor):
    ACTION_NAME = "trigger_run"
    WEBHOOK_PROCESSOR_CLASS = RunCompletionProcessor

    def partition_value(self, properties: dict[str, Any]) -> Any:
        return properties.get("stack") or properties.get("dependentsOf")

    def describe(self, properties: dict[str, Any]) -> str:
        if not properties.get("stack") and properties.get("dependentsOf"):
            return f"trigger runs on the stacks that depend on {properties['dependentsOf']}"
        return f"trigger a run on stack {properties.get('stack')}"

    async def act(self, run: IntegrationRun, properties: dict[str, Any]) -> None:
        if not properties.get("stack") and properties.get("dependentsOf"):
            await self._trigger_dependents(run, str(properties["dependentsOf"]))
            return
        stack = required(properties, "stack")
        run_type = (optional(properties, "runType") or "TRACKED").upper()
        if run_type not in TRIGGERABLE_TYPES:
            raise ActionExecutionError(
                f"runType must be one of {', '.join(TRIGGERABLE_TYPES)}, not {run_type!r}", "Bad input"
            )
        variables = {"stack": stack, "commitSha": optional(properties, "commitSha"), "runType": run_type}
        triggered = (await get_connection().client.execute(document("run_trigger"), variables))["runTrigger"]
        if not triggered or not triggered.get("id"):
            raise ActionExecutionError(f"Spacelift did not return a run for stack {stack}", "Spacelift error")
        await follow_started_run(run, stack, triggered["id"], f"{run_type} run")

    async def _trigger_dependents(self, run: IntegrationRun, upstream: str) -> None:
        """One tracked run on every stack that depends on ``upstream``; done once all are triggered."""
        client = get_connection().client
        found = (await client.execute(document("stack_dependents"), {"id": upstream})).get("stack")
        if found is None:
            raise ActionExecutionError(
                f"Cannot trigger dependents: stack {upstream} not found (or the API key cannot see it)",
                "Not found",
            )
        dependents = sorted({d["stack"]["id"] for d in found.get("isDependedOnBy") or []})
        triggered_count, refused = 0, []
        for stack in dependents:
            try:
                variables = {"stack": stack, "runType": "TRACKED"}
                triggered = (await client.execute(document("run_trigger"), variables))["runTrigger"]
            except SpaceliftRateLimitedError:
                raise  # the action pauses and retries; stacks already triggered are triggered again
            except SpaceliftError as error:  # one refusing stack must not stop the others
                refused.append(f"{stack}: {spacelift_said(error)}")
                await ocean.port_client.post_run_log(
                    run, f"Could not trigger {stack}: {spacelift_said(error)}", level="WARNING"
                )
                continue
            triggered_count += 1
            link = get_exporters().deployment.links.run(stack, triggered["id"])
            await ocean.port_client.post_run_log(run, f"Triggered run {triggered['id']} on {stack}: {link}")
        if refused:
            raise ActionExecutionError(
                f"Triggered {triggered_count} of {len(dependents)} stacks that depend on {upstream}; "
                f"refused: {'; '.join(refused)}",
                "Partly triggered",
            )
        message = (
            f"Triggered {triggered_count} stack(s) that depend on {upstream}"
            if dependents
            else f"No stack depends on {upstream}"
        )
        await ocean.port_client.report_run_completed(
            run, success=True, message=message, status_label="Triggered"
        )


async def follow_started_run(run: IntegrationRun, stack: str, run_id: str, what: str) -> None:
    """Link the Port run to the Spacelift run, show the run in Port, and watch it until it ends."""
    remember_started(run_id)
    link = get_exporters().deployment.links.run(stack, run_id)
    await ocean.port_client.update_run_started(run, link, external_id=run_id)
    await ocean.port_client.post_run_log(run, f"Started {what} {run_id} on stack {stack}: {link}")
    fetched = await get_exporters().deployment.get_resource(f"{stack}/{run_id}")
    if fetched is not None:
        await upsert_quietly(ObjectKind.DEPLOYMENT, [fetched])
    watch(run, stack, run_id)


class RunTaskExecutor(SpaceliftActionExecutor):
    """``taskCreate``: a one-off command; Spacelift lists tasks under ``stack.tasks``."""

    ACTION_NAME = "run_task"
    WEBHOOK_PROCESSOR_CLASS = RunCompletionProcessor

    def describe(self, properties: dict[str, Any]) -> str:
        return f"run a task on stack {properties.get('stack')}"

    async def act(self, run: IntegrationRun, properties: dict[str, Any]) -> None:
        stack = required(properties, "stack")
        command = required(properties, "command")
        variables = {"stack": stack, "command": command}
        created = (await get_connection().client.execute(document("task_create"), variables))["taskCreate"]
        if not created or not created.get("id"):
            raise ActionExecutionError(
                f"Spacelift did not return a task for stack {stack}", "Spacelift error"
            )
        await follow_started_run(run, stack, created["id"], "task")


class _RunDecisionExecutor(SpaceliftActionExecutor):
    """Confirm / discard / cancel: one mutation on (stack, run), reported at once."""

    mutation: str
    verb: str
    run_required = False

    def describe(self, properties: dict[str, Any]) -> str:
        target = f"run {properties['run']}" if properties.get("run") else "the run awaiting confirmation"
        return f"{self.verb} {target} on stack {properties.get('stack')}"

    async def act(self, run: IntegrationRun, properties: dict[str, Any]) -> None:
        stack = required(properties, "stack")
        run_id = required(properties, "run") if self.run_required else optional(properties, "run")
        variables = {"stack": stack, "run": run_id, "note": optional(properties, "note")}
        data = await get_connection().client.execute(document(self.mutation), variables)
        result = next(iter(data.values())) or {}
        done_id = result.get("id") or run_id
        fetched = await get_exporters().deployment.get_resource(f"{stack}/{done_id}") if done_id else None
        if fetched is not None:
            await upsert_quietly(ObjectKind.DEPLOYMENT, [fetched])
        state = (fetched or result).get("state", "")
        await ocean.port_client.report_run_completed(
            run, success=True, message=f"{self.verb.capitalize()}ed run {done_id} on stack {stack} (now {state})",
            status_label=self.verb.capitalize() + "ed",
        )  # fmt: skip


class ConfirmRunExecutor(_RunDecisionExecutor):
    ACTION_NAME = "confirm_run"
    mutation = "run_confirm"
    verb = "confirm"


class DiscardRunExecutor(_RunDecisionExecutor):
    ACTION_NAME = "discard_run"
    mutation = "run_discard"
    verb = "discard"


class CancelRunExecutor(_RunDecisionExecutor):
    ACTION_NAME = "cancel_run"
    mutation = "run_cancel"
    verb = "cancel"
    run_required = True
