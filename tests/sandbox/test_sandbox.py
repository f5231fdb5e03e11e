"""The sandbox behaves like Spacelift: auth, both pagination styles, faults, webhooks, validation."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import httpx
import pytest

from sandbox.serving import serving
from sandbox.spacelift import Account, SandboxSettings, SandboxSpacelift, running_sandbox
from sandbox.spacelift.account import RUN_STATES, SECRET_MARK
from sandbox.spacelift.webhooks import signature_headers
from spacelift.client import (
    SpaceliftAuthError,
    SpaceliftForbiddenError,
    SpaceliftPermanentError,
    SpaceliftRateLimitedError,
    SpaceliftTemporaryError,
    run_pages_of_stacks,
    search_pages,
)
from tests.sandbox_helpers import client_for

STACK_IDS = "query StackIds { stacks { id } }"
SEARCH = "query S($input: SearchInput!) {\n  viewer { id }\n  searchStacks(input: $input) { edges { node { id } } pageInfo { endCursor hasNextPage } }\n}"


@pytest.fixture
def sandbox(spacelift_sandbox: tuple[SandboxSpacelift, str]) -> tuple[SandboxSpacelift, str]:
    return spacelift_sandbox


CONTROL = httpx.Client(verify=False, timeout=10)


def control(url: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    target = f"{url}/_sandbox/{path}"
    response = CONTROL.post(target, json=body) if body is not None else CONTROL.get(target)
    response.raise_for_status()
    return response.json()


# --- auth ---------------------------------------------------------------------------------------


async def test_good_key_gets_a_jwt_with_audience_expiry_and_issuer(sandbox) -> None:
    sb, url = sandbox
    client = client_for(url)
    data = await client.execute(STACK_IDS)
    assert len(data["stacks"]) == 12
    jwt = next(iter(sb.tokens))
    claims = json.loads(base64.urlsafe_b64decode(jwt.split(".")[1] + "=="))
    assert claims["aud"] == [url] and claims["iss"] == "api-key" and claims["exp"] > claims["iat"]


async def test_bad_key_is_rejected_with_null_user(sandbox) -> None:
    _, url = sandbox
    with pytest.raises(SpaceliftAuthError, match="did not accept API key"):
        await client_for(url, api_key_secret="wrong").execute(STACK_IDS)


async def test_missing_token_is_unauthorized(sandbox) -> None:
    _, url = sandbox
    response = CONTROL.post(f"{url}/graphql", json={"query": STACK_IDS})
    assert response.json() == {"data": None, "errors": [{"message": "unauthorized"}]}


@pytest.mark.parametrize("behavior", ["empty", "unauthorized", "401"])
async def test_expired_token_behaviours_each_lead_to_one_re_login(behavior) -> None:
    with running_sandbox(
        "small", settings=SandboxSettings(token_ttl_seconds=600, expired_token_behavior=behavior)
    ) as (sb, server):
        client = client_for(server.url)
        pages = [p async for p in search_pages(client, SEARCH, "searchStacks", page_size=50)]
        control(server.url, "clock", {"advance": 3600})  # the JWT (and the client's refresh margin) are past
        client.tokens._valid_until = 10**12  # type: ignore[attr-defined]  # pretend the client missed it
        again = [p async for p in search_pages(client, SEARCH, "searchStacks", page_size=50)]
        assert again == pages and len(pages[0]) == 12
        assert len(sb.tokens) == 2


async def test_expired_token_empty_mode_looks_like_spacelift(sandbox) -> None:
    sb, url = sandbox
    client = client_for(url)
    await client.execute(STACK_IDS)
    control(url, "tokens/expire", {})
    jwt = next(iter(sb.tokens))
    response = CONTROL.post(f"{url}/graphql", json={"query": "{ viewer { id } searchStacks(input: {first: 5}) { edges { node { id } } } }"},
                          headers={"Authorization": f"Bearer {jwt}"})  # fmt: skip
    assert response.json()["data"] == {"viewer": None, "searchStacks": {"edges": []}}


# --- pagination ---------------------------------------------------------------------------------


async def test_search_pagination_crosses_page_boundaries(sandbox) -> None:
    sb, url = sandbox
    pages = [p async for p in search_pages(client_for(url), SEARCH, "searchStacks", page_size=5)]
    assert [len(p) for p in pages] == [5, 5, 2]
    assert [n["id"] for p in pages for n in p] == list(sb.account.stacks)


async def test_search_predicates_filter_server_side(sandbox) -> None:
    sb, url = sandbox
    predicate = {"field": "label", "constraint": {"stringMatches": ["critical"]}}
    pages = [p async for p in search_pages(client_for(url), SEARCH, "searchStacks", page_size=50,
                                            search_input={"predicates": [predicate]})]  # fmt: skip
    expected = [s["id"] for s in sb.account.stacks.values() if "critical" in s["labels"]]
    assert [n["id"] for p in pages for n in p] == expected and expected


async def test_runs_before_pagination_is_newest_first_with_fixed_pages() -> None:
    with running_sandbox("small", runs_page_size=4) as (sb, server):
        stack_id = next(iter(sb.account.stacks))
        pages: list[list[dict[str, Any]]] = []

        def keep_going(_: str, page: list[dict[str, Any]]) -> bool:
            pages.append(page)
            return True

        await run_pages_of_stacks(client_for(server.url), "runs", {stack_id: None}, keep_going)
        total = len(sb.account.tracked_runs(stack_id))
        assert total > 4 and [len(p) for p in pages] == [4] * (total // 4) + (
            [total % 4] if total % 4 else []
        )
        ids = [r["id"] for p in pages for r in p]
        assert ids == [r["id"] for r in sb.account.tracked_runs(stack_id)]
        created = [r["createdAt"] for r in sb.account.tracked_runs(stack_id)]
        assert created == sorted(created, reverse=True)


async def test_misspelled_field_is_a_validation_error(sandbox) -> None:
    _, url = sandbox
    with pytest.raises(SpaceliftPermanentError, match="Cannot query field 'nme' on type 'Stack'"):
        await client_for(url).execute("query Bad { stacks { id nme } }")


async def test_string_variable_for_an_id_argument_is_rejected(sandbox) -> None:
    _, url = sandbox
    with pytest.raises(SpaceliftPermanentError, match="String!.*ID!|ID!.*String!"):
        await client_for(url).execute("query Bad($id: String!) { stack(id: $id) { id } }", {"id": "x"})


# --- faults -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault, error",
    [
        ("500", SpaceliftTemporaryError),
        ("502", SpaceliftTemporaryError),
        ("503", SpaceliftTemporaryError),
        ("429", SpaceliftRateLimitedError),
        ("429_retry_after", SpaceliftRateLimitedError),
        ("rate_limit_error", SpaceliftRateLimitedError),
        ("drop", SpaceliftTemporaryError),
        ("malformed", SpaceliftTemporaryError),
    ],
)
async def test_each_fault_is_seen_by_the_client_as_its_class_and_retried(sandbox, fault, error) -> None:
    sb, url = sandbox
    client = client_for(url, max_retries=0)
    await client.execute(STACK_IDS)  # log in first
    control(url, "faults", {"queue": [fault]})
    with pytest.raises(error):
        await client.execute(STACK_IDS)
    control(url, "faults", {"queue": [fault, fault]})
    retrying = client_for(url, max_retries=2)
    assert len((await retrying.execute(STACK_IDS))["stacks"]) == 12
    assert control(url, "stats")["faults_injected"][fault] == 3


async def test_429_retry_after_header_is_sent(sandbox) -> None:
    _, url = sandbox
    control(url, "faults", {"queue": ["429_retry_after"], "retry_after_seconds": 7})
    response = CONTROL.post(f"{url}/graphql", json={"query": STACK_IDS})
    assert response.status_code == 429 and response.headers["Retry-After"] == "7"


async def test_token_bucket_throttles_bursts(sandbox) -> None:
    _, url = sandbox
    control(url, "faults", {"rate_limit_rps": 0.001, "rate_limit_burst": 3, "rate_limit_mode": "429"})
    statuses = [CONTROL.post(f"{url}/graphql", json={"query": STACK_IDS}).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]


async def test_unauthorized_on_chosen_root_fields(sandbox) -> None:
    sb, url = sandbox
    control(url, "faults", {"unauthorized_fields": ["managedUsers"]})
    client = client_for(url)
    assert len((await client.execute(STACK_IDS))["stacks"]) == 12
    with pytest.raises(SpaceliftForbiddenError, match="ListUsers.*lacks the permission"):
        await client.execute("query ListUsers { managedUsers { id } }")
    assert len(sb.tokens) == 1  # no access is not an expired session: no second login


async def test_latency_is_applied(sandbox) -> None:
    _, url = sandbox
    control(url, "faults", {"latency_ms": 50})
    response = CONTROL.post(f"{url}/graphql", json={"query": STACK_IDS})
    assert response.elapsed.total_seconds() >= 0.045


async def test_unknown_fault_setting_is_refused(sandbox) -> None:
    _, url = sandbox
    response = CONTROL.post(f"{url}/_sandbox/faults", json={"latency": 5})
    assert response.status_code == 400 and "unknown fault setting 'latency'" in response.text


async def test_counters_by_operation_and_root_field(sandbox) -> None:
    _, url = sandbox
    client = client_for(url)
    await client.execute(STACK_IDS)
    await client.execute(STACK_IDS)
    stats = control(url, "stats")
    assert stats["by_operation"] == {"SpaceliftApiKeyUser": 1, "StackIds": 2}
    assert stats["by_root_field"] == {"apiKeyUser": 1, "stacks": 2}


# --- webhooks -----------------------------------------------------------------------------------


async def test_sent_webhooks_verify_with_the_secret(sandbox) -> None:
    sb, url = sandbox
    received: list[tuple[bytes, dict[str, str]]] = []

    async def receiver(scope, receive, send):  # a minimal ASGI endpoint
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        received.append((body, {k.decode(): v.decode() for k, v in scope["headers"]}))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    with serving(receiver) as hook:
        stack_id = next(iter(sb.account.stacks))
        result = control(
            url, "webhooks/run", {"url": f"{hook.url}/webhook", "secret": "hook-secret", "stack": stack_id}
        )
    assert result["status"] == 200
    body, headers = received[0]
    expected256 = "sha256=" + hmac.new(b"hook-secret", body, hashlib.sha256).hexdigest()
    expected1 = "sha1=" + hmac.new(b"hook-secret", body, hashlib.sha1).hexdigest()
    assert headers["x-signature-256"] == expected256 and headers["x-signature"] == expected1
    payload = json.loads(body)
    assert payload["event_type"] == "run_state_changed_event"
    assert payload["run"]["url"] == f"{url}/stack/{stack_id}/run/{payload['run']['id']}"
    assert payload["stack"]["url"] == f"{url}/stack/{stack_id}"
    assert signature_headers(body, "other")["X-Signature-256"] != expected256


# --- the account --------------------------------------------------------------------------------


def test_same_seed_same_account_and_different_seed_differs() -> None:
    def dump(account: Account) -> str:
        stacks = {k: {f: v for f, v in s.items() if not callable(v)} for k, s in account.stacks.items()}
        runs = {k: account.tracked_runs(k) for k in account.stacks}
        return json.dumps([stacks, runs, account.users, account.policies], sort_keys=True, default=str)

    assert dump(Account(7, "small", now=1_800_000_000)) == dump(Account(7, "small", now=1_800_000_000))
    assert dump(Account(7, "small", now=1_800_000_000)) != dump(Account(8, "small", now=1_800_000_000))


def test_small_profile_has_every_feature() -> None:
    a = Account(1, "small")
    stacks = list(a.stacks.values())
    runs = [r for s in stacks for r in a.all_runs(s["id"])]
    assert {r["state"] for r in runs} >= set(RUN_STATES)
    assert {r["type"] for r in runs} >= {"TRACKED", "PROPOSED", "TASK", "DESTROY"}
    for stack in stacks:  # each list holds what Spacelift lists there (tasks apart from tracked runs)
        assert {r["type"] for r in a.tracked_runs(stack["id"])} <= {"TRACKED", "DESTROY"}
        assert {r["type"] for r in a.proposed_runs(stack["id"])} <= {"PROPOSED"}
        assert {r["type"] for r in a.task_runs(stack["id"])} <= {"TASK"}
        assert all(r["command"] for r in a.task_runs(stack["id"]))
    assert any(s["lockedBy"] for s in stacks) and any(s["isDrifted"] for s in stacks)
    assert any(s["administrative"] for s in stacks) and any(s["state"] == "NONE" for s in stacks)
    assert any(s["dependsOn"] for s in stacks) and any(s["attachedPolicies"] for s in stacks)
    assert any(s["attachedContexts"] for s in stacks) and any(s["workerPool"] for s in stacks)
    assert len({s["vendorConfig"]["__typename"] for s in stacks}) == 7
    assert any(r["delta"] is None for r in runs) and any(r["driftDetection"] for r in runs)
    assert any(SECRET_MARK in c["config"][1]["value"] for c in a.contexts.values())
    assert all(a.spaces[s["space"]] for s in stacks)


def test_large_profile_sizes() -> None:
    summary = Account(1, "large").summary()
    assert summary == {"spaces": 200, "stacks": 2000, "policies": 300, "users": 1000, "worker_pools": 101,
                       "contexts": 300, "blueprints": 50, "modules": 200, "templates": 50,
                       "resources": 8032}  # fmt: skip


# --- mutations and the run state machine --------------------------------------------------------


async def test_triggered_run_advances_and_waits_for_confirmation(sandbox) -> None:
    sb, url = sandbox
    client = client_for(url)
    stack_id = next(
        s["id"]
        for s in sb.account.stacks.values()
        if not s["autodeploy"] and not s["lockedBy"] and not s["isDisabled"]
    )
    data = await client.execute(
        "mutation T($stack: ID!) { runTrigger(stack: $stack) { id state } }", {"stack": stack_id}
    )
    run_id = data["runTrigger"]["id"]
    assert data["runTrigger"]["state"] == "QUEUED"
    control(url, "clock", {"advance": 60})
    state = (await client.execute("query G($s: ID!, $r: ID!) { stack(id: $s) { state run(id: $r) { state } } }",
                                  {"s": stack_id, "r": run_id}))["stack"]  # fmt: skip
    assert state == {"state": "UNCONFIRMED", "run": {"state": "UNCONFIRMED"}}
    await client.execute(
        "mutation C($s: ID!, $r: ID) { runConfirm(stack: $s, run: $r) { id } }", {"s": stack_id, "r": run_id}
    )
    control(url, "clock", {"advance": 60})
    assert (sb.account.find_run(stack_id, run_id) or {}).get("state") == "FINISHED"
    assert sb.account.stacks[stack_id]["state"] == "FINISHED"
    with pytest.raises(SpaceliftPermanentError, match="not in a confirmable state"):
        await client.execute(
            "mutation C($s: ID!, $r: ID) { runConfirm(stack: $s, run: $r) { id } }",
            {"s": stack_id, "r": run_id},
        )


async def test_locked_stack_refuses_another_locker(sandbox) -> None:
    sb, url = sandbox
    locked = next(s for s in sb.account.stacks.values() if s["lockedBy"])
    with pytest.raises(SpaceliftPermanentError, match=f"already locked by {locked['lockedBy']}"):
        await client_for(url).execute(
            'mutation L($id: ID!) { stackLock(id: $id, note: "x") { id } }', {"id": locked["id"]}
        )


async def test_unknown_stack_mutation_is_a_clear_error(sandbox) -> None:
    _, url = sandbox
    with pytest.raises(SpaceliftPermanentError, match="stack nope not found"):
        await client_for(url).execute(
            "mutation T($stack: ID!) { runTrigger(stack: $stack) { id } }", {"stack": "nope"}
        )


@pytest.mark.parametrize(
    "switch, error",
    [
        ({"error_rate": 1.0}, SpaceliftTemporaryError),
        ({"drop_rate": 1.0}, SpaceliftTemporaryError),
        ({"malformed_rate": 1.0}, SpaceliftTemporaryError),
        (
            {"rate_limit_rps": 0.001, "rate_limit_burst": 0, "rate_limit_mode": "rate_limit_error"},
            SpaceliftRateLimitedError,
        ),
    ],
)
async def test_probability_switches_inject_faults_until_turned_off(sandbox, switch, error) -> None:
    sb, url = sandbox
    client = client_for(url, max_retries=0)
    await client.execute(STACK_IDS)
    control(url, "faults", switch)
    with pytest.raises(error):
        await client.execute(STACK_IDS)
    control(url, "faults", {key: 0 if key != "rate_limit_mode" else "429" for key in switch})
    assert len((await client.execute(STACK_IDS))["stacks"]) == 12
    assert sum(control(url, "stats")["faults_injected"].values()) == 1


# --- restricted keys ------------------------------------------------------------------------------

LIMITED_KEY, LIMITED_SECRET = "01LIMITEDKEY000000000000000", "limited-secret"


def limited_to(sb: SandboxSpacelift, grants: dict[str, str]) -> None:
    sb.settings.api_keys[LIMITED_KEY] = LIMITED_SECRET
    sb.settings.key_access[LIMITED_KEY] = grants


def a_leaf_space_with_stacks(sb: SandboxSpacelift) -> str:
    parents = {s["parentSpace"] for s in sb.account.spaces.values()}
    return next(s["space"] for s in sb.account.stacks.values() if s["space"] not in parents | {"root"})


async def test_a_limited_key_sees_its_spaces_only_and_lists_are_filtered_not_refused(sandbox) -> None:
    sb, url = sandbox
    space = a_leaf_space_with_stacks(sb)
    limited_to(sb, {space: "READ"})
    client = client_for(url, api_key_id=LIMITED_KEY, api_key_secret=LIMITED_SECRET)
    pages = [p async for p in search_pages(client, SEARCH, "searchStacks", page_size=50)]
    listed = {n["id"] for p in pages for n in p}
    assert listed == {s["id"] for s in sb.account.stacks.values() if s["space"] == space} and listed
    spaces = {s["id"] for s in (await client.execute("query Q { viewer { id } spaces { id } }"))["spaces"]}
    assert space in spaces and "root" in spaces  # the path up to root is shown
    assert spaces < set(sb.account.spaces)
    other = next(s["id"] for s in sb.account.stacks.values() if s["space"] != space)
    found = await client.execute(
        "query G($id: ID!) { viewer { id admin } stack(id: $id) { id } }", {"id": other}
    )
    assert found["stack"] is None and found["viewer"]["admin"] is False  # not readable: null, as Spacelift
    with pytest.raises(SpaceliftForbiddenError):
        await client.execute("query U { viewer { id } managedUsers { id } }")  # users need an admin
    mine = next(iter(listed))
    with pytest.raises(SpaceliftForbiddenError, match="SpaceliftLock.*write access"):
        await client.execute("mutation SpaceliftLock($id: ID!) { stackLock(id: $id) { id } }", {"id": mine})
    assert len(sb.tokens) == 1  # no access is never mistaken for an expired session


async def test_a_field_the_key_may_not_read_is_withheld_and_the_rest_answered(sandbox) -> None:
    sb, url = sandbox
    space = a_leaf_space_with_stacks(sb)
    limited_to(sb, {space: "READ"})
    stack = next(s for s in sb.account.stacks.values() if s["space"] == space)
    elsewhere = next(p for p in sb.account.worker_pools.values() if p["space"] != space)
    stack["workerPool"] = elsewhere
    doc = "query S($input: SearchInput!) { viewer { id } searchStacks(input: $input) { edges { node { id workerPool { id } } } pageInfo { endCursor hasNextPage } } }"
    client = client_for(url, api_key_id=LIMITED_KEY, api_key_secret=LIMITED_SECRET)
    nodes = [n for p in [p async for p in search_pages(client, doc, "searchStacks", page_size=50)] for n in p]
    assert {n["id"]: n["workerPool"] for n in nodes}[stack["id"]] is None
    assert len(nodes) == len([s for s in sb.account.stacks.values() if s["space"] == space])
