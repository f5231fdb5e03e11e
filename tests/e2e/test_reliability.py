"""Nothing is lost when Spacelift misbehaves: real ``ocean sail`` resyncs through an independent fault proxy.

Every test starts from the Port state a clean resync left (restored from a snapshot), breaks one thing
between the integration and the sandbox with ``sandbox.fault_proxy``, runs a second resync, and checks
Port: the same entities and no deletion, or the kind failed loudly (exit 1, one summary line) and kept
its entities.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import pytest

from sandbox.demo import Stage, run_once, start_stage
from sandbox.fault_proxy import FaultPlan, Rule

NOW = int(time.time()) // 3600 * 3600  # one account for the whole module, whatever the clock does
# small pages, so every listing has later pages to break (12 stacks: 3 pages; run histories: 2+ pages)
SMALL_PAGES = {"OCEAN__INTEGRATION__CONFIG__SPACELIFT_PAGE_SIZE": "4"}
# (operation, call, read in pages): with the default query plan stacks, policies, contexts, modules and
# worker pools come in one request each; with unpaginated lists off they come in search pages
EVERY_LISTING = [
    ("ListStacks", 1, False),  # stack kind, the whole list
    ("SearchStacks", 2, True),  # … or a later page of it
    ("SearchStacks", 3, True),
    ("SearchStackRuns", 2, False),  # deployment kind: the stack pages with their newest runs
    ("StackRunsBatch", 1, False),  # deeper run histories, many stacks per request
    ("StackRunsBatch", 2, False),
    ("ListSpaces", 1, False),
    ("ListPolicies", 1, False),
    ("SearchPolicies", 2, True),
    ("ListManagedUsers", 1, False),
    ("ListWorkerPools", 1, False),
    ("SearchWorkerPools", 1, True),
    ("GetPublicWorkerPool", 1, False),
    ("ListContexts", 1, False),
    ("SearchContexts", 2, True),
    ("SearchBlueprints", 1, False),
    ("ListModules", 1, False),
    ("SearchModules", 1, True),
    ("SearchTemplates", 1, False),
    ("ListStacksWithResources", 1, False),  # resource kind: the stacks that manage resources
    ("SearchStacksWithResources", 2, True),
    ("StackEntitiesBatch", 1, False),  # … and their resources, many stacks per request
]
PAGED = {"OCEAN__INTEGRATION__CONFIG__SPACELIFT_UNPAGINATED_LISTS": "false"}


@dataclass
class Clean:
    stage: Stage
    port_state: dict[str, Any]
    entities: set[tuple[str, str]]
    calls: dict[str, int]  # per operation, in a clean resync with the default plan
    paged_calls: dict[str, int]  # the same with unpaginated lists off


def landed(stage: Stage) -> set[tuple[str, str]]:
    return {key for key, entity in stage.port.entities.items() if not entity.get("stub")}


@pytest.fixture(scope="module")
def clean() -> Iterator[Clean]:
    with ExitStack() as stack:
        stage = start_stage(stack, "small", seed=21, fault_proxy=True, now=NOW, runs_page_size=3)
        assert stage.proxy is not None
        code, _, output = run_once(stage, extra_env={**SMALL_PAGES, **PAGED})
        assert code == 0, output[-3000:]
        paged_calls = dict(stage.proxy.calls)
        stage.proxy.calls.clear()
        code, _, output = run_once(stage, extra_env=SMALL_PAGES)
        assert code == 0, output[-3000:]
        yield Clean(stage, stage.port.snapshot(), landed(stage), dict(stage.proxy.calls), paged_calls)


def second_resync(clean: Clean, plan: FaultPlan, extra_env: dict[str, str] | None = None) -> tuple[int, str]:
    stage = clean.stage
    assert stage.proxy is not None
    stage.port.restore(clean.port_state)
    stage.proxy.set_plan(plan)
    code, _, output = run_once(stage, extra_env={**SMALL_PAGES, **(extra_env or {})})
    return code, output


def test_the_clean_resync_reads_every_listing_on_several_pages(clean: Clean) -> None:
    for operation, call, paged in EVERY_LISTING:
        calls = clean.paged_calls if paged else clean.calls
        assert calls.get(operation, 0) >= call, (operation, calls)
    assert len(clean.entities) > 100


@pytest.mark.parametrize("operation, call, paged", EVERY_LISTING)
def test_an_expired_session_on_any_page_loses_nothing(
    clean: Clean, operation: str, call: int, paged: bool
) -> None:
    code, output = second_resync(
        clean, FaultPlan([Rule(operation, call, "expired")]), PAGED if paged else None
    )
    assert code == 0, output[-3000:]
    assert clean.stage.proxy is not None and clean.stage.proxy.applied  # the fault did happen
    assert clean.stage.port.deletions == 0
    assert landed(clean.stage) == clean.entities
    assert "logging in again and re-reading" in output


@pytest.mark.parametrize("operation", ["StackRunsBatch", "StackEntitiesBatch"])
def test_a_stack_answered_null_in_a_batch_loses_nothing(clean: Clean, operation: str) -> None:
    code, output = second_resync(clean, FaultPlan([Rule(operation, 1, "null_alias", "s2")]))
    assert code == 0, output[-3000:]
    assert clean.stage.port.deletions == 0
    assert landed(clean.stage) == clean.entities
    assert "reading again" in output


@pytest.mark.parametrize(
    "operation, call, kind",
    [("SearchStacks", 2, "stack"), ("StackRunsBatch", 1, "deployment"), ("ListManagedUsers", 1, "user")],
)
def test_unauthorized_on_a_page_fails_that_kind_loudly_and_keeps_its_entities(
    clean: Clean, operation: str, call: int, kind: str
) -> None:
    code, output = second_resync(clean, FaultPlan([Rule(operation, call, "unauthorized")]), PAGED)
    assert code == 1, output[-3000:]
    assert clean.stage.port.deletions == 0
    assert landed(clean.stage) == clean.entities
    summary = [line for line in output.splitlines() if "Spacelift resync failed" in line]
    assert len(summary) == 1 and f"{kind}:" in summary[0] and "lacks the permission" in summary[0]
    assert "Traceback" not in output


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_a_seeded_chaos_mix_gives_the_clean_result(clean: Clean, seed: int) -> None:
    mix = {"5xx": 0.05, "429": 0.05, "drop": 0.02, "truncate": 0.02}
    code, output = second_resync(clean, FaultPlan(mix=mix, seed=seed))
    assert code == 0, output[-3000:]
    assert clean.stage.port.deletions == 0
    assert landed(clean.stage) == clean.entities
    assert "Traceback" not in output  # recovered faults are one WARNING line each, never an ERROR trace
    recovered = [line for line in output.splitlines() if "| ERROR" in line]
    assert recovered == []


def test_a_persistent_failure_exits_non_zero_and_deletes_nothing(clean: Clean) -> None:
    plan = FaultPlan([Rule("ListPolicies", 0, "503")])
    code, output = second_resync(clean, plan, {"OCEAN__INTEGRATION__CONFIG__SPACELIFT_MAX_RETRIES": "1"})
    assert code == 1, output[-3000:]
    assert clean.stage.port.deletions == 0
    assert landed(clean.stage) == clean.entities
    assert (
        "policy: Spacelift ListPolicies returned HTTP 503" in output and "gave up after 2 attempts" in output
    )


def test_entities_port_rejects_fail_the_resync(clean: Clean) -> None:
    """A user narrowed a blueprint in Port: the entities it now refuses make the resync fail, visibly."""
    stage = clean.stage
    stage.port.restore(clean.port_state)
    state = stage.port.blueprints["spaceliftStack"]["schema"]["properties"]["state"]
    state["enum"] = ["FINISHED"]
    for (blueprint, _), entity in stage.port.entities.items():  # stale in Port, so Ocean writes them again
        if blueprint == "spaceliftStack" and not entity.get("stub"):
            entity["properties"]["state"] = "FINISHED"
    snapshot = stage.port.snapshot()
    stage.port.restore(clean.port_state)
    code, output = second_resync(
        Clean(stage, snapshot, clean.entities, clean.calls, clean.paged_calls), FaultPlan()
    )
    assert code == 1, output[-3000:]
    rejected = {entity["identifier"] for entity in stage.port.rejected}
    assert rejected and all(key in clean.entities for key in (("spaceliftStack", i) for i in rejected))
    summary = [line for line in output.splitlines() if "Spacelift resync failed" in line]
    assert len(summary) == 1 and f"Port rejected {len(rejected)} entities" in summary[0]


def test_a_wrong_key_is_one_clear_line_and_exit_2_before_anything_else(clean: Clean) -> None:
    code, output = second_resync(
        clean, FaultPlan(), {"OCEAN__INTEGRATION__CONFIG__SPACELIFT_API_KEY_SECRET": "not-the-secret"}
    )
    assert code == 2
    assert "Traceback" not in output
    assert clean.stage.port.deletions == 0 and landed(clean.stage) == clean.entities
    lines = [line for line in output.splitlines() if "did not accept API key" in line]
    assert len(lines) == 1 and lines[0].startswith("configuration error:")
    assert "not-the-secret" not in output
    assert clean.stage.proxy is not None and clean.stage.proxy.calls["SpaceliftApiKeyUser"] == 1
    assert (
        clean.stage.port.calls["POST /v1/blueprints/{bp}/entities/bulk"] == 0
    )  # it stopped before the resync
