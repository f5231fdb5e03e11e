"""Action executors in an Ocean context against the sandbox: throttling pauses, bad inputs, partitioning."""

from __future__ import annotations

from typing import Any

import pytest
from port_ocean.context.event import EventType, event_context
from port_ocean.core.models import ActionRun
from port_ocean.exceptions.execution_manager import ActionExecutionError

from sandbox.spacelift import Account, SandboxSpacelift
from spacelift.actions import base
from spacelift.actions.stack_actions import LockStackExecutor
from tests.integration.harness import ocean_harness


def action_run(action: str, properties: dict[str, Any], run_id: str = "r_1") -> ActionRun:
    return ActionRun.parse_obj({
        "id": run_id, "status": "IN_PROGRESS", "action": {"identifier": f"spacelift_{action}"},
        "payload": {"type": "INTEGRATION_ACTION", "installationId": "spacelift", "integrationActionType": action,
                    "integrationActionExecutionProperties": properties},
    })  # fmt: skip


@pytest.fixture
def sandbox() -> SandboxSpacelift:
    return SandboxSpacelift(Account(4, "small"))


@pytest.fixture
def port_calls(monkeypatch) -> list[tuple[str, dict[str, Any]]]:
    calls: list[tuple[str, dict[str, Any]]] = []

    def recorder(name: str):
        async def record(self: Any, run: Any, *args: Any, **kwargs: Any) -> None:
            calls.append((name, {"args": args, **kwargs}))

        return record

    import port_ocean.clients.port.client as port_client_module

    for name in ("post_run_log", "report_run_completed", "update_run_started"):
        monkeypatch.setattr(port_client_module.PortClient, name, recorder(name))
    return calls


async def test_throttling_pauses_the_action_then_it_succeeds(sandbox, port_calls, monkeypatch) -> None:
    monkeypatch.setattr(base, "DEFAULT_THROTTLE_WAIT_SECONDS", 0.05)
    stack = next(s for s in sandbox.account.stacks.values() if not s["lockedBy"])
    async with ocean_harness(sandbox) as _, event_context(EventType.ACTION_RUN, trigger_type="machine"):
        sandbox.faults.queue = ["429", "rate_limit_error"]  # max_retries is 0 in the harness config
        await LockStackExecutor().execute(action_run("lock_stack", {"stack": stack["id"], "note": "n"}))
    assert sandbox.account.stacks[stack["id"]]["lockedBy"] == "api::01SANDBOXKEY0000000000000"
    logs = [c for c in port_calls if c[0] == "post_run_log"]
    assert len(logs) == 2 and all("throttling" in c[1]["args"][0] for c in logs)
    assert port_calls[-1][0] == "report_run_completed" and port_calls[-1][1]["success"] is True


async def test_missing_input_is_a_clear_failure_without_calling_spacelift(sandbox, port_calls) -> None:
    async with ocean_harness(sandbox) as _:
        with pytest.raises(ActionExecutionError, match="needs 'stack'") as caught:
            await LockStackExecutor().execute(action_run("lock_stack", {"note": "n"}))
    assert caught.value.status_label == "Bad input"
    assert sandbox.mutations == []


async def test_partition_key_is_the_stack(sandbox) -> None:
    async with ocean_harness(sandbox) as _:
        key = await LockStackExecutor()._get_partition_key(action_run("lock_stack", {"stack": "s1"}, "r_9"))
    assert key == "stack:s1"
