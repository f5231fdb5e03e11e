"""Port self-service actions end to end: the Port stand-in hands runs to the real integration process,
which acts on the sandbox Spacelift and reports back — happy paths, each error class, completion by
webhook and by polling, ordering within a stack."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from sandbox.demo import ROOT, Stage, free_port, integration_env, ocean_command, start_stage
from sandbox.spacelift.webhooks import run_state_event, send

WEBHOOK = "demo-webhook-secret"


class Integration:
    def __init__(self, stage: Stage, *, webhooks: bool) -> None:
        self.stage = stage
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        extra = {
            "OCEAN__ACTIONS_PROCESSOR__ENABLED": "true",
            "OCEAN__ACTIONS_PROCESSOR__POLL_CHECK_INTERVAL_SECONDS": "1",
            # with webhooks, polling is made too slow to matter: completion must come from the webhook
            "OCEAN__INTEGRATION__CONFIG__SPACELIFT_RUN_POLL_SECONDS": "3600" if webhooks else "1",
        }
        if webhooks:
            extra["OCEAN__BASE_URL"] = self.base
        env = integration_env(stage, "POLLING", extra)
        self.process = subprocess.Popen([*ocean_command(), "-p", str(self.port)], cwd=ROOT, env=env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip

    def wait(self, condition: Callable[[], Any], what: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert (
                self.process.poll() is None
            ), f"ocean sail exited ({self.process.returncode}) waiting for {what}"
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.2)

    def run_action(self, action: str, timeout: float = 90, **properties: Any) -> dict[str, Any]:
        run = self.stage.port.click_action(f"spacelift_{action}", properties)
        self.wait(lambda: run["status"] != "IN_PROGRESS", f"{action} to complete", timeout)
        return run

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture
def stage() -> Iterator[Stage]:
    with ExitStack() as stack:
        stage = start_stage(stack, "small", seed=21)
        stage.spacelift.account.run_step_seconds = 0.3  # runs move through their states quickly
        yield stage


def ready(stage: Stage, webhooks: bool) -> Integration:
    """Started, resynced, and its shipped actions pointed at it: actions.json says installationId
    "spacelift", the stage's integration is "spacelift-demo", and Port routes runs by installationId."""
    integration = Integration(stage, webhooks=webhooks)
    integration.wait(
        lambda: stage.port.summary()["entities"].get("spaceliftStack", 0) > 0, "the first resync"
    )
    integration.wait(
        lambda: all(
            a["invocationMethod"]["installationId"] == "spacelift-demo" for a in stage.port.actions.values()
        )
        and len(stage.port.actions) > 0,
        "the shipped actions to be claimed",
    )
    return integration


def free_stack(stage: Stage, autodeploy: bool = False) -> dict[str, Any]:
    return next(s for s in stage.spacelift.account.stacks.values()
                if not s["lockedBy"] and not s["isDisabled"] and s["autodeploy"] == autodeploy)  # fmt: skip


def test_actions_happy_paths_errors_and_ordering_with_polling(stage) -> None:
    account = stage.spacelift.account
    integration = ready(stage, webhooks=False)
    try:
        stack = free_stack(stage)
        # trigger: link + external id, completes when the run waits for confirmation; the run lands in Port
        triggered = integration.run_action("trigger_run", stack=stack["id"])
        assert triggered["status"] == "SUCCESS", triggered["logs"]
        run_id = triggered["externalRunId"]
        assert triggered["link"] == f"{stage.spacelift_url}/stack/{stack['id']}/run/{run_id}"
        assert any("waiting for confirmation" in line for line in triggered["logs"])
        integration.wait(lambda: stage.port.entities.get(("spaceliftDeployment", run_id), {}).get("properties", {}).get("state") == "UNCONFIRMED",
                         "the triggered run to show as UNCONFIRMED in Port")  # fmt: skip

        confirmed = integration.run_action("confirm_run", stack=stack["id"], run=run_id, note="ship it")
        assert confirmed["status"] == "SUCCESS", confirmed["logs"]
        integration.wait(
            lambda: (account.find_run(stack["id"], run_id) or {}).get("state") == "FINISHED",
            "the run to finish",
        )

        # each error class, with a message a person understands
        failures = {
            "not confirmable": integration.run_action("confirm_run", stack=stack["id"], run=run_id),
            "unknown stack": integration.run_action("trigger_run", stack="no-such-stack"),
            "locked by another": integration.run_action("lock_stack", stack=next(s["id"] for s in account.stacks.values() if s["lockedBy"])),
        }  # fmt: skip
        stage.spacelift.faults.unauthorized_fields = ["runTrigger"]
        failures["no permission"] = integration.run_action("trigger_run", stack=stack["id"])
        stage.spacelift.faults.unauthorized_fields = []
        assert all(run["status"] == "FAILURE" for run in failures.values())
        text = {name: " ".join(run["logs"]) for name, run in failures.items()}
        assert "not in a confirmable state" in text["not confirmable"]
        assert "no-such-stack not found" in text["unknown stack"]
        assert "is already locked by" in text["locked by another"] and "unlock" in text["locked by another"]
        assert (
            "may not trigger a run on stack" in text["no permission"]
            and "write access" in text["no permission"]
        )
        assert failures["locked by another"]["statusLabel"] == "Stack locked"

        # ordering: three runs on one stack execute in the order they were started
        stage.spacelift.mutations.clear()
        target = free_stack(stage, autodeploy=True)["id"]
        runs = [stage.port.click_action("spacelift_lock_stack", {"stack": target, "note": "first"}),
                stage.port.click_action("spacelift_unlock_stack", {"stack": target}),
                stage.port.click_action("spacelift_lock_stack", {"stack": target, "note": "second"})]  # fmt: skip
        integration.wait(lambda: all(r["status"] != "IN_PROGRESS" for r in runs), "the three stack actions")
        assert [r["status"] for r in runs] == ["SUCCESS"] * 3
        assert [(name, v.get("note")) for name, v in stage.spacelift.mutations] == [
            ("stackLock", "first"), ("stackUnlock", None), ("stackLock", "second")]  # fmt: skip
        assert account.stacks[target]["lockNote"] == "second"
        integration.wait(
            lambda: stage.port.entities[("spaceliftStack", target)]["properties"]["locked"] is True,
            "the lock in Port",
        )

        # discard and cancel, and a stack from a blueprint
        second = integration.run_action("trigger_run", stack=stack["id"])
        assert (
            integration.run_action("discard_run", stack=stack["id"], run=second["externalRunId"])["status"]
            == "SUCCESS"
        )
        assert (account.find_run(stack["id"], second["externalRunId"]) or {}).get("state") == "DISCARDED"
        account.run_step_seconds = 3600  # keep the next run QUEUED until it is canceled
        queued = account.trigger_run(stack["id"], None, "TRACKED", "api::someone")
        assert (
            integration.run_action("cancel_run", stack=stack["id"], run=queued["id"])["status"] == "SUCCESS"
        )
        blueprint = next(b for b in account.blueprints.values() if b["state"] == "PUBLISHED")
        created = integration.run_action(
            "create_stack_from_blueprint", blueprint=blueprint["id"], inputs={"name": "Payments Dev"}
        )
        assert created["status"] == "SUCCESS", created["logs"]
        assert "payments-dev" in account.stacks
        integration.wait(
            lambda: ("spaceliftStack", "payments-dev") in stage.port.entities, "the new stack in Port"
        )

        # the dependents of a stack, as the README's automation recipe uses it
        account.run_step_seconds = 0.3
        upstream = next(s for s in account.stacks.values() if s["isDependedOnBy"])
        dependents = {d["stack"]["id"] for d in upstream["isDependedOnBy"]}
        startable = {
            d for d in dependents if not account.stacks[d]["lockedBy"] and not account.stacks[d]["isDisabled"]
        }
        stage.spacelift.mutations.clear()
        fanned = integration.run_action("trigger_run", dependentsOf=upstream["id"])
        assert fanned["status"] == ("SUCCESS" if startable == dependents else "FAILURE"), fanned["logs"]
        assert {v["stack"] for name, v in stage.spacelift.mutations if name == "runTrigger"} == dependents
        assert sum("Triggered run" in line for line in fanned["logs"]) == len(startable)
    finally:
        integration.stop()


def test_triggered_run_completes_from_the_webhook_and_fails_on_failure(stage) -> None:
    account = stage.spacelift.account
    integration = ready(stage, webhooks=True)
    try:
        stack = free_stack(stage)
        port_run = stage.port.click_action("spacelift_trigger_run", {"stack": stack["id"]})
        integration.wait(lambda: port_run["externalRunId"], "the run to start")
        run = account.find_run(stack["id"], port_run["externalRunId"])
        assert run is not None
        integration.wait(
            lambda: (account.advance_runs() or run["state"]) == "UNCONFIRMED", "the sandbox run to plan"
        )
        asyncio.run(
            send(f"{integration.base}/integration/webhook", run_state_event(account, stack, run), WEBHOOK)
        )
        integration.wait(
            lambda: port_run["status"] != "IN_PROGRESS", "completion from the webhook", timeout=30
        )
        assert port_run["status"] == "SUCCESS" and port_run["statusLabel"] == "Unconfirmed"

        failing = stage.port.click_action(
            "spacelift_trigger_run", {"stack": stack["id"], "runType": "PROPOSED"}
        )
        integration.wait(lambda: failing["externalRunId"], "the proposed run to start")
        proposed = account.find_run(stack["id"], failing["externalRunId"])
        assert proposed is not None
        account.stop_run(stack["id"], proposed["id"], "stopped by a person")
        asyncio.run(
            send(
                f"{integration.base}/integration/webhook", run_state_event(account, stack, proposed), WEBHOOK
            )
        )
        integration.wait(
            lambda: failing["status"] != "IN_PROGRESS", "the failure from the webhook", timeout=30
        )
        assert failing["status"] == "FAILURE" and any("was stopped" in line for line in failing["logs"])
    finally:
        integration.stop()


def test_tasks_and_templates_are_actions_too(stage) -> None:
    account = stage.spacelift.account
    integration = ready(stage, webhooks=False)
    try:
        stack = free_stack(stage)
        task = integration.run_action("run_task", stack=stack["id"], command="terraform state list")
        assert task["status"] == "SUCCESS", task["logs"]
        created = account.task_runs(stack["id"])[0]
        assert created["id"] == task["externalRunId"] and created["command"] == "terraform state list"
        assert task["link"] == f"{stage.spacelift_url}/stack/{stack['id']}/run/{created['id']}"
        assert created["state"] == "FINISHED" and created not in account.tracked_runs(stack["id"])

        template = next(t for t in account.templates.values() if t["latestVersion"]["state"] == "PUBLISHED")
        deployed = integration.run_action(
            "create_stack_from_template", template=template["id"], name="orders",
            inputs={"name": "Orders Dev", "replicas": 3, "ratio": 0.25, "public": False},
        )  # fmt: skip
        assert deployed["status"] == "SUCCESS", deployed["logs"]
        assert "orders-dev" in account.stacks
        deployment = next(iter(account.template_deployments.values()))
        values = {i["id"]: i["value"] for i in deployment["inputs"]}
        assert values == {
            "name": "Orders Dev",
            "replicas": "3",
            "ratio": "0.25",
            "public": "false",
        }  # as spacectl
        assert deployment["templateVersion"] is template["latestVersion"]
        integration.wait(
            lambda: ("spaceliftStack", "orders-dev") in stage.port.entities, "the new stack in Port"
        )

        draft = next(t for t in account.templates.values() if t["latestVersion"]["state"] == "DRAFT")
        refused = integration.run_action("create_stack_from_template", template=draft["id"], name="nope")
        assert refused["status"] == "FAILURE" and refused["statusLabel"] == "Wrong state"
        assert "is DRAFT" in " ".join(refused["logs"])
    finally:
        integration.stop()
