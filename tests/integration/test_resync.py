"""Whole resyncs through Ocean (registered handlers + default JQ mapping) against the sandbox account."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from loguru import logger

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
        "spaceliftResource": account.summary()["resources"],
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


# --- managed resources ---------------------------------------------------------------------------


def _resource_mapping(selector: dict[str, Any] | None = None) -> dict[str, Any]:
    mapping = default_mapping()
    mapping["resources"] = [
        r for r in mapping["resources"] if r["kind"] in ("stack", "deployment", "resource")
    ]
    if selector:
        next(r for r in mapping["resources"] if r["kind"] == "resource")["selector"].update(selector)
    return mapping


async def test_resources_land_related_with_cloud_ids_and_no_attribute_value_but_the_allowlisted(
    sandbox,
) -> None:
    from sandbox.spacelift.account import RESOURCE_SECRET_MARK

    account = sandbox.account
    logs: list[str] = []
    handler = logger.add(lambda m: logs.append(str(m)), level="DEBUG")
    try:
        async with ocean_harness(sandbox, _resource_mapping()) as (harness, transport):
            result = await harness.trigger_resync()
    finally:
        logger.remove(handler)
    assert result.errors == []
    resources = by_blueprint(result.upserted_entities)["spaceliftResource"]
    expected = {(s["id"], e["address"]) for s in account.stacks.values() for e in s["entities"]}
    assert len(resources) == len(expected) and expected
    assert {(r["relations"]["stack"], r["properties"]["address"]) for r in resources} == expected
    runs = {e["identifier"] for e in by_blueprint(result.upserted_entities)["spaceliftDeployment"]}
    assert all(r["relations"]["createdBy"] in runs | {None} for r in resources)  # never a run Port lacks
    assert any(r["relations"]["createdBy"] for r in resources) and any(
        r["relations"]["updatedBy"] for r in resources
    )
    # the secret sits in attributes Spacelift did hand over (user_data, Pulumi outputs were not even read)
    assert any(RESOURCE_SECRET_MARK.encode() in body for body in transport.bodies)
    assert RESOURCE_SECRET_MARK not in json.dumps(result.upserted_entities)
    assert not any(RESOURCE_SECRET_MARK in line for line in logs)
    by_stack = {s["id"]: s for s in account.stacks.values()}
    for resource in resources:
        stack = by_stack[resource["relations"]["stack"]]
        vendor = stack["vendorConfig"]["__typename"]
        cloud_id = resource["properties"]["cloudId"]
        shown = (
            stack["vendorConfig"].get("useSmartSanitization")
            or "feature:disable_resource_sanitization" in stack["labels"]
        )
        if vendor in ("StackConfigVendorPulumi", "StackConfigVendorCloudFormation"):
            assert cloud_id.startswith(("arn:", "projects/", "/subscriptions/")), resource
        elif vendor in ("StackConfigVendorKubernetes", "StackConfigVendorAnsible"):
            assert cloud_id == ""
        elif shown:
            assert cloud_id.startswith(("arn:", "https://www.googleapis.com/", "/subscriptions/")), resource
        else:
            assert cloud_id == ""  # sanitized values are hashes, not ids
    drifted = {s["id"] for s in account.stacks.values() if any(e["drifted"] for e in s["entities"])}
    stacks = {e["identifier"]: e for e in by_blueprint(result.upserted_entities)["spaceliftStack"]}
    assert drifted and all(stacks[i]["properties"]["driftedResources"] >= 1 for i in drifted)
    assert any(s["properties"]["lastDriftDetectionAt"] for s in stacks.values())


async def test_the_raw_resources_handed_to_ocean_carry_no_attribute_values(sandbox) -> None:
    from sandbox.spacelift import running_sandbox
    from sandbox.spacelift.account import RESOURCE_SECRET_MARK
    from spacelift.exporters import Exporters
    from spacelift.options import ResourceOptions
    from spacelift.query_plan import QueryPlan
    from tests.sandbox_helpers import client_for

    with running_sandbox("small") as (_, server):
        exporters = Exporters.for_client(client_for(server.url), server.url, QueryPlan())
        raw = [
            r async for page in exporters.resource.get_paginated_resources(ResourceOptions()) for r in page
        ]
        only_aws = [r async for page in exporters.resource.get_paginated_resources(
            ResourceOptions(resource_types=("aws_*",), drifted_only=True)) for r in page]  # fmt: skip
    text = json.dumps(raw)
    assert raw and RESOURCE_SECRET_MARK not in text and '"values"' not in text and "user_data" not in text
    assert only_aws and all(r["type"].startswith("aws_") and r["drifted"] for r in only_aws)


class _InFlight(httpx.AsyncHTTPTransport):
    """Counts how many requests of one operation are open at the same time (the sandbox answers after a
    delay), and how many stacks each asked about."""

    def __init__(self, operation: str) -> None:
        super().__init__()
        self.operation, self.now, self.peak = operation, 0, 0
        self.stacks: list[int] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        ours = f"query {self.operation}(".encode() in request.content
        if ours:
            self.stacks.append(len(json.loads(request.content)["variables"]))
        self.now += ours
        self.peak = max(self.peak, self.now)
        try:
            response = await super().handle_async_request(request)
            await response.aread()
            return response
        finally:
            self.now -= ours


async def test_resources_of_many_stacks_are_read_several_requests_at_once_and_refusals_halve_them() -> None:
    from sandbox.spacelift import DEFAULT_KEY_ID, DEFAULT_KEY_SECRET, Faults, running_sandbox
    from spacelift.client import SpaceliftClient
    from spacelift.exporters import Exporters
    from spacelift.exporters.resource import ENTITY_REQUESTS_AT_ONCE, STACKS_PER_ENTITY_QUERY
    from spacelift.graphql import stack_entities_batch_document
    from spacelift.options import ResourceOptions
    from spacelift.query_plan import QueryPlan

    with running_sandbox("medium", faults=Faults(latency_ms=20)) as (sandbox, server):
        managing = [s for s in sandbox.account.stacks.values() if s["entities"]]
        assert len(managing) > 2 * STACKS_PER_ENTITY_QUERY  # several batches to read
        sandbox.settings.max_query_length = len(stack_entities_batch_document(STACKS_PER_ENTITY_QUERY)) - 1
        transport = _InFlight("StackEntitiesBatch")
        http = httpx.AsyncClient(transport=transport, timeout=10)
        client = SpaceliftClient(
            f"{server.url}/graphql", http, api_key_id=DEFAULT_KEY_ID, api_key_secret=DEFAULT_KEY_SECRET
        )
        exporters = Exporters.for_client(client, server.url, QueryPlan())
        got = [
            r async for page in exporters.resource.get_paginated_resources(ResourceOptions()) for r in page
        ]
    expected = {(s["id"], e["address"]) for s in managing for e in s["entities"]}
    assert {(r["__stackId"], r["address"]) for r in got} == expected
    assert len(got) == len(expected)  # each once, although the first requests were refused and sent again
    first, later = transport.stacks[:ENTITY_REQUESTS_AT_ONCE], transport.stacks[ENTITY_REQUESTS_AT_ONCE:]
    assert STACKS_PER_ENTITY_QUERY in first  # refused as too large
    assert later and max(later) <= STACKS_PER_ENTITY_QUERY // 2  # then half as many stacks per request
    assert transport.peak > 1  # not one request after another


async def test_a_full_resync_follows_the_request_plan(sandbox) -> None:
    """The query plan in requests per operation (README "The query plan"), so a regression fails here."""
    async with ocean_harness(sandbox) as (harness, _):
        result = await harness.trigger_resync()
    assert result.errors == []
    lists = ["ListSpaces", "ListWorkerPools", "GetPublicWorkerPool", "ListPolicies", "ListContexts", "ListStacks",
             "ListManagedUsers", "SearchBlueprints", "SearchTemplates", "ListModules", "ListStacksWithResources"]  # fmt: skip
    assert dict(sandbox.by_operation) == {
        "SpaceliftApiKeyUser": 1,  # one log-in for the whole resync
        **{operation: 1 for operation in lists},  # every list in one request
        "SearchStackRuns": 1,  # the stacks with their newest runs inline (12 stacks: one page)
        "StackRunsBatch": 1,  # the deeper histories of every stack that needs one, in one request
        "StackEntitiesBatch": 1,  # the resources of every stack that has any (25 stacks per request)
    }


async def test_with_paged_lists_each_list_takes_one_request_per_page(sandbox) -> None:
    account = sandbox.account
    config = {"spacelift_unpaginated_lists": False, "spacelift_page_size": 4}
    async with ocean_harness(sandbox, config=config) as (harness, _):
        result = await harness.trigger_resync()
    assert result.errors == []

    def pages(items: dict[str, Any]) -> int:
        return max(1, -(-len(items) // 4))

    expected = {
        "SearchStacks": pages(account.stacks), "SearchStackRuns": pages(account.stacks),
        "SearchStacksWithResources": pages(account.stacks), "SearchPolicies": pages(account.policies),
        "SearchContexts": pages(account.contexts), "SearchModules": pages(account.modules),
        "SearchWorkerPools": pages(account.worker_pools), "SearchBlueprints": pages(account.blueprints),
        "SearchTemplates": pages(account.templates), "ListSpaces": 1, "ListManagedUsers": 1,
        "GetPublicWorkerPool": 1, "SpaceliftApiKeyUser": 1,
    }  # fmt: skip
    counts = dict(sandbox.by_operation)
    assert {operation: counts.get(operation) for operation in expected} == expected
    # deeper run pages: at most one request per stack page (each page's stacks share one), never one per stack
    assert 1 <= counts.pop("StackRunsBatch") <= pages(account.stacks)
    assert counts.pop("StackEntitiesBatch") == 1
    assert set(counts) == set(expected)
