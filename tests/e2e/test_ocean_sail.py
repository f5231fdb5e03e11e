"""End to end: the real ``ocean sail`` process against the sandbox Spacelift and the Port stand-in."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from sandbox.demo import ROOT, Stage, free_port, integration_env, ocean_command, report, run_once, start_stage
from sandbox.spacelift.webhooks import run_state_event, send

WEBHOOK = "demo-webhook-secret"


@pytest.fixture
def stage() -> Iterator[Stage]:
    with ExitStack() as stack:
        yield start_stage(stack, "small", seed=11)


def port_state(stage: Stage) -> set[tuple[str, str]]:
    return {key for key, entity in stage.port.entities.items() if not entity.get("stub")}


def test_one_resync_lands_the_whole_account_valid_and_related(stage) -> None:
    code, seconds, output = run_once(stage)
    figures = report(stage, code, seconds)
    assert code == 0, output[-3000:]
    assert figures["mismatched"] == {}
    assert figures["invalid_entities"] == 0 and stage.port.rejected == []
    assert figures["relations_dangling"] == 0 and figures["relations_filled"] > 50
    assert figures["entities"]["spaceliftDeployment"] > 0
    assert figures["ok"] is True


def test_reconciliation_deletes_exactly_what_left_spacelift(stage) -> None:
    assert run_once(stage)[0] == 0
    before = port_state(stage)
    gone = [s for s in list(stage.spacelift.account.stacks)[:2]]
    gone_runs = {r["id"] for s in gone for r in stage.spacelift.account.tracked_runs(s)}
    gone_resources = {
        f"{s}/{e['address']}" for s in gone for e in stage.spacelift.account.stacks[s]["entities"]
    }
    for stack_id in gone:
        stage.spacelift.account.delete_stack(stack_id)
    assert run_once(stage)[0] == 0
    removed = before - port_state(stage)
    assert {("spaceliftStack", s) for s in gone} <= removed
    assert {key for key in removed if key[0] not in ("spaceliftDeployment", "spaceliftResource")} == {
        ("spaceliftStack", s) for s in gone
    }
    # a stack's managed resources leave with it, and no other stack's
    assert {key[1] for key in removed if key[0] == "spaceliftResource"} == gone_resources
    assert {key[1] for key in removed if key[0] == "spaceliftDeployment"} <= gone_runs


def test_a_kind_that_fails_hard_loses_nothing(stage) -> None:
    assert run_once(stage)[0] == 0
    before = port_state(stage)
    stage.spacelift.faults.unauthorized_fields = ["managedUsers"]
    stage.spacelift.account.delete_stack(next(iter(stage.spacelift.account.stacks)))
    run_once(stage)
    after = port_state(stage)
    assert {k for k in before if k[0] == "spaceliftUser"} <= after  # users kept
    assert before <= after  # the failed resync deleted nothing at all


def test_signed_webhook_to_the_running_integration_updates_port(stage) -> None:
    account = stage.spacelift.account
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = integration_env(stage, "POLLING", {"OCEAN__BASE_URL": base})
    process = subprocess.Popen([*ocean_command(), "-p", str(port)], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_for(
            lambda: stage.port.summary()["entities"].get("spaceliftDeployment", 0) > 0,
            process,
            "first resync",
        )
        stack = next(
            s
            for s in account.stacks.values()
            if not s["lockedBy"] and not s["isDisabled"] and not s["autodeploy"]
        )
        run = account.trigger_run(stack["id"], None, "TRACKED", "api::e2e")
        key = ("spaceliftDeployment", run["id"])
        asyncio.run(send(f"{base}/integration/webhook", run_state_event(account, stack, run), WEBHOOK))
        wait_for(lambda: key in stage.port.entities, process, "the triggered run in Port")
        assert stage.port.entities[key]["properties"]["state"] == "QUEUED"
        assert stage.port.entities[key]["relations"]["stack"] == stack["id"]

        stage.spacelift.clock_offset += 60  # the run moves on to UNCONFIRMED
        account.advance_runs()
        asyncio.run(send(f"{base}/integration/webhook", run_state_event(account, stack, run), WEBHOOK))
        wait_for(
            lambda: stage.port.entities[key]["properties"]["state"] == "UNCONFIRMED",
            process,
            "the new run state",
        )
        # the stack is refreshed by the same delivery, but as its own upsert: wait for it too
        wait_for(
            lambda: stage.port.entities[("spaceliftStack", stack["id"])]["properties"]["state"]
            == "UNCONFIRMED",
            process,
            "the stack's new state",
        )

        # a run that ends without Port having started it costs Port no action-run lookup
        account.discard_run(stack["id"], run["id"], "not from Port")
        asyncio.run(send(f"{base}/integration/webhook", run_state_event(account, stack, run), WEBHOOK))
        wait_for(
            lambda: stage.port.entities[key]["properties"]["state"] == "DISCARDED",
            process,
            "the discarded run",
        )
        assert stage.port.calls["GET /v1/actions/runs"] == 0
        assert stage.port.calls["GET /v1/workflows/nodes/runs"] == 0

        fetched = stage.spacelift.by_operation["GetRun"]
        forged = run_state_event(account, stack, run, state_version=999)
        asyncio.run(send(f"{base}/integration/webhook", forged, "not-the-secret"))
        asyncio.run(send(f"{base}/integration/webhook", run_state_event(account, stack, run), WEBHOOK))
        wait_for(
            lambda: stage.spacelift.by_operation["GetRun"] >= fetched + 1, process, "the genuine delivery"
        )
        # deliveries are processed in order, so the forged one (sent first) is done: it never reached Spacelift
        assert stage.spacelift.by_operation["GetRun"] == fetched + 1
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_for(condition, process: subprocess.Popen[bytes], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, f"ocean sail exited ({process.returncode}) while waiting for {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_bad_configuration_stops_ocean_sail_with_one_line_per_problem(stage) -> None:
    env = integration_env(stage, "ONCE", {
        "OCEAN__INTEGRATION__CONFIG__SPACELIFT_API_ENDPOINT": "not-a-url",
        "OCEAN__INTEGRATION__CONFIG__SPACELIFT_API_KEY_SECRET": "",
    })  # fmt: skip
    command = [*ocean_command(), "-p", str(free_port())]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode == 2
    assert "Traceback" not in output
    problems = [line for line in output.splitlines() if line.startswith("configuration error:")]
    assert (
        len(problems) == 2
        and "is not a URL" in problems[0]
        and "spaceliftApiKeySecret is not set" in problems[1]
    )
    assert stage.spacelift.snapshot()["requests"] == 0


@pytest.mark.parametrize(
    "wrong, named",
    [({"OCEAN__PORT__CLIENT_SECRET": "wrong-port-secret"}, "Port rejected OCEAN__PORT__CLIENT_ID"),
     ({"OCEAN__INTEGRATION__CONFIG__SPACELIFT_API_KEY_SECRET": "wrong"}, "Spacelift did not accept API key")],
)  # fmt: skip
def test_a_refused_credential_stops_ocean_sail_at_once_with_one_line(stage, wrong, named) -> None:
    """Not Ocean retrying its Port login forever, not one traceback per kind: one line, exit 2."""
    env = integration_env(stage, "ONCE", wrong)
    command = [*ocean_command(), "-p", str(free_port())]
    started = time.monotonic()
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output[-2000:]
    assert time.monotonic() - started < 60
    assert "Traceback" not in output
    assert [line for line in output.splitlines() if named in line] == [
        next(line for line in output.splitlines() if line.startswith("configuration error:"))
    ]
    assert "wrong-port-secret" not in output
    assert stage.port.calls["POST /v1/auth/access_token"] <= 1


def test_spacectl_s_endpoint_variable_is_enough_although_the_spec_requires_the_setting(stage) -> None:
    env = integration_env(stage, "ONCE")
    env["SPACELIFT_API_KEY_ENDPOINT"] = env.pop("OCEAN__INTEGRATION__CONFIG__SPACELIFT_API_ENDPOINT")
    env["SPACELIFT_API_KEY_ID"] = env.pop("OCEAN__INTEGRATION__CONFIG__SPACELIFT_API_KEY_ID")
    env["SPACELIFT_API_KEY_SECRET"] = env.pop("OCEAN__INTEGRATION__CONFIG__SPACELIFT_API_KEY_SECRET")
    command = [*ocean_command(), "-p", str(free_port())]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert stage.port.summary()["entities"].get("spaceliftStack") == len(stage.spacelift.account.stacks)


def test_an_incremental_sync_brings_new_runs_and_deletes_nothing(stage) -> None:
    """Ocean's incremental mode (a ONCE run with OCEAN__INTEGRATION__INCREMENTAL_SYNC_ENABLED): the runs
    created since the cursor land, nothing is deleted, and the cursor is kept in Port for the next run."""
    assert run_once(stage)[0] == 0
    before = port_state(stage)
    account = stage.spacelift.account
    stack = next(s for s in account.stacks.values() if not s["lockedBy"] and not s["isDisabled"])
    gone = next(s for s in account.stacks if s != stack["id"])
    account.delete_stack(gone)  # an incremental sync must not reconcile it away
    run = account.trigger_run(stack["id"], None, "TRACKED", "api::e2e")
    stage.spacelift.stats.clear()
    incremental = {"OCEAN__INTEGRATION__INCREMENTAL_SYNC_ENABLED": "true"}
    code, _, output = run_once(stage, extra_env=incremental)
    assert code == 0, output[-3000:]
    after = port_state(stage)
    assert ("spaceliftDeployment", run["id"]) in after
    assert before <= after and stage.port.deletions == 0  # nothing deleted, not even the removed stack
    assert any(key[1] == "deployment" for key in stage.port.cursors)
    assert stage.spacelift.snapshot()["requests"] < 10  # only the deployment kind, its stacks' newest pages
