"""Whole resyncs through Ocean (registered handlers + default JQ mapping) against the sandbox account."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from sandbox.port.validation import entity_errors, relation_errors
from sandbox.spacelift import Account, SandboxSpacelift
from sandbox.spacelift.account import SECRET_MARK
from spacelift.graphql import document, stack_runs_batch_document
from tests.integration.harness import BLUEPRINTS, by_blueprint, default_mapping, ocean_harness


@pytest.fixture
def sandbox() -> SandboxSpacelift:
    return SandboxSpacelift(Account(3, "small"))


def expected_runs(account: Account, types: set[str], max_runs: int, lookback_days: int) -> set[str]:
    cutoff = time.time() - lookback_days * 86400
    expected: set[str] = set()
    for stack_id in account.stacks:
        runs = account.all_runs(stack_id)
        runs = sorted((r for r in runs if r["type"] in types and r["createdAt"] >= cutoff),
                      key=lambda r: r["createdAt"], reverse=True)  # fmt: skip
        expected |= {r["id"] for r in runs[:max_runs]}
    return expected


async def test_full_resync_lands_every_kind_valid_and_related(sandbox) -> None:
    account = sandbox.account
    async with ocean_harness(sandbox) as (harness, transport):
        result = await harness.trigger_resync()
    assert result.errors == []
    landed = by_blueprint(result.upserted_entities)
    counts = {bp: len({e["identifier"] for e in entities}) for bp, entities in landed.items()}
    assert counts == {
        "spaceliftSpace": len(account.spaces),
        "spaceliftStack": len(account.stacks),
        "spaceliftPolicy": len(account.policies),
        "spaceliftUser": len(account.users),
        "spaceliftWorkerPool": len(account.worker_pools) + 1,  # and the public pool
        "spaceliftContext": len(account.contexts),
        "spaceliftBlueprint": len(account.blueprints),
        "spaceliftTemplate": len(account.templates),
        "spaceliftModule": len(account.modules),
        "spaceliftDeployment": len(expected_runs(account, {"TRACKED"}, 10, 30)),
    }
    assert {e["identifier"] for e in landed["spaceliftDeployment"]} == expected_runs(
        account, {"TRACKED"}, 10, 30
    )

    existing = {bp: {e["identifier"] for e in entities} for bp, entities in landed.items()}
    problems = []
    for entity in result.upserted_entities:
        blueprint = BLUEPRINTS[entity["blueprint"]]
        problems += [
            f"{entity['blueprint']}/{entity['identifier']}: {p}" for p in entity_errors(entity, blueprint)
        ]
        problems += [
            f"{entity['blueprint']}/{entity['identifier']}: {p}"
            for p in relation_errors(entity, blueprint, existing)
        ]
    assert problems == []

    # relations are really filled, not just valid because empty
    stacks = {e["identifier"]: e for e in landed["spaceliftStack"]}
    for stack_id, stack in account.stacks.items():
        relations = stacks[stack_id]["relations"]
        assert relations["space"] == stack["space"]
        assert relations["workerPool"] == (stack["workerPool"] or {"id": "public"})["id"]
        assert relations["dependsOn"] == [d["dependsOnStack"]["id"] for d in stack["dependsOn"]]
        assert relations["policies"] == [p["policyId"] for p in stack["attachedPolicies"]]
        assert relations["contexts"] == [c["contextId"] for c in stack["attachedContexts"]]
    assert any(s["relations"]["dependsOn"] for s in stacks.values())
    users = {e["identifier"]: e for e in landed["spaceliftUser"]}
    assert all(users[u]["relations"]["spaces"] == sorted({r["space"] for r in account.users[u]["accessRules"]})
               for u in account.users)  # fmt: skip
    assert all(e["relations"]["stack"] in account.stacks for e in landed["spaceliftDeployment"])

    # timestamps are ISO 8601, links point at the account, nothing secret was even fetched
    run = landed["spaceliftDeployment"][0]
    assert run["properties"]["createdAt"].endswith("Z") and run["properties"]["url"].startswith(
        "http://spacelift.sandbox/stack/"
    )
    assert SECRET_MARK not in json.dumps(result.upserted_entities)
    assert not any(SECRET_MARK.encode() in body for body in transport.bodies)


async def test_a_failing_kind_raises_and_the_others_still_sync(sandbox) -> None:
    sandbox.faults.unauthorized_fields = ["managedUsers"]
    async with ocean_harness(sandbox) as (harness, _):
        result = await harness.trigger_resync()
    assert len(result.errors) == 1 and "ListManagedUsers" in str(result.errors[0])
    assert result.reconciliation_success is False
    landed = by_blueprint(result.upserted_entities)
    assert "spaceliftUser" not in landed
    assert len(landed["spaceliftStack"]) == len(sandbox.account.stacks)
    assert result.deleted_entities == []


async def test_unknown_enum_values_still_upsert_as_other(sandbox) -> None:
    stack = next(iter(sandbox.account.stacks.values()))
    stack["state"] = "HIBERNATING"  # a state Spacelift might add one day
    async with ocean_harness(sandbox) as (harness, _):
        result = await harness.trigger_resync()
    entity = next(e for e in result.upserted_entities if e["identifier"] == stack["id"])
    assert entity["properties"]["state"] == "OTHER"
    assert entity_errors(entity, BLUEPRINTS["spaceliftStack"]) == []


def _mapping_with(kind: str, selector: dict[str, Any]) -> dict[str, Any]:
    mapping = default_mapping()
    mapping["resources"] = [r for r in mapping["resources"] if r["kind"] == kind]
    mapping["resources"][0]["selector"].update(selector)
    return mapping


async def test_stack_selector_filters_labels_server_side_and_spaces(sandbox) -> None:
    account = sandbox.account
    space = next(s["space"] for s in account.stacks.values() if "critical" in s["labels"])
    mapping = _mapping_with("stack", {"labels": ["critical"], "spaces": [space]})
    async with ocean_harness(sandbox, mapping) as (harness, _):
        result = await harness.trigger_resync()
    expected = {s["id"] for s in account.stacks.values() if "critical" in s["labels"] and s["space"] == space}
    assert {e["identifier"] for e in result.upserted_entities} == expected and expected


async def test_run_selector_types_depth_and_lookback(sandbox) -> None:
    account = sandbox.account
    mapping = _mapping_with(
        "deployment", {"runTypes": ["TRACKED", "PROPOSED", "TASK"], "maxRunsPerStack": 3, "lookbackDays": 5}
    )
    async with ocean_harness(sandbox, mapping) as (harness, _):
        result = await harness.trigger_resync()
    assert result.errors == []
    landed = {e["identifier"] for e in result.upserted_entities}
    assert landed == expected_runs(account, {"TRACKED", "PROPOSED", "TASK"}, 3, 5)
    assert any(e["properties"]["type"] == "PROPOSED" for e in result.upserted_entities)


async def test_deep_history_is_paged_with_before(sandbox) -> None:
    sandbox.account.runs_page_size = 2
    mapping = _mapping_with("deployment", {"maxRunsPerStack": 5, "lookbackDays": 3650})
    async with ocean_harness(sandbox, mapping) as (harness, _):
        result = await harness.trigger_resync()
    assert {e["identifier"] for e in result.upserted_entities} == expected_runs(
        sandbox.account, {"TRACKED"}, 5, 3650
    )
    assert sandbox.by_operation["StackRunsBatch"] > 0  # deeper pages, several stacks per request
    assert sandbox.by_operation["StackRunsBatch"] < len(sandbox.account.stacks)  # no request per stack


async def test_batched_run_pages_fall_back_to_one_stack_per_request(sandbox) -> None:
    """If Spacelift refuses an aliased multi-stack query as too large, the walk goes on one stack at a time."""
    sandbox.account.runs_page_size = 2
    listing, batch = len(document("search_stack_runs")), len(stack_runs_batch_document("runs", 10))
    assert batch > listing + 100
    sandbox.settings.max_query_length = listing + 50  # the listing passes, a ten-stack batch does not
    mapping = _mapping_with("deployment", {"maxRunsPerStack": 5, "lookbackDays": 3650})
    async with ocean_harness(sandbox, mapping) as (harness, _):
        result = await harness.trigger_resync()
    assert result.errors == []
    assert sandbox.by_operation["StackRunsBatch"] > 1  # the refused batch, then one stack per request
    assert {e["identifier"] for e in result.upserted_entities} == expected_runs(
        sandbox.account, {"TRACKED"}, 5, 3650
    )


async def test_a_limited_key_syncs_what_it_may_read_and_names_the_permission_it_lacks(sandbox) -> None:
    account = sandbox.account
    parents = {s["parentSpace"] for s in account.spaces.values()}
    space = next(s["space"] for s in account.stacks.values() if s["space"] not in parents | {"root"})
    sandbox.settings.api_keys["01LIMITED"] = "limited-secret"
    sandbox.settings.key_access["01LIMITED"] = {space: "READ"}
    mine = [s for s in account.stacks.values() if s["space"] == space]
    mine[0]["workerPool"] = next(p for p in account.worker_pools.values() if p["space"] != space)
    key = {"spacelift_api_key_id": "01LIMITED", "spacelift_api_key_secret": "limited-secret"}
    async with ocean_harness(sandbox, None, key) as (harness, _):
        result = await harness.trigger_resync()
    failures = [str(e) for e in result.errors]
    assert len(failures) == 1 and "user kind needs Space Admin" in failures[0]  # only users need more
    stacks = by_blueprint(result.upserted_entities)["spaceliftStack"]
    assert {e["identifier"] for e in stacks} == {s["id"] for s in mine}
    hidden = next(e for e in stacks if e["identifier"] == mine[0]["id"])
    assert hidden["relations"]["workerPool"] is None  # withheld by Spacelift, the stack itself still lands
    assert len(sandbox.tokens) == 1  # "no access" never caused a second login


async def test_an_incremental_read_brings_only_new_runs_and_stops_at_known_ones() -> None:
    from sandbox.spacelift import running_sandbox
    from spacelift.exporters import Exporters
    from spacelift.options import RunOptions
    from spacelift.query_plan import QueryPlan
    from tests.sandbox_helpers import client_for

    with running_sandbox("small", runs_page_size=3) as (sandbox, server):
        client = client_for(server.url)
        exporters = Exporters.for_client(client, server.url, QueryPlan())
        full = [r async for page in exporters.deployment.get_paginated_resources(RunOptions()) for r in page]
        full_batches = sandbox.by_operation["StackRunsBatch"]
        since = sandbox.now() - 1
        stacks = [s for s in sandbox.account.stacks.values() if not s["lockedBy"] and not s["isDisabled"]][:2]
        new = {sandbox.account.trigger_run(s["id"], None, "TRACKED", "api::test")["id"] for s in stacks}
        got = [
            r
            async for page in exporters.deployment.get_paginated_resources(RunOptions(), since=since)
            for r in page
        ]
    assert {r["id"] for r in got} == new  # the new runs, and nothing already known
    assert len(full) > 20 and full_batches > 0
    assert sandbox.by_operation["StackRunsBatch"] == full_batches  # no deeper page was needed
