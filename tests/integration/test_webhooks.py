"""Live events through Ocean's webhook pipeline (processors → JQ mapping → Port), with sandbox-signed bodies."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

import pytest
from loguru import logger
from port_ocean.context.ocean import ocean
from port_ocean.core.handlers.webhook.webhook_event import WebhookEvent, WebhookRequestAdapter
from port_ocean.integration_testing import IntegrationTestHarness

from sandbox.spacelift import Account, SandboxSpacelift
from sandbox.spacelift.webhooks import audit_trail_event, encode, run_state_event, signature_headers
from spacelift.webhooks import WEBHOOK_PATH
from spacelift.webhooks.base_processor import ACCEPTED, verdict
from spacelift.webhooks.ordering import state_versions
from tests.integration.harness import default_mapping, ocean_harness

SECRET = "hook-secret-123"


@pytest.fixture
def sandbox() -> SandboxSpacelift:
    return SandboxSpacelift(Account(5, "small"))


@pytest.fixture
def errors() -> Iterator[list[str]]:
    captured: list[str] = []
    handler = logger.add(lambda m: captured.append(str(m)), level="ERROR")
    yield captured
    logger.remove(handler)


def event_for(
    payload: Any, secret: str | None = SECRET, headers: Mapping[str, str | None] | None = None
) -> WebhookEvent:
    body = encode(payload) if not isinstance(payload, bytes) else payload
    signed = {k.lower(): v for k, v in signature_headers(body, secret).items()} if secret else {}
    merged: dict[str, str | None] = {"content-type": "application/json", **signed, **(headers or {})}
    all_headers = {k: v for k, v in merged.items() if v is not None}
    return WebhookEvent(
        "trace-" + str(abs(hash(body))),
        json.loads(body),
        all_headers,
        WebhookRequestAdapter(body, all_headers),
    )


async def deliver(event: WebhookEvent) -> None:
    """What a webhook worker does with a queued event (Ocean starts its handlers with the listener)."""
    manager = ocean.app.webhook_manager
    if not getattr(manager, "_entity_processor", None):
        await manager.initialize_handlers()
    await manager._process_webhook_event(WEBHOOK_PATH, 0, event)


def a_run(sandbox: SandboxSpacelift, run_type: str = "TRACKED") -> tuple[dict[str, Any], dict[str, Any]]:
    for stack in sandbox.account.stacks.values():
        runs = sandbox.account.all_runs(stack["id"])
        for run in runs:
            if run["type"] == run_type:
                return stack, run
    raise AssertionError(f"no {run_type} run in the sandbox")


def upserted(harness: IntegrationTestHarness, blueprint: str) -> list[dict[str, Any]]:
    return [e for e in harness.port_mock.upserted_entities if e["blueprint"] == blueprint]


@pytest.fixture
async def live(sandbox) -> AsyncIterator[IntegrationTestHarness]:
    async with ocean_harness(sandbox, config={"spacelift_webhook_secret": SECRET}) as (harness, _):
        yield harness


async def test_signed_run_event_upserts_the_run_and_refreshes_its_stack(sandbox, live, errors) -> None:
    stack, run = a_run(sandbox)
    await deliver(event_for(run_state_event(sandbox.account, stack, run, state_version=2)))
    runs = upserted(live, "spaceliftDeployment")
    assert [r["identifier"] for r in runs] == [run["id"]]
    assert runs[0]["relations"]["stack"] == stack["id"]
    assert runs[0]["properties"]["state"] == run["state"]
    stacks = upserted(live, "spaceliftStack")
    assert [s["identifier"] for s in stacks] == [stack["id"]]
    assert stacks[0]["relations"]["space"] == stack["space"]  # fetched by id: full fields, not the payload's
    assert errors == []


@pytest.mark.parametrize(
    "headers",
    [
        {"x-signature-256": "sha256=" + "0" * 64},  # wrong
        {"x-signature-256": None, "x-signature": None},  # missing
        {"x-signature-256": "sha256=abc"},  # truncated
        {"x-signature": "sha1=" + "0" * 40, "x-signature-256": None},  # wrong sha1
    ],
)
async def test_bad_signatures_are_rejected_before_any_work(sandbox, live, errors, headers) -> None:
    stack, run = a_run(sandbox)
    sandbox.stats.clear()
    event = event_for(run_state_event(sandbox.account, stack, run), headers=headers)
    await deliver(event)
    assert (await verdict(event)).startswith("bad signature")
    assert live.port_mock.upserted_entities == []
    assert sandbox.stats["requests"] == 0  # not even a Spacelift call
    assert errors == []


async def test_sha1_only_delivery_is_accepted(sandbox, live) -> None:
    stack, run = a_run(sandbox)
    await deliver(event_for(run_state_event(sandbox.account, stack, run), headers={"x-signature-256": None}))
    assert [r["identifier"] for r in upserted(live, "spaceliftDeployment")] == [run["id"]]


async def test_sha1_is_not_a_fallback_when_sha256_is_wrong(sandbox, live) -> None:
    stack, run = a_run(sandbox)
    await deliver(
        event_for(
            run_state_event(sandbox.account, stack, run), headers={"x-signature-256": "sha256=" + "1" * 64}
        )
    )
    assert live.port_mock.upserted_entities == []


async def test_out_of_order_state_version_changes_nothing(sandbox, live) -> None:
    stack, run = a_run(sandbox)
    await deliver(event_for(run_state_event(sandbox.account, stack, run, state_version=7)))
    live.port_mock.upserted_entities.clear()
    await deliver(event_for(run_state_event(sandbox.account, stack, run, state_version=4)))
    assert live.port_mock.upserted_entities == []
    await deliver(event_for(run_state_event(sandbox.account, stack, run, state_version=8)))
    assert [r["identifier"] for r in upserted(live, "spaceliftDeployment")] == [run["id"]]


@pytest.mark.parametrize(
    "mangle",
    [
        lambda p: {**p, "run": {k: v for k, v in p["run"].items() if k != "id"}},
        lambda p: {k: v for k, v in p.items() if k != "stateVersion"},
        lambda p: {**p, "stateVersion": "seven"},
        lambda p: [p],
        lambda p: {**p, "stack": None},
    ],
)
async def test_malformed_bodies_are_rejected_without_errors_or_port_calls(
    sandbox, live, errors, mangle
) -> None:
    stack, run = a_run(sandbox)
    event = event_for(mangle(run_state_event(sandbox.account, stack, run)))
    await deliver(event)
    assert (await verdict(event)) != ACCEPTED
    assert live.port_mock.upserted_entities == [] and live.port_mock.deleted_entities == []
    assert errors == []


async def test_internal_error_and_unknown_events_are_acknowledged_quietly(sandbox, live, errors) -> None:
    await deliver(
        event_for({"title": "x", "body": "y", "error": "z", "severity": "ERROR", "account": "sandbox"})
    )
    await deliver(event_for({"hello": "world"}))
    assert live.port_mock.upserted_entities == [] and errors == []


async def test_run_filtered_out_by_the_selector_is_not_upserted(sandbox, live) -> None:
    stack, run = a_run(sandbox, "PROPOSED")  # the default selector keeps TRACKED runs only
    await deliver(event_for(run_state_event(sandbox.account, stack, run)))
    assert upserted(live, "spaceliftDeployment") == []


async def test_stack_that_no_longer_matches_the_selector_is_removed(sandbox) -> None:
    stack, run = a_run(sandbox)
    mapping = default_mapping()
    next(r for r in mapping["resources"] if r["kind"] == "stack")["selector"]["labels"] = ["no-such-label"]
    port_entities = [{"identifier": stack["id"], "blueprint": "spaceliftStack"}]
    async with ocean_harness(sandbox, mapping, {"spacelift_webhook_secret": SECRET}, port_entities) as (
        harness,
        _,
    ):
        await deliver(event_for(run_state_event(sandbox.account, stack, run)))
        assert upserted(harness, "spaceliftStack") == []
        assert {
            "identifier": stack["id"],
            "blueprint": "spaceliftStack",
        } in harness.port_mock.deleted_entities


async def test_audit_trail_delete_removes_the_entity(sandbox) -> None:
    stack_id = next(iter(sandbox.account.stacks))
    port_entities = [{"identifier": stack_id, "blueprint": "spaceliftStack"}]
    async with ocean_harness(sandbox, None, {"spacelift_webhook_secret": SECRET}, port_entities) as (
        harness,
        _,
    ):
        await deliver(event_for(audit_trail_event(sandbox.account, "stack.delete", stack_id)))
        assert {"identifier": stack_id, "blueprint": "spaceliftStack"} in harness.port_mock.deleted_entities
        assert harness.port_mock.upserted_entities == []


async def test_audit_trail_update_refreshes_the_entity(sandbox, live) -> None:
    policy = next(iter(sandbox.account.policies.values()))
    policy["name"] = "Renamed in Spacelift"
    await deliver(event_for(audit_trail_event(sandbox.account, "policy.update", policy["id"])))
    assert [(e["identifier"], e["title"]) for e in upserted(live, "spaceliftPolicy")] == [
        (policy["id"], "Renamed in Spacelift")
    ]


async def test_without_a_secret_events_are_accepted(sandbox) -> None:
    stack, run = a_run(sandbox)
    async with ocean_harness(sandbox) as (harness, _):
        await deliver(event_for(run_state_event(sandbox.account, stack, run), secret=None))
        assert [r["identifier"] for r in upserted(harness, "spaceliftDeployment")] == [run["id"]]


@pytest.fixture(autouse=True)
def _fresh_state_versions() -> None:
    state_versions._applied.clear()


@pytest.fixture
def warnings() -> Iterator[list[str]]:
    captured: list[str] = []
    handler = logger.add(lambda m: captured.append(str(m)), level="WARNING")
    yield captured
    logger.remove(handler)


@pytest.mark.parametrize(
    "body",
    [
        # documented in Spacelift's audit-trail docs: no data.ID for these
        {"account": "sandbox", "action": "audit_trail_webhook.set", "actor": "github::jdoe",
         "actor_roles": ["admin"], "context": {"mutation": "auditTrailSetWebhook"},
         "data": {"args": {"Input": {"Enabled": True, "Endpoint": "https://example.test/hook"}}},
         "remoteIP": "203.0.113.7", "timestamp": 1767261600123},
        {"account": "sandbox", "action": "audit_trail_webhook.delete", "actor": "github::jdoe",
         "actor_roles": ["admin"], "context": {"mutation": "auditTrailDeleteWebhook"}, "data": {},
         "remoteIP": "203.0.113.7", "timestamp": 1767261600123},
        {"account": "sandbox", "action": "api_key2.create", "actor": "api::01K", "data": {"ID": "01NEWKEY"}},
    ],
)  # fmt: skip
async def test_documented_audit_bodies_we_do_not_handle_are_ignored_quietly(
    sandbox, live, warnings, body
) -> None:
    before = sandbox.snapshot()["requests"]
    event = event_for(body)
    assert await verdict(event) == ACCEPTED
    await deliver(event)
    assert sandbox.snapshot()["requests"] == before  # nothing was asked of Spacelift
    assert live.port_mock.upserted_entities == [] and live.port_mock.deleted_entities == []
    assert [w for w in warnings if "Rejected" in w or "malformed" in w] == []


async def test_an_action_with_more_segments_still_names_its_resource_and_verb(sandbox) -> None:
    stack_id = next(iter(sandbox.account.stacks))
    port_entities = [{"identifier": stack_id, "blueprint": "spaceliftStack"}]
    body = {**audit_trail_event(sandbox.account, "stack.delete", stack_id), "action": "stack.v2.delete"}
    async with ocean_harness(sandbox, None, {"spacelift_webhook_secret": SECRET}, port_entities) as (
        harness,
        _,
    ):
        await deliver(event_for(body))
        assert {"identifier": stack_id, "blueprint": "spaceliftStack"} in harness.port_mock.deleted_entities


async def test_a_task_arriving_by_webhook_survives_the_next_resync(sandbox) -> None:
    """Tasks are listed by stack.tasks, not stack.runs: a resync must find the task the webhook brought."""
    mapping = default_mapping()
    for resource in mapping["resources"]:
        if resource["kind"] == "deployment":
            resource["selector"]["runTypes"] = ["TRACKED", "TASK"]
    stack = next(s for s in sandbox.account.stacks.values() if not s["lockedBy"] and not s["isDisabled"])
    task = sandbox.account.create_task(stack["id"], "terraform state list", "api::01SANDBOXKEY")
    async with ocean_harness(sandbox, mapping, {"spacelift_webhook_secret": SECRET}) as (harness, _):
        await deliver(event_for(run_state_event(sandbox.account, stack, task)))
        landed = {e["identifier"]: e for e in upserted(harness, "spaceliftDeployment")}
    assert landed[task["id"]]["properties"]["type"] == "TASK"
    assert landed[task["id"]]["properties"]["command"] == "terraform state list"
    in_port = [{"identifier": task["id"], "blueprint": "spaceliftDeployment"}]
    async with ocean_harness(sandbox, mapping, None, in_port) as (harness, _):
        result = await harness.trigger_resync()
    assert result.errors == []
    assert task["id"] in {e["identifier"] for e in result.upserted_entities}
    assert task["id"] not in {e["identifier"] for e in result.deleted_entities}
    assert all(r["type"] != "TASK" for r in sandbox.account.tracked_runs(stack["id"]))


async def test_a_finished_tracked_run_refreshes_its_stack_s_resources(sandbox) -> None:
    stack = next(s for s in sandbox.account.stacks.values() if s["entities"] and not s["lockedBy"])
    run = next(r for r in sandbox.account.tracked_runs(stack["id"]) if r["type"] == "TRACKED")
    run["state"] = "FINISHED"
    stack["entities"][0]["drifted"] = 1_800_000_000  # what the apply left behind, seen by drift detection
    async with ocean_harness(sandbox, config={"spacelift_webhook_secret": SECRET}) as (harness, _):
        await deliver(event_for(run_state_event(sandbox.account, stack, run)))
        resources = upserted(harness, "spaceliftResource")
    assert {r["properties"]["address"] for r in resources} == {e["address"] for e in stack["entities"]}
    first = next(r for r in resources if r["properties"]["address"] == stack["entities"][0]["address"])
    assert first["properties"]["drifted"] is True and first["relations"]["stack"] == stack["id"]


async def test_an_audited_stack_change_refreshes_its_resources(sandbox) -> None:
    stack = next(s for s in sandbox.account.stacks.values() if s["entities"])
    async with ocean_harness(sandbox, config={"spacelift_webhook_secret": SECRET}) as (harness, _):
        await deliver(event_for(audit_trail_event(sandbox.account, "stack.update", stack["id"])))
        resources = upserted(harness, "spaceliftResource")
    assert len(resources) == len(stack["entities"])
