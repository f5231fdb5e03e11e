"""The Port stand-in answers every call Ocean 0.55.4 makes with the shape Ocean reads (checked with
Ocean's own ``PortClient`` and models wherever they run without a whole Ocean app), refuses what Port
would refuse, records every request it does not know, and shows people what changed live."""

from __future__ import annotations

import copy
import json
import re
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from port_ocean.clients.port import utils as port_utils
from port_ocean.clients.port.client import PortClient
from port_ocean.clients.port.mixins import entities as entities_mixin
from port_ocean.clients.port.types import RequestOptions, UserAgentType
from port_ocean.core.defaults.initialization.default_origin_setup import DefaultOriginSetup
from port_ocean.core.models import ActionRun, Blueprint, WorkflowNodeRun
from port_ocean.exceptions.execution_manager import RunAlreadyAcknowledgedError

from sandbox.demo import free_port, integration_env, ocean_command, start_stage
from sandbox.port.server import SandboxPort
from sandbox.serving import serving

ROOT = Path(__file__).resolve().parents[2]
RESOURCES = ROOT / ".port" / "resources"
INTEGRATION = "spacelift-test"
OPTIONS: RequestOptions = {"merge": True, "create_missing_related_entities": True, "delete_dependent_entities": True,
           "validation_only": False}  # fmt: skip


@pytest.fixture
def standin() -> Iterator[tuple[SandboxPort, str]]:
    port = SandboxPort()
    with serving(port.app) as server:
        port.base_url = server.url
        yield port, server.url


@asynccontextmanager
async def ocean_client(port: SandboxPort, url: str) -> AsyncIterator[PortClient]:
    """Ocean's own Port client, on a plain httpx client (Ocean's retrying one needs a whole Ocean app)."""
    async with httpx.AsyncClient(timeout=10) as http:
        port_utils._http_client.push(http)
        try:
            yield PortClient(url, port.client_id, port.client_secret, INTEGRATION, "spacelift", "0.1.0")
        finally:
            port_utils._http_client.pop()


def token(port: SandboxPort, url: str) -> dict[str, str]:
    answer = httpx.post(f"{url}/v1/auth/access_token", json={"clientId": port.client_id, "clientSecret": port.client_secret})  # fmt: skip
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['accessToken']}",
            "User-Agent": f"port-ocean/spacelift/0.1.0/{INTEGRATION}/exporter"}  # fmt: skip


def api(port: SandboxPort, url: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers=token(port, url), timeout=10)


def blueprints() -> list[dict[str, Any]]:
    return json.loads((RESOURCES / "blueprints.json").read_text())


def actions() -> list[dict[str, Any]]:
    return json.loads((RESOURCES / "actions.json").read_text())


async def install(client: PortClient) -> dict[str, Any]:
    """What Ocean's defaults initialisation does for a new integration: create it, then the blueprints
    in Ocean's three stages, then the actions, then mark the resources initialised."""
    integration = await client.create_integration("spacelift", {}, actions_processing_enabled=True)
    bare, with_relations, full = DefaultOriginSetup._deconstruct_blueprints_to_creation_steps(blueprints())
    for blueprint in bare:
        assert (await client.create_blueprint(blueprint))["identifier"] == blueprint["identifier"]
    for stage in (with_relations, full):
        for blueprint in stage:
            await client.patch_blueprint(blueprint["identifier"], blueprint)
    for action in actions():
        await client.create_action(action)
    await client.patch_integration(are_port_resources_initialized=True)
    return integration


def error_shape(answer: httpx.Response, status: int, error: str | None = None) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["ok"] is False and isinstance(body["message"], str) and body["message"]
    if error:
        assert body["error"] == error, body
    return dict(body)


# --- start-up and defaults ------------------------------------------------------------------------------


async def test_start_up_without_an_integration_creates_it_and_every_default(standin) -> None:
    port, url = standin
    async with ocean_client(port, url) as client:
        with pytest.raises(httpx.HTTPStatusError) as missing:
            await client.get_current_integration(should_log=False)
        assert missing.value.response.status_code == 404
        assert missing.value.response.json()["error"] == "not_found"
        assert await client.get_current_integration(should_raise=False, should_log=False) == {}
        assert await client.get_provision_enabled_integrations() == []
        assert await client.get_organization_feature_flags() == []
        assert await client.is_organization_blocked() is False
        assert await client.auth.is_machine_user() is True

        for blueprint in blueprints():  # defaults: none exists yet, so Ocean creates them
            with pytest.raises(httpx.HTTPStatusError) as no_blueprint:
                await client.get_blueprint(blueprint["identifier"], should_log=False)
            assert no_blueprint.value.response.status_code == 404
        integration = await install(client)

        assert integration["installationType"] == "OnPrem"
        assert integration["logAttributes"]["ingestUrl"] == f"{url}/ingest/logs/{INTEGRATION}"
        assert integration["metricAttributes"]["ingestUrl"] == f"{url}/ingest/metrics/{INTEGRATION}"
        current = await client.get_current_integration()
        assert current["arePortResourcesInitialized"] is True and current["actionsProcessingEnabled"] is True
        stack = await client.get_blueprint("spaceliftStack")
        assert isinstance(stack, Blueprint) and stack.relations["dependsOn"].many is True
        assert (
            stack.relations["space"].target == "spaceliftSpace" and stack.relations["space"].required is False
        )
        assert set(port.actions) == {a["identifier"] for a in actions()}
        with pytest.raises(httpx.HTTPStatusError) as again:
            await client.create_integration("spacelift", {})
        assert again.value.response.status_code == 409
        with pytest.raises(httpx.HTTPStatusError) as twice:
            await client.create_blueprint(blueprints()[0])
        assert twice.value.response.status_code == 409
    assert port.unknown_requests == []


async def test_start_up_with_an_existing_integration_reads_what_ocean_compares(standin) -> None:
    port, url = standin
    async with ocean_client(port, url) as client:
        await install(client)
        await client.patch_integration(
            _type="spacelift", changelog_destination={}, actions_processing_enabled=False,
            incremental_sync_enabled=False,
        )  # fmt: skip
        mapping = {"deleteDependentEntities": True, "resources": [{"kind": "stack", "port": {"entity": {}}}]}
        with_config = await client.patch_integration_config(
            type("Config", (), {"to_request": lambda self: mapping})()
        )
        assert with_config["config"] == mapping
        current = await client.get_current_integration(is_polling=True)
    assert current["installationAppType"] == "spacelift" and current["version"] == "0.1.0"
    assert current["changelogDestination"] == {} and current["incrementalSyncEnabled"] is False
    assert current["createPortResourcesOrigin"] == "Ocean" and current["config"] == mapping
    assert current["resyncState"]["status"] == "completed"
    assert port.unknown_requests == []


async def test_a_failed_default_creation_can_roll_back_its_blueprints(standin) -> None:
    port, url = standin
    async with ocean_client(port, url) as client:
        await client.create_integration("spacelift", {})
        await client.create_blueprint(
            {"identifier": "lonely", "title": "Lonely", "schema": {"properties": {}}}
        )
        await client.delete_blueprint("lonely", should_raise=True)
        assert "lonely" not in port.blueprints
    with api(port, url) as http:
        error_shape(http.delete("/v1/blueprints/lonely"), 404, "not_found")


# --- resync -----------------------------------------------------------------------------------------------


async def test_resync_state_metrics_logs_and_examples(standin) -> None:
    port, url = standin
    async with ocean_client(port, url) as client:
        await install(client)
        running = await client.update_integration_state(
            {"status": "running", "lastResyncEnd": None, "lastResyncStart": "2026-01-01T00:00:00+00:00",
             "nextResync": None, "intervalInMinuets": None}
        )  # fmt: skip
        assert running["resyncState"]["updatedAt"] and running["resyncState"]["status"] == "running"
        await client.ingest_integration_logs([{"message": "hello", "level": "INFO"}])
        await client.post_integration_sync_metrics([{"kindIdentifier": "stack-0", "metrics": {}}])
        await client.put_integration_sync_metrics(
            {"eventId": "3f2a-resync", "kindIdentifier": "stack-0", "metrics": {}}
        )
        await client.put_integration_sync_metrics(
            {"eventId": "3f2a-resync", "kindIdentifier": "__reconciliation__"}
        )
        await client.post_integration_metrics_heartbeat("3f2a-resync")
        await client.ingest_integration_kind_examples("stack", [{"id": "a"}, {"id": "b"}])
        done = await client.update_integration_state(
            {"status": "completed", "lastResyncEnd": "2026-01-01T00:01:00Z"}
        )
        assert done["resyncState"]["updatedAt"] >= running["resyncState"]["updatedAt"]
        assert (await client.get_current_integration())["resyncState"]["status"] == "completed"
    assert port.ingested == {"actions": len(actions()), "log lines": 1, "sync metrics": 1, "kind metrics": 2,
                             "heartbeats": 1, "examples": 2}  # fmt: skip
    assert [s["status"] for s in port.resync_states] == ["running", "completed"]
    assert port.unknown_requests == []


def stack_entity(identifier: str, **properties: Any) -> dict[str, Any]:
    return {"identifier": identifier, "title": identifier.title(), "blueprint": "spaceliftStack",
            "properties": {"state": "FINISHED", **properties}, "relations": {"space": "root"}}  # fmt: skip


async def test_bulk_upsert_answers_per_entity_and_refuses_bad_bodies(standin) -> None:
    port, url = standin
    async with ocean_client(port, url) as client:
        await install(client)
    with api(port, url) as http:
        query = "upsert=true&merge=true&create_missing_related_entities=true&validation_only=false"
        good, bad = stack_entity("payments"), stack_entity("bad", state=3)
        answer = http.post(
            f"/v1/blueprints/spaceliftStack/entities/bulk?{query}", json={"entities": [good, bad]}
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["entities"] == [{"index": 0, "identifier": "payments", "created": True}]
        assert [(e["index"], e["identifier"]) for e in body["errors"]] == [(1, "bad")]
        assert "expected string" in body["errors"][0]["message"]
        assert port.entities[("spaceliftStack", "payments")]["datasource"].endswith(
            f"/{INTEGRATION}/exporter"
        )
        assert port.entities[("spaceliftSpace", "root")]["stub"] is True  # created for the relation
        assert port.rejected[-1]["identifier"] == "bad"

        error_shape(http.post(f"/v1/blueprints/spaceliftStack/entities/bulk?{query}", json={"entity": [good]}), 422, "invalid_request")  # fmt: skip
        error_shape(
            http.post(f"/v1/blueprints/spaceliftStack/entities/bulk?{query}", json={}), 422, "invalid_request"
        )
        many = [stack_entity(f"s{i}") for i in range(21)]
        error_shape(
            http.post(f"/v1/blueprints/spaceliftStack/entities/bulk?{query}", json={"entities": many}), 422
        )
        huge = [stack_entity(f"h{i}", lockNote="x" * 60_000) for i in range(20)]
        error_shape(http.post(f"/v1/blueprints/spaceliftStack/entities/bulk?{query}", json={"entities": huge}), 413, "payload_too_large")  # fmt: skip
        error_shape(http.post(f"/v1/blueprints/nope/entities/bulk?{query}", json={"entities": [good]}), 404, "not_found")  # fmt: skip
        extra = {**stack_entity("extra"), "colour": "blue"}
        answer = http.post(f"/v1/blueprints/spaceliftStack/entities/bulk?{query}", json={"entities": [extra]})
        assert (
            answer.json()["entities"] == []
            and "additional properties" in answer.json()["errors"][0]["message"]
        )
        spaced = http.post(f"/v1/blueprints/spaceliftStack/entities/bulk?{query}", json={"entities": [stack_entity("a b")]})  # fmt: skip
        assert "must match" in spaced.json()["errors"][0]["message"]


async def test_single_upsert_fallback_says_not_found_for_an_unmet_dependency(standin) -> None:
    port, url = standin
    async with ocean_client(port, url) as client:
        await install(client)
    strict = "upsert=true&merge=true&create_missing_related_entities=false&validation_only=false"
    with api(port, url) as http:
        missing = http.post(f"/v1/blueprints/spaceliftStack/entities?{strict}", json=stack_entity("orphan"))
        error_shape(missing, 404, "not_found")  # Ocean: False = retry after its dependencies
        assert ("spaceliftStack", "orphan") not in port.entities
        space = {"identifier": "root", "title": "root", "properties": {}, "relations": {}}
        created = http.post(f"/v1/blueprints/spaceliftSpace/entities?{strict}", json=space)
        assert created.status_code == 201 and created.json()["ok"] is True
        assert created.json()["entity"]["identifier"] == "root"
        stored = http.post(f"/v1/blueprints/spaceliftStack/entities?{strict}", json=stack_entity("orphan"))
        assert stored.status_code == 201 and stored.json()["entity"]["relations"] == {"space": "root"}
        invalid = http.post(
            f"/v1/blueprints/spaceliftStack/entities?{strict}", json=stack_entity("x", locked="yes")
        )
        error_shape(invalid, 422, "invalid_request")
        checked = http.post(f"/v1/blueprints/spaceliftStack/entities?{strict.replace('validation_only=false', 'validation_only=true')}",
                            json=stack_entity("dry-run"))  # fmt: skip
        assert checked.status_code == 201 and ("spaceliftStack", "dry-run") not in port.entities
        taken = http.post("/v1/blueprints/spaceliftStack/entities?upsert=false", json=stack_entity("orphan"))
        error_shape(taken, 409, "conflict")


async def test_search_returns_only_included_fields_and_refuses_a_query_without_combinator(standin) -> None:
    port, url = standin
    async with ocean_client(port, url) as client:
        await install(client)
        with api(port, url) as http:
            entities = [stack_entity(name, branch="main") for name in ("alpha", "beta", "gamma")]
            http.post("/v1/blueprints/spaceliftStack/entities/bulk?create_missing_related_entities=true",
                      json={"entities": entities}).raise_for_status()  # fmt: skip
            error_shape(http.post("/v1/entities/search", json={"rules": []}), 422, "invalid_request")
            error_shape(http.post("/v1/entities/search", json={"combinator": "and", "rules": [{"property": "$identifier", "operator": "between", "value": 1}]}), 422)  # fmt: skip
            assert port.unknown_requests == ["POST /v1/entities/search (search operator 'between' is not supported by the Port stand-in)"]  # fmt: skip
        port.unknown_requests.clear()
        query = {"combinator": "and", "rules": [
            {"property": "$identifier", "operator": "in", "value": ["alpha", "gamma", "nope"]},
            {"property": "$blueprint", "operator": "=", "value": "spaceliftStack"}]}  # fmt: skip
        found = await client.search_entities(UserAgentType.exporter, query, ["blueprint", "identifier", "title", "properties.state"])  # fmt: skip
        assert sorted(e.identifier for e in found) == ["alpha", "gamma"]
        assert all(e.properties == {"state": "FINISHED"} and e.relations == {} and e.title for e in found)
        batch = await client.search_batch_entities(UserAgentType.exporter, found)
        assert sorted(e.identifier for e in batch) == ["alpha", "gamma"]
        assert batch[0].properties == {}  # default include: blueprint and identifier only
    assert port.unknown_requests == []


async def test_datasource_entities_pages_and_filters_by_updated_before(standin, monkeypatch) -> None:
    port, url = standin
    monkeypatch.setattr(entities_mixin, "DATASOURCE_ENTITIES_PAGE_SIZE", 2)
    async with ocean_client(port, url) as client:
        await install(client)
        with api(port, url) as http:
            entities = [stack_entity(f"s{i}") for i in range(5)]
            http.post("/v1/blueprints/spaceliftStack/entities/bulk?create_missing_related_entities=true",
                      json={"entities": entities}).raise_for_status()  # fmt: skip
            body = {"datasource_prefix": "port-ocean/spacelift/", "datasource_suffix": f"/{INTEGRATION}/exporter", "limit": 2}  # fmt: skip
            first = http.post("/v1/blueprints/entities/datasource-entities", json=body).json()
            assert len(first["entities"]) == 2 and first["next"] and set(first["entities"][0]) == {"identifier", "blueprint"}  # fmt: skip
            error_shape(
                http.post("/v1/blueprints/entities/datasource-entities", json={**body, "limit": 5001}), 422
            )
            error_shape(http.post("/v1/blueprints/entities/datasource-entities", json={**body, "before": "yesterday"}), 422)  # fmt: skip
        owned = await client.search_entities(UserAgentType.exporter)  # Ocean follows ``next`` to the end
        assert sorted(e.identifier for e in owned) == [
            f"s{i}" for i in range(5)
        ]  # placeholders are Port's own
        assert await client.search_entities(UserAgentType.exporter, before="2000-01-01T00:00:00+00:00") == []
    assert port.calls["POST /v1/blueprints/entities/datasource-entities"] == 3 + 3 + 1


async def test_bulk_delete_answers_what_it_deleted_and_refuses_over_100(standin) -> None:
    port, url = standin
    async with ocean_client(port, url) as client:
        await install(client)
        with api(port, url) as http:
            http.post("/v1/blueprints/spaceliftStack/entities/bulk?create_missing_related_entities=true",
                      json={"entities": [stack_entity("a"), stack_entity("b")]}).raise_for_status()  # fmt: skip
            error_shape(http.post("/v1/blueprints/spaceliftStack/bulk/entities/delete", json={"entities": [f"x{i}" for i in range(101)]}), 422)  # fmt: skip
            error_shape(
                http.post("/v1/blueprints/spaceliftStack/bulk/entities/delete", json={"ids": ["a"]}), 422
            )
            error_shape(http.post("/v1/blueprints/nope/bulk/entities/delete", json={"entities": ["a"]}), 404)
        deleted = await client._bulk_delete_entities_batch("spaceliftStack", ["a", "gone"], OPTIONS)
    assert deleted == ["a"] and port.deletions == 1
    assert ("spaceliftStack", "a") not in port.entities and ("spaceliftStack", "b") in port.entities


# --- polling, actions --------------------------------------------------------------------------------------


async def test_polling_resync_request(standin) -> None:
    port, url = standin
    async with ocean_client(port, url) as client:
        await install(client)
        assert await client.get_integration_resync_request() == {}
        asked = port.request_resync()
        assert (await client.get_integration_resync_request())["updatedAt"] == asked["updatedAt"]


async def test_action_runs_claim_ack_patch_log_find_and_complete(standin) -> None:
    port, url = standin
    async with ocean_client(port, url) as client:
        await install(client)
        started = port.start_action_run(INTEGRATION, "trigger_run", {"stack": "payments"})
        port.start_action_run("another-integration", "trigger_run", {"stack": "x"})
        runs = await client.claim_pending_runs(limit=10, visibility_timeout_ms=60_000)
        assert [type(r) for r in runs] == [ActionRun] and runs[0].id == started["id"]
        run = runs[0]
        assert run.action_type == "trigger_run" and run.execution_properties == {"stack": "payments"}
        assert (
            await client.claim_pending_runs(limit=10, visibility_timeout_ms=60_000) == []
        )  # claimed: invisible
        await client.acknowledge_run(run)
        with pytest.raises(RunAlreadyAcknowledgedError):
            await client.acknowledge_run(run)
        await client.update_run_started(run, "https://spacelift.example/run/1", external_id="run-1", status_label="Queued")  # fmt: skip
        await client.post_run_log(run, "Triggered run-1", status_label="Triggered")
        found = await client.find_run_by_external_id("run-1")
        assert isinstance(found, ActionRun) and found.id == run.id and client.is_run_in_progress(found)
        assert await client.find_run_by_external_id("no-such-run") is None  # also asks the workflow node runs
        await client.report_run_completed(found, success=True, message="Finished", status_label="Finished")
        after = await client.find_run_by_external_id("run-1")
        assert after is not None and not client.is_run_in_progress(after)
        with pytest.raises(httpx.HTTPStatusError) as ended:
            await client.patch_run(after, {"status": "FAILURE"})
        assert ended.value.response.status_code == 422
        with pytest.raises(httpx.HTTPStatusError) as unknown:
            await client.acknowledge_action_run("r_9999")
        assert unknown.value.response.status_code == 404
    assert started["status"] == "SUCCESS" and started["link"] == "https://spacelift.example/run/1"
    assert started["externalRunId"] == "run-1" and started["statusLabel"] == "Finished"
    assert started["logs"] == ["Triggered run-1", "Finished"]
    assert port.calls["GET /v1/workflows/nodes/runs"] == 1 and port.unknown_requests == []


async def test_a_claimed_run_comes_back_after_its_visibility_timeout(standin) -> None:
    port, url = standin
    async with ocean_client(port, url) as client:
        await install(client)
        port.start_action_run(INTEGRATION, "lock_stack", {"stack": "a"})
        assert len(await client.claim_pending_action_runs(limit=5, visibility_timeout_ms=50)) == 1
        time.sleep(0.1)
        assert len(await client.claim_pending_action_runs(limit=5, visibility_timeout_ms=50)) == 1
        excluded = await client.claim_pending_action_runs(limit=5, visibility_timeout_ms=1, exclude_action_identifiers=["spacelift_lock_stack"])  # fmt: skip
        assert excluded == []


async def test_workflow_node_runs_claim_ack_patch_log_find_and_complete(standin) -> None:
    port, url = standin
    async with ocean_client(port, url) as client:
        await install(client)
        started = port.start_workflow_node_run(INTEGRATION, "trigger_run", {"stack": "payments"})
        runs = await client.claim_pending_runs(limit=10, visibility_timeout_ms=60_000)
        assert [type(r) for r in runs] == [WorkflowNodeRun]
        run = runs[0]
        assert run.id == started["identifier"] and run.action_type == "trigger_run"
        assert (
            run.execution_properties == {"stack": "payments"}
            and run.buffer_utilization_key == "node_trigger_run"
        )
        await client.acknowledge_run(run)
        with pytest.raises(RunAlreadyAcknowledgedError):
            await client.acknowledge_run(run)
        await client.update_run_started(run, "https://spacelift.example/run/7", external_id="run-7", status_label="Queued")  # fmt: skip
        await client.post_run_log(run, "careful", level="WARNING", status_label="Waiting", should_raise=True)
        found = await client.find_run_by_external_id("run-7")  # no action run: the workflow node runs answer
        assert isinstance(found, WorkflowNodeRun) and found.id == run.id and client.is_run_in_progress(found)
        assert found.node is not None and found.node.config.integrationInvocationType == "trigger_run"
        await client.report_run_completed(run, success=False, message="Spacelift said no", status_label="Failed", should_raise=True)  # fmt: skip
        done = await client.find_run_by_external_id("run-7")
        assert done is not None and not client.is_run_in_progress(done)
    assert started["status"] == "COMPLETED" and started["result"] == "FAILED"
    assert started["links"] == ["https://spacelift.example/run/7"] and started["statusLabel"] == {
        "text": "Failed"
    }
    assert started["output"] == {"workflowRunUrl": "https://spacelift.example/run/7"}
    assert started["logs"] == ["careful", "Spacelift said no"] and port.unknown_requests == []


INVALID: list[tuple[str, str, Any, int]] = [
    ("POST", "/v1/auth/access_token", {"clientId": "sandbox-client"}, 422),
    ("POST", "/v1/integration", {"installationAppType": "spacelift"}, 422),
    ("PATCH", "/v1/integration/{id}", {"colour": "blue"}, 422),
    ("PATCH", "/v1/integration/{id}", {"processingMode": "fast"}, 422),
    ("PATCH", "/v1/integration/{id}/config", {"config": {"resources": "all"}}, 422),
    ("PATCH", "/v1/integration/{id}/resync-state", {"status": "done"}, 422),
    ("PATCH", "/v1/integration/nope/resync-state", {"status": "running"}, 404),
    ("POST", "/v1/integration/{id}/kinds/stack/examples", {"example": []}, 422),
    ("POST", "/v1/blueprints", {"identifier": "x", "schema": {"properties": {}}}, 422),
    ("POST", "/v1/blueprints", {"identifier": "x", "title": "X", "schema": {"properties": {"a": {"type": "date"}}}}, 422),
    ("PATCH", "/v1/blueprints/spaceliftStack", {"relations": {"team": {"target": "githubTeam"}}}, 404),
    ("PATCH", "/v1/blueprints/spaceliftStack", {"mirrorProperties": {"m": {"path": "nothing.$title"}}}, 422),
    ("POST", "/v1/actions", {"identifier": "a", "trigger": {"type": "self-service", "operation": "DAY-2", "blueprintIdentifier": "nope"}, "invocationMethod": {"type": "WEBHOOK"}}, 404),
    ("POST", "/v1/actions", {"identifier": "a", "invocationMethod": {"type": "WEBHOOK"}}, 422),
    ("POST", "/v1/blueprints/nope/scorecards", {"identifier": "s", "title": "S", "rules": []}, 404),
    ("POST", "/v1/entities/search", [], 422),
    ("POST", "/v1/actions/runs/claim-pending", {"installationId": "{id}", "visibilityTimeoutMs": 1}, 422),
    ("PATCH", "/v1/actions/runs/ack", {"id": "r_0001"}, 422),
    ("PATCH", "/v1/actions/runs/ack", {"runId": "r_9999"}, 404),
    ("PATCH", "/v1/workflows/runs/ack", {"nodeRunIdentifier": "wfnr_9999"}, 404),
    ("PATCH", "/v1/actions/runs/r_0001", {"status": "DONE"}, 422),
    ("PATCH", "/v1/actions/runs/r_0001", {"state": "SUCCESS"}, 422),
    ("PATCH", "/v1/actions/runs/r_9999", {"status": "SUCCESS"}, 404),
    ("POST", "/v1/actions/runs/r_0001/logs", {"text": "hi"}, 422),
    ("PATCH", "/v1/workflows/nodes/runs/wfnr_0001", {"status": "COMPLETED"}, 422),
    ("PATCH", "/v1/workflows/nodes/runs/wfnr_0001", {"statusLabel": "Done"}, 422),
    ("POST", "/v1/workflows/nodes/runs/wfnr_0001/logs", {"logs": [{"level": "WARNING", "message": "m"}]}, 422),
    ("POST", "/ingest/logs/{id}", {"logs": "a line"}, 422),
    ("POST", "/ingest/logs/nope", {"logs": []}, 404),
    ("POST", "/ingest/metrics/{id}/syncMetrics", {"syncKindMetrics": []}, 422),
    ("PUT", "/ingest/metrics/{id}/syncMetrics/resync/e1/kind/stack-0", {"syncKindMetrics": {"eventId": "e2", "kindIdentifier": "stack-0"}}, 422),
    ("POST", "/ingest/metrics/{id}/heartbeat", {}, 422),
]  # fmt: skip


@pytest.mark.parametrize(
    ("method", "path", "body", "status"), INVALID, ids=[f"{m} {p} {s}" for m, p, _, s in INVALID]
)
async def test_port_refuses_a_bad_body_in_its_error_shape(standin, method, path, body, status) -> None:  # fmt: skip
    port, url = standin
    async with ocean_client(port, url) as client:
        await install(client)
    port.start_action_run(INTEGRATION, "trigger_run", {"stack": "a"})
    port.start_workflow_node_run(INTEGRATION, "trigger_run", {"stack": "a"})
    before = copy.deepcopy((port.integrations, port.blueprints, port.action_runs, port.workflow_node_runs))
    headers = {"x-port-reserved-usage": "true"}
    with api(port, url) as http:
        answer = http.request(method, path.replace("{id}", INTEGRATION), json=body, headers=headers)
    error_shape(answer, status)
    assert (port.integrations, port.blueprints, port.action_runs, port.workflow_node_runs) == before
    assert port.unknown_requests == []


async def test_port_wants_a_token_and_the_reserved_header_where_it_does(standin) -> None:
    port, url = standin
    with httpx.Client(base_url=url) as anonymous:
        error_shape(anonymous.get("/v1/organization"), 401, "unauthorized")
        error_shape(anonymous.get("/v1/organization", headers={"Authorization": "Bearer forged"}), 401)
        error_shape(anonymous.post("/v1/auth/access_token", json={"clientId": "sandbox-client", "clientSecret": "wrong"}), 401)  # fmt: skip
    with api(port, url) as http:
        assert http.get("/v1/organization").json()["organization"]["featureFlags"] == []
        body = {"installationId": INTEGRATION, "limit": 1, "visibilityTimeoutMs": 1000}
        error_shape(http.post("/v1/actions/runs/claim-pending", json=body), 403, "forbidden")
        error_shape(http.get("/v1/workflows/nodes/runs?external_run_id=x"), 403, "forbidden")
        error_shape(http.get("/v1/actions/runs?external_run_id=x"), 422)  # version=v2 is required


# --- unknown requests ---------------------------------------------------------------------------------------


async def test_an_unknown_request_is_recorded_and_answered_404_in_ports_shape(standin) -> None:
    port, url = standin
    with api(port, url) as http:
        kafka = http.get("/v1/kafka-credentials")
        wrong_method = http.delete("/v1/organization")
        old_catch_all = http.post("/ingest/spacelift-test/anything", json={})
        for answer in (kafka, wrong_method, old_catch_all):
            body = error_shape(answer, 404, "not_found")
            assert "does not serve" in body["message"]
        seen = http.get("/_sandbox/unknown").json()
        summary = http.get("/_sandbox/summary").json()
    expected = [
        "GET /v1/kafka-credentials",
        "DELETE /v1/organization",
        "POST /ingest/spacelift-test/anything",
    ]
    assert port.unknown_requests == expected and seen == expected
    assert summary["unknown_requests"] == 3 and port.summary()["unknown_requests"] == 3
    port.restore(port.snapshot())
    assert port.unknown_requests == []


# --- the page for people ---------------------------------------------------------------------------------------


def deployment(i: int, state: str = "FINISHED", title: str | None = None) -> dict[str, Any]:
    return {"identifier": f"run-{i:03d}", "title": title or f"Run {i}", "blueprint": "spaceliftDeployment",
            "properties": {"state": state}, "relations": {"stack": "payments"}}  # fmt: skip


def rows(page_html: str, section_start: str, section_end: str | None = None) -> list[str]:
    start = page_html.index(section_start)
    end = page_html.index(section_end, start) if section_end else len(page_html)
    return re.findall(r"<tr[^>]*>.*?</tr>", page_html[start:end], flags=re.S)[1:]  # without the header row


async def test_the_page_shows_counts_pages_and_what_changed_live_first(standin) -> None:
    port, url = standin
    async with ocean_client(port, url) as client:
        await install(client)
    resync = "create_missing_related_entities=true&merge=true&ocean_info_event_type=resync&ocean_info_resync_id=first"
    webhook = "create_missing_related_entities=true&merge=true&ocean_info_event_type=http_request"
    with api(port, url) as http:
        for start in range(0, 150, 20):
            batch = [deployment(i) for i in range(start, min(start + 20, 150))]
            http.post(f"/v1/blueprints/spaceliftDeployment/entities/bulk?{resync}", json={"entities": batch}).raise_for_status()  # fmt: skip
        http.post(f"/v1/blueprints/spaceliftStack/entities/bulk?{resync}",
                  json={"entities": [stack_entity("payments") | {"relations": {}}]}).raise_for_status()  # fmt: skip
        again = (
            "create_missing_related_entities=true&ocean_info_event_type=resync&ocean_info_resync_id=second"
        )
        http.post(f"/v1/blueprints/spaceliftDeployment/entities/bulk?{again}", json={"entities": [deployment(5)]}).raise_for_status()  # fmt: skip
        assert port.live_changes == {}  # a later resync that changed nothing is not a change
        http.post(f"/v1/blueprints/spaceliftDeployment/entities/bulk?{webhook}",
                  json={"entities": [deployment(120, "UNCONFIRMED", "<script>alert(1)</script>")]}).raise_for_status()  # fmt: skip
        time.sleep(0.01)
        http.post(f"/v1/blueprints/spaceliftDeployment/entities/bulk?{again}", json={"entities": [deployment(7, "FAILED")]}).raise_for_status()  # fmt: skip
        page = http.get("/_sandbox/")
        second = http.get("/_sandbox/?blueprint=spaceliftDeployment&page=2")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    text = page.text
    assert "http-equiv=refresh" in text
    order = [
        text.index(marker)
        for marker in ("<h2>Counts</h2>", "Recently changed", 'id="bp-spaceliftDeployment"')
    ]
    assert order == sorted(order)
    counts = {re.sub(r"<[^>]+>", "", r.split("</td>")[0]): re.findall(r'<td class="n[^"]*">(\d+)</td>', r)
              for r in rows(text, "<h2>Counts</h2>", "Recently changed")}  # fmt: skip
    assert counts["spaceliftDeployment"] == ["150", "0", "150", "0", "0", "2"]
    assert counts["spaceliftStack"][:2] == ["1", "0"] and counts["spaceliftSpace"] == [
        "0",
        "0",
        "0",
        "0",
        "0",
        "0",
    ]
    assert "Unknown requests: 0" in text

    recent = rows(text, "Recently changed", 'id="bp-')
    assert len(recent) == 2
    assert "run-007" in recent[0] and "run-120" in recent[1]  # newest first
    assert all("class=live" in r and "badge" in r for r in recent)
    assert "LIVE · webhook" in recent[1] and "LIVE · later resync" in recent[0]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "<script>" not in text

    table = rows(text, 'id="bp-spaceliftDeployment"', 'id="bp-spaceliftStack"')
    assert "showing 100 of 150" in text and "page 1 of 2" in text
    assert len(table) == 100 and "run-007" in table[0] and "run-120" in table[1] and "class=live" in table[1]
    assert "class=live" not in table[2] and "run-000" in table[2]
    assert "?blueprint=spaceliftDeployment&amp;page=2#bp-spaceliftDeployment" in text
    assert "showing 50 of 150" in second.text and "page 2 of 2" in second.text
    assert len(rows(second.text, 'id="bp-spaceliftDeployment"', 'id="bp-spaceliftStack"')) == 50


# --- the real integration process, on the workflow-node-run endpoints no other suite drives -----------------------


def test_the_real_integration_executes_workflow_node_runs_through_the_stand_in() -> None:
    with ExitStack() as stack:
        stage = start_stage(stack, "small", seed=21)
        stage.spacelift.account.run_step_seconds = 0.3
        extra = {"OCEAN__ACTIONS_PROCESSOR__ENABLED": "true", "OCEAN__ACTIONS_PROCESSOR__POLL_CHECK_INTERVAL_SECONDS": "1",
                 "OCEAN__INTEGRATION__CONFIG__SPACELIFT_RUN_POLL_SECONDS": "1"}  # fmt: skip
        http_port = free_port()
        process = subprocess.Popen([*ocean_command(), "-p", str(http_port)], cwd=ROOT, env=integration_env(stage, "POLLING", extra),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        stack.callback(process.kill)

        def wait(condition: Any, what: str, timeout: float = 90) -> None:
            deadline = time.monotonic() + timeout
            while not condition():
                assert process.poll() is None, f"ocean sail exited ({process.returncode}) waiting for {what}"
                assert time.monotonic() < deadline, f"timed out waiting for {what}"
                time.sleep(0.2)

        wait(lambda: stage.port.summary()["entities"].get("spaceliftStack", 0) > 0, "the first resync")
        account = stage.spacelift.account
        target = next(s for s in account.stacks.values() if not s["lockedBy"] and not s["isDisabled"])
        lock = stage.port.start_workflow_node_run(
            "spacelift-demo", "lock_stack", {"stack": target["id"], "note": "wf"}
        )
        wait(lambda: lock["status"] == "COMPLETED", "the lock node run")
        trigger = stage.port.start_workflow_node_run("spacelift-demo", "trigger_run", {"stack": target["id"]})
        # the run's watcher completes it through find_run_by_external_id: no action run, so the node runs answer
        wait(lambda: trigger["status"] == "COMPLETED", "the trigger node run")
        process.send_signal(signal.SIGINT)
        process.wait(30)
    assert lock["result"] == "SUCCESS" and account.stacks[target["id"]]["lockedBy"], lock["logs"]
    assert trigger["result"] == "SUCCESS" and trigger["externalRunId"], trigger["logs"]
    assert (
        trigger["links"] == [trigger["output"]["workflowRunUrl"]]
        and trigger["externalRunId"] in trigger["links"][0]
    )
    assert (
        stage.port.calls["GET /v1/workflows/nodes/runs"] >= 1
        and stage.port.calls["PATCH /v1/workflows/runs/ack"] == 2
    )
    assert stage.port.unknown_requests == [] and stage.port.rejected == []


async def test_actions_can_be_read_and_replaced_and_clicking_one_routes_by_its_installation(standin) -> None:
    port, url = standin
    async with ocean_client(port, url) as client:
        await install(client)
    with api(port, url) as http:
        action = http.get("/v1/actions/spacelift_trigger_run").json()["action"]
        assert action["invocationMethod"]["installationId"] == "spacelift"  # as actions.json ships it
        moved = {
            **action,
            "invocationMethod": {**action["invocationMethod"], "installationId": "spacelift-prod"},
        }
        assert http.put("/v1/actions/spacelift_trigger_run", json=moved).status_code == 200
        assert (
            http.put("/v1/actions/spacelift_trigger_run", json={**moved, "identifier": "other"}).status_code
            == 422
        )
        assert http.get("/v1/actions/nope").status_code == 404
        assert (
            http.get("/v1/actions/runs", params={"version": "v2", "external_run_id": "x"}).json()["runs"]
            == []
        )
    run = port.click_action("spacelift_trigger_run", {"stack": "s"})
    assert (
        run["payload"]["installationId"] == "spacelift-prod"
        and run["payload"]["integrationActionType"] == "trigger_run"
    )
    assert port.unknown_requests == []
