"""SpaceliftClient: every row of the retry/error table, auth refresh, pagination, secrecy."""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any, cast

import httpx
import pytest
import respx
from loguru import logger

from spacelift.client import (
    SpaceliftAuthError,
    SpaceliftClient,
    SpaceliftForbiddenError,
    SpaceliftPermanentError,
    SpaceliftQueryTooLargeError,
    SpaceliftRateLimitedError,
    SpaceliftTemporaryError,
    run_pages_of_stacks,
    search_pages,
)
from spacelift.client.pagination import require_session_check
from spacelift.client.retry_policy import BackoffPolicy, parse_retry_after
from spacelift.client.throttle import ThrottleGate

URL = "https://acme.app.spacelift.io/graphql"
KEY_ID = "01HXKEYID0000000000000000"
KEY_SECRET = "s3cr3t-key-value-that-must-never-leak"
JWT_PREFIX = "jwt-token-value-"
STACKS_DOC = "query ListStacks { stacks { id } }"
NO_WAIT = BackoffPolicy(base_delay=0.0, max_delay=0.0, max_retry_after=0.01, jitter_ratio=0.0)


def gql(
    data: Any = None, errors: list[dict[str, Any]] | None = None, status: int = 200, **kw: Any
) -> httpx.Response:
    body: dict[str, Any] = {"data": data}
    if errors is not None:
        body["errors"] = errors
    return httpx.Response(status, json=body, **kw)


class FakeSpacelift:
    """A respx side effect: answers apiKeyUser itself and hands other operations to a queue."""

    def __init__(self, valid_for: int = 3600) -> None:
        self.exchanges = 0
        self.valid_for = valid_for
        self.queue: list[httpx.Response | Callable[[httpx.Request], httpx.Response]] = []
        self.default: httpx.Response | None = gql({"stacks": [{"id": "s1"}]})
        self.requests: list[dict[str, Any]] = []
        self.dead: set[str] = set()  # tokens whose session has ended: viewer answers null for them
        self.all_dead = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.requests.append({"body": body, "auth": request.headers.get("Authorization")})
        if body["operationName"] == "SpaceliftApiKeyUser":
            self.exchanges += 1
            return gql(
                {
                    "apiKeyUser": {
                        "id": KEY_ID,
                        "jwt": f"{JWT_PREFIX}{self.exchanges}",
                        "validUntil": int(time.time()) + self.valid_for,
                    }
                }
            )
        if body["operationName"] == "SpaceliftViewer":  # spacectl's session check
            token = (request.headers.get("Authorization") or "").removeprefix("Bearer ")
            alive = not self.all_dead and token not in self.dead
            return gql({"viewer": {"id": "api::key", "name": "key"} if alive else None})
        if self.queue:
            item = self.queue.pop(0)
            return item(request) if callable(item) else item
        assert self.default is not None
        return self.default

    @property
    def operations(self) -> list[str]:
        return [r["body"]["operationName"] for r in self.requests]


@pytest.fixture
def fake() -> FakeSpacelift:
    return FakeSpacelift()


@pytest.fixture
def mock_api(fake: FakeSpacelift):
    with respx.mock(assert_all_called=False) as router:
        router.post(URL).mock(side_effect=fake)
        yield router


def make_client(max_retries: int = 2, **kw: Any) -> SpaceliftClient:
    kw.setdefault("api_key_id", KEY_ID)
    kw.setdefault("api_key_secret", KEY_SECRET)
    kw.setdefault("backoff", NO_WAIT)
    return SpaceliftClient(URL, httpx.AsyncClient(), max_retries=max_retries, **kw)


# --- the retry / error table -------------------------------------------------------------------


@pytest.mark.parametrize(
    "response, error",
    [
        (httpx.Response(500, text="boom"), SpaceliftTemporaryError),
        (httpx.Response(502, text="bad gateway"), SpaceliftTemporaryError),
        (httpx.Response(503, text="unavailable"), SpaceliftTemporaryError),
        (httpx.Response(504, text="timeout"), SpaceliftTemporaryError),
        (httpx.Response(429, text="slow down"), SpaceliftRateLimitedError),
        (gql(None, [{"message": "rate limit exceeded"}]), SpaceliftRateLimitedError),
        (httpx.Response(200, text="<html>not json"), SpaceliftTemporaryError),
        (httpx.Response(200, text="[1, 2]"), SpaceliftTemporaryError),
    ],
)
async def test_retryable_failures_are_retried_then_succeed(mock_api, fake, response, error) -> None:
    fake.queue = [response, response]
    client = make_client(max_retries=2)
    assert await client.execute(STACKS_DOC) == {"stacks": [{"id": "s1"}]}
    assert fake.operations.count("ListStacks") == 3


@pytest.mark.parametrize(
    "response, error",
    [
        (httpx.Response(500, text="boom"), SpaceliftTemporaryError),
        (httpx.Response(429, text="slow down"), SpaceliftRateLimitedError),
        (gql(None, [{"message": "rate limit exceeded"}]), SpaceliftRateLimitedError),
        (httpx.Response(200, text="{not json"), SpaceliftTemporaryError),
    ],
)
async def test_retryable_failures_give_up_after_max_retries(mock_api, fake, response, error) -> None:
    fake.queue = [response] * 5
    client = make_client(max_retries=2)
    with pytest.raises(error) as caught:
        await client.execute(STACKS_DOC)
    assert fake.operations.count("ListStacks") == 3
    assert "ListStacks" in str(caught.value)


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(400, json={"errors": [{"message": 'Cannot query field "nme" on type "Stack".'}]}),
        httpx.Response(404, text="not here"),
        httpx.Response(501, text="not implemented"),
        gql(None, [{"message": 'Cannot query field "nme" on type "Stack".'}]),
        gql({"stacks": None}, [{"message": "internal resolver failure"}]),
    ],
)
async def test_permanent_errors_are_not_retried(mock_api, fake, response) -> None:
    fake.queue = [response] * 3
    client = make_client()
    with pytest.raises(SpaceliftPermanentError):
        await client.execute(STACKS_DOC)
    assert fake.operations.count("ListStacks") == 1


async def test_connection_errors_and_timeouts_are_temporary(fake) -> None:
    calls = {"n": 0}

    def flaky(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if body["operationName"] != "SpaceliftApiKeyUser":
            calls["n"] += 1
            if calls["n"] == 1:
                raise httpx.ConnectError("connection refused")
            if calls["n"] == 2:
                raise httpx.ReadTimeout("read timed out")
        return fake(request)

    with respx.mock() as router:
        router.post(URL).mock(side_effect=flaky)
        assert await make_client(max_retries=2).execute(STACKS_DOC) == {"stacks": [{"id": "s1"}]}
        with pytest.raises(SpaceliftTemporaryError, match="connection failed"):
            calls["n"] = 0
            await make_client(max_retries=0).execute(STACKS_DOC)


async def test_graphql_errors_beside_data_fail_unless_only_not_found(mock_api, fake) -> None:
    fake.queue = [gql({"stack": None}, [{"message": "stack not found"}])]
    assert await make_client().execute(STACKS_DOC) == {"stack": None}
    fake.queue = [gql({"stacks": [{"id": "a"}]}, [{"message": "field labels: internal error"}])]
    with pytest.raises(SpaceliftPermanentError, match="internal error"):
        await make_client().execute(STACKS_DOC)


async def test_response_without_data_is_temporary(mock_api, fake) -> None:
    fake.queue = [httpx.Response(200, json={"something": "else"})] * 3
    with pytest.raises(SpaceliftTemporaryError, match="without data"):
        await make_client(max_retries=2).execute(STACKS_DOC)


# --- Retry-After --------------------------------------------------------------------------------


def test_retry_after_seconds_and_http_date() -> None:
    now = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("7", now) == 7.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now) == 30.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=30), usegmt=True), now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


def test_backoff_is_exponential_capped_and_honours_retry_after() -> None:
    policy = BackoffPolicy(base_delay=1.0, max_delay=8.0, max_retry_after=60.0, jitter_ratio=0.0)
    assert [policy.delay(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 8.0, 8.0]
    assert policy.delay(1, retry_after=12.0) == 12.0
    assert policy.delay(1, retry_after=3600.0) == 60.0  # capped
    jittered = BackoffPolicy(base_delay=1.0, jitter_ratio=0.2)
    assert all(0.8 <= jittered.delay(1) <= 1.2 for _ in range(50))


class FakeClock:
    """A monotonic clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))
        self.now += seconds


def with_fake_gate(client: SpaceliftClient, **kw: Any) -> FakeClock:
    clock = FakeClock()
    client.gate = ThrottleGate(clock=clock, sleep=clock.sleep, **kw)
    return clock


@pytest.mark.parametrize(
    "retry_after, expected",
    [("2", 2.0), ("Wed, 21 Oct 2099 07:28:00 GMT", 120.0), (None, None)],
)
async def test_rate_limited_wait_uses_retry_after(mock_api, fake, retry_after, expected) -> None:
    headers = {"Retry-After": retry_after} if retry_after else {}
    fake.queue = [httpx.Response(429, text="rate limit exceeded", headers=headers)]
    policy = BackoffPolicy(base_delay=0.25, max_delay=10.0, max_retry_after=120.0, jitter_ratio=0.0)
    client = SpaceliftClient(
        URL, httpx.AsyncClient(), api_key_id=KEY_ID, api_key_secret=KEY_SECRET, backoff=policy
    )
    clock = with_fake_gate(client)
    await client.execute(STACKS_DOC)
    assert clock.slept == [expected if expected is not None else 0.25]
    assert client.gate.closures == 1


async def test_graphql_rate_limit_error_honours_retry_after_header(mock_api, fake) -> None:
    fake.queue = [gql(None, [{"message": "rate limit exceeded"}], headers={"Retry-After": "3"})]
    client = make_client()
    clock = with_fake_gate(client)
    await client.execute(STACKS_DOC)
    assert clock.slept == [0.01]  # NO_WAIT caps Retry-After at 0.01 s: the header was read, then capped


async def test_one_throttled_answer_makes_every_request_wait(fake) -> None:
    """The shared gate: requests that were not throttled themselves do not go out while it is closed."""
    sent_at: list[tuple[str, float]] = []
    throttled = {"done": False}

    async def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if body["operationName"] == "ListStacks":
            sent_at.append((body["variables"].get("n", "?"), time.monotonic()))
            if not throttled["done"]:
                throttled["done"] = True
                return httpx.Response(429, text="rate limit exceeded", headers={"Retry-After": "0.3"})
            await asyncio.sleep(0.01)
        return fake(request)

    with respx.mock() as router:
        router.post(URL).mock(side_effect=answer)
        client = make_client(backoff=BackoffPolicy(max_retry_after=0.3))
        await client.execute(STACKS_DOC, {"n": "first"})  # logs in; throttled once, retried
        assert client.gate.closures == 1
        throttled["done"] = False
        first = asyncio.create_task(client.execute(STACKS_DOC, {"n": "first"}))
        deadline = time.monotonic() + 10
        while client.gate.closures < 2:  # wait for that request's 429 to close the gate
            assert time.monotonic() < deadline, "the throttled answer never arrived"
            await asyncio.sleep(0.005)
        reopens_at = time.monotonic() + client.gate.seconds_closed()
        await asyncio.gather(first, *(client.execute(STACKS_DOC, {"n": f"other{i}"}) for i in range(5)))
    others = [at for n, at in sent_at if n.startswith("other")]
    assert len(others) == 5 and min(others) >= reopens_at - 0.01  # they waited for the gate to reopen


async def test_throttle_gate_waits_and_caps_requests_per_second() -> None:
    clock = FakeClock()
    gate = ThrottleGate(clock=clock, sleep=clock.sleep)
    await gate.wait()
    assert clock.slept == []
    gate.close_for(2.0)
    gate.close_for(0.5)  # a shorter closure never reopens the gate early
    assert gate.seconds_closed() == 2.0
    await gate.wait()
    assert clock.slept == [2.0] and gate.seconds_closed() == 0.0
    capped = ThrottleGate(max_requests_per_second=5)
    started = time.monotonic()
    for _ in range(15):
        await capped.wait()
    assert time.monotonic() - started >= 1.5  # 5 at once (the bucket), then 5 per second


async def test_retries_stop_at_the_request_budget(mock_api, fake) -> None:
    fake.queue = [httpx.Response(503, text="busy")] * 20
    client = make_client(max_retries=10, backoff=BackoffPolicy(base_delay=0.05, max_delay=0.05,
                                                               jitter_ratio=0.0, request_budget_seconds=0.12))  # fmt: skip
    with pytest.raises(SpaceliftTemporaryError, match=r"gave up after \d attempts"):
        await client.execute(STACKS_DOC)
    assert 2 <= fake.operations.count("ListStacks") <= 4  # the budget, not the 11 attempts, ended it


async def test_a_query_spacelift_finds_too_large_is_its_own_error(mock_api, fake) -> None:
    fake.queue = [
        gql(None, [{"message": "Selection set has 260 selections, which exceeds the maximum allowed size"}])
    ]
    with pytest.raises(SpaceliftQueryTooLargeError, match="too large"):
        await make_client().execute(STACKS_DOC)
    assert fake.operations.count("ListStacks") == 1


# --- authentication -----------------------------------------------------------------------------


async def test_api_key_is_exchanged_once_and_sent_as_bearer(mock_api, fake) -> None:
    client = make_client()
    await client.execute(STACKS_DOC)
    await client.execute(STACKS_DOC)
    assert fake.exchanges == 1
    exchange = fake.requests[0]
    assert exchange["body"]["variables"] == {"id": KEY_ID, "secret": KEY_SECRET}
    assert exchange["auth"] is None
    assert fake.requests[1]["auth"] == f"Bearer {JWT_PREFIX}1"


async def test_token_is_refreshed_ahead_of_valid_until(mock_api, fake) -> None:
    fake.valid_for = 30  # inside the 60 s refresh margin: every call finds it stale
    client = make_client()
    await client.execute(STACKS_DOC)
    await client.execute(STACKS_DOC)
    assert fake.exchanges == 2
    assert fake.requests[-1]["auth"] == f"Bearer {JWT_PREFIX}2"


async def test_fifty_concurrent_calls_with_stale_token_exchange_once(mock_api, fake) -> None:
    client = make_client()
    results = await asyncio.gather(*(client.execute(STACKS_DOC) for _ in range(50)))
    assert len(results) == 50
    assert fake.exchanges == 1


async def test_fifty_concurrent_401s_cause_one_re_exchange(mock_api, fake) -> None:
    client = make_client()
    await client.execute(STACKS_DOC)

    def reject_old(request: httpx.Request) -> httpx.Response:
        if request.headers["Authorization"].endswith("1"):
            return httpx.Response(401, text="expired")
        return gql({"stacks": []})

    fake.queue = [reject_old] * 100
    await asyncio.gather(*(client.execute(STACKS_DOC) for _ in range(50)))
    assert fake.exchanges == 2


@pytest.mark.parametrize(
    "rejection",
    [
        httpx.Response(401, text="token expired"),
        gql(None, [{"message": "unauthorized"}]),
        gql({"viewer": None, "stacks": []}),
    ],
)
async def test_a_dead_session_re_authenticates_once_and_re_reads(mock_api, fake, rejection) -> None:
    fake.dead = {f"{JWT_PREFIX}1"}
    fake.queue = [rejection]
    client = make_client()
    assert await client.execute(STACKS_DOC) == {"stacks": [{"id": "s1"}]}
    assert fake.exchanges == 2
    assert fake.operations.count("ListStacks") == 2


async def test_unauthorized_with_a_live_session_is_no_access_not_a_re_login(mock_api, fake) -> None:
    fake.queue = [gql(None, [{"message": "unauthorized"}])]
    with pytest.raises(SpaceliftForbiddenError, match="ListStacks.*lacks the permission"):
        await make_client().execute(STACKS_DOC)
    assert fake.exchanges == 1
    assert fake.operations == ["SpaceliftApiKeyUser", "ListStacks", "SpaceliftViewer"]


async def test_unauthorized_beside_a_live_viewer_needs_no_extra_check(mock_api, fake) -> None:
    fake.queue = [gql({"viewer": {"id": "api::key"}, "stacks": None}, [{"message": "unauthorized"}])]
    with pytest.raises(SpaceliftForbiddenError):
        await make_client().execute(STACKS_DOC)
    assert fake.operations == ["SpaceliftApiKeyUser", "ListStacks"]


async def test_second_rejection_is_an_auth_error_not_a_loop(mock_api, fake) -> None:
    fake.all_dead = True
    fake.queue = [gql(None, [{"message": "unauthorized"}])] * 10
    with pytest.raises(SpaceliftAuthError, match=f"API key {KEY_ID}.*ListStacks"):
        await make_client().execute(STACKS_DOC)
    assert fake.exchanges == 2
    assert fake.operations.count("ListStacks") == 2


async def test_unknown_key_or_wrong_secret_is_one_clear_auth_error_remembered(fake) -> None:
    with respx.mock() as router:
        route = router.post(URL).mock(return_value=gql({"apiKeyUser": None}))
        client = make_client()
        with pytest.raises(SpaceliftAuthError, match="did not accept API key 01HXKEYID.*secret"):
            await client.execute(STACKS_DOC)
        for _ in range(8):  # the other kinds of the resync: same reason, no further request
            with pytest.raises(SpaceliftAuthError, match="did not accept API key"):
                await client.execute(STACKS_DOC)
        assert route.call_count == 1


async def test_static_token_is_used_as_is_and_never_exchanged(mock_api, fake) -> None:
    client = make_client(api_key_id=None, api_key_secret=None, api_token="ready-made-token-abc")
    await client.execute(STACKS_DOC)
    assert fake.exchanges == 0
    assert fake.requests[0]["auth"] == "Bearer ready-made-token-abc"
    fake.queue = [httpx.Response(401, text="expired")]
    with pytest.raises(SpaceliftAuthError, match="SPACELIFT_API_TOKEN.*expired"):
        await client.execute(STACKS_DOC)


async def test_operation_name_is_sent_in_a_header(mock_api, fake) -> None:
    seen: list[str] = []

    def capture(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("Spacelift-GraphQL-Query", ""))
        return gql({"stacks": []})

    fake.queue = [capture]
    await make_client().execute(STACKS_DOC)
    assert seen == ["ListStacks"]


async def test_concurrency_is_bounded(fake) -> None:
    in_flight = {"now": 0, "max": 0}

    async def slow(request: httpx.Request) -> httpx.Response:
        in_flight["now"] += 1
        in_flight["max"] = max(in_flight["max"], in_flight["now"])
        await asyncio.sleep(0.01)
        in_flight["now"] -= 1
        return fake(request)

    with respx.mock() as router:
        router.post(URL).mock(side_effect=slow)
        client = make_client(max_concurrent_requests=3)
        await asyncio.gather(*(client.execute(STACKS_DOC) for _ in range(20)))
    assert in_flight["max"] == 3


# --- pagination ---------------------------------------------------------------------------------

SEARCH_DOC = """query SearchStacks($input: SearchInput!) {
  viewer { id }
  searchStacks(input: $input) { edges { node { id } } pageInfo { endCursor hasNextPage } }
}"""
VIEWER = {"id": "api::key"}
EXPIRED_PAGE = {
    "viewer": None,
    "searchStacks": {"edges": [], "pageInfo": {"endCursor": None, "hasNextPage": False}},
}


def paged(ids: list[str], expire_on_call: int | None = None) -> Callable[[httpx.Request], httpx.Response]:
    """A searchStacks over ``ids``; call number ``expire_on_call`` (1-based) gets the expired-session answer."""
    calls = {"n": 0}

    def page(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == expire_on_call:
            return gql(EXPIRED_PAGE)
        variables = json.loads(request.content)["variables"]["input"]
        start = int(variables["after"] or 0)
        chunk = ids[start : start + variables["first"]]
        end = start + len(chunk)
        return gql(
            {
                "viewer": VIEWER,
                "searchStacks": {
                    "edges": [{"node": {"id": i}} for i in chunk],
                    "pageInfo": {"endCursor": str(end), "hasNextPage": end < len(ids)},
                },
            }
        )

    return page


async def test_search_pages_follows_cursors_across_pages(mock_api, fake) -> None:
    fake.queue = [paged([f"s{i}" for i in range(7)])] * 10
    pages = [p async for p in search_pages(make_client(), SEARCH_DOC, "searchStacks", page_size=3)]
    assert [[n["id"] for n in p] for p in pages] == [["s0", "s1", "s2"], ["s3", "s4", "s5"], ["s6"]]
    assert fake.operations.count("SearchStacks") == 3  # the viewer rides along: no extra request


@pytest.mark.parametrize("expired_call", [1, 2, 3])
async def test_an_expired_session_on_any_page_re_logs_in_and_re_reads_that_page(
    mock_api, fake, expired_call
) -> None:
    fake.queue = [paged([f"s{i}" for i in range(7)], expire_on_call=expired_call)] * 10
    pages = [p async for p in search_pages(make_client(), SEARCH_DOC, "searchStacks", page_size=3)]
    assert [n["id"] for p in pages for n in p] == [f"s{i}" for i in range(7)]  # nothing cut short
    assert fake.exchanges == 2 and fake.operations.count("SearchStacks") == 4


async def test_a_page_that_cannot_be_confirmed_fails_the_listing(mock_api, fake) -> None:
    fake.queue = [paged([f"s{i}" for i in range(7)]), gql(EXPIRED_PAGE), gql(EXPIRED_PAGE)]
    pages: list[Any] = []
    with pytest.raises(SpaceliftAuthError, match="viewer is null"):
        async for page in search_pages(make_client(), SEARCH_DOC, "searchStacks", page_size=3):
            pages.append(page)
    assert len(pages) == 1  # what came before the failure was handed on; the caller's kind now fails


async def test_search_pages_truly_empty_account_yields_nothing(mock_api, fake) -> None:
    fake.queue = [paged([])]
    assert [p async for p in search_pages(make_client(), SEARCH_DOC, "searchStacks", page_size=50)] == []
    assert fake.exchanges == 1 and fake.operations.count("SearchStacks") == 1


def test_listing_documents_must_select_the_viewer() -> None:
    with pytest.raises(ValueError, match="viewer"):
        require_session_check("query Q { spaces { id } }")
    assert require_session_check(SEARCH_DOC) == SEARCH_DOC


async def test_search_pages_refuses_a_repeated_cursor(mock_api, fake) -> None:
    loop = gql(
        {
            "viewer": VIEWER,
            "searchStacks": {
                "edges": [{"node": {"id": "s"}}],
                "pageInfo": {"endCursor": "same", "hasNextPage": True},
            },
        }
    )
    fake.queue = [loop] * 5
    with pytest.raises(SpaceliftTemporaryError, match="repeated cursor"):
        async for _ in search_pages(make_client(), SEARCH_DOC, "searchStacks", page_size=1):
            pass


async def test_run_pages_of_stacks_walks_histories_several_stacks_per_request(mock_api, fake) -> None:
    histories: dict[str, list[str] | None] = {
        "a": [f"a{i:02d}" for i in range(25, 0, -1)],
        "b": ["b3", "b2", "b1"],
        "gone": None,
    }

    def page(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        variables = body["variables"]
        if body["operationName"] == "StackExists":
            gone = histories[variables["id"]] is None
            return gql({"viewer": VIEWER, "stack": None if gone else {"id": variables["id"]}})
        data: dict[str, Any] = {"viewer": VIEWER}
        for n in range(len(variables) // 2):
            history, before = histories[variables[f"s{n}"]], variables[f"b{n}"]
            if history is None:
                data[f"s{n}"] = None
                continue
            start = history.index(before) + 1 if before else 0
            data[f"s{n}"] = {"runs": [{"id": r} for r in history[start : start + 10]]}
        return gql(data)

    fake.queue = [page] * 10
    seen: dict[str, list[str]] = {"a": [], "b": [], "gone": []}

    def keep_going(stack_id: str, runs: list[dict[str, Any]]) -> bool:
        seen[stack_id] += [r["id"] for r in runs]
        return True

    befores: dict[str, str | None] = {"a": None, "b": None, "gone": None}
    await run_pages_of_stacks(make_client(), "runs", befores, keep_going, stacks_per_request=2)
    assert seen == {"a": histories["a"], "b": histories["b"], "gone": []}
    batches = [
        r["body"]["variables"] for r in fake.requests if r["body"]["operationName"] == "StackRunsBatch"
    ]
    # round 1: {a, b} + {gone}; round 2: {a, b}; round 3: {a}; round 4: {a} answers empty
    assert [sorted(v[k] for k in v if k.startswith("s")) for v in batches] == [
        ["a", "b"], ["gone"], ["a", "b"], ["a"], ["a"]]  # fmt: skip
    assert [v["b0"] for v in batches if v["s0"] == "a"] == [None, "a16", "a06", "a01"]
    assert fake.operations.count("StackExists") == 1  # the null stack was asked about once, then dropped


async def test_a_stack_answered_null_that_exists_is_read_again(mock_api, fake) -> None:
    answers: Iterator[dict[str, Any]] = iter([{"s0": None}, {"s0": {"runs": [{"id": "r2"}, {"id": "r1"}]}}])

    def page(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if body["operationName"] == "StackExists":
            return gql({"viewer": VIEWER, "stack": {"id": "s"}})
        return gql({"viewer": VIEWER, **next(answers)})

    fake.queue = [page] * 5
    seen: list[str] = []

    def keep_going(stack_id: str, runs: list[dict[str, Any]]) -> bool:
        seen.extend(r["id"] for r in runs)
        return False

    await run_pages_of_stacks(make_client(), "runs", {"s": None}, keep_going)
    assert seen == ["r2", "r1"]


async def test_a_stack_answered_null_twice_although_it_exists_fails_the_walk(mock_api, fake) -> None:
    def page(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if body["operationName"] == "StackExists":
            return gql({"viewer": VIEWER, "stack": {"id": "s"}})
        return gql({"viewer": VIEWER, "s0": None})

    fake.queue = [page] * 10
    with pytest.raises(SpaceliftTemporaryError, match="keeps answering stack s's runs with null"):
        await run_pages_of_stacks(make_client(), "runs", {"s": None}, lambda s, runs: True)


@pytest.mark.parametrize(
    "error, falls_back",
    [("Selection set has 41 selections, which exceeds the maximum allowed size", True),
     ("Cannot query field \"runz\" on type \"Stack\".", False)],
)  # fmt: skip
async def test_only_a_too_large_batch_falls_back_to_smaller_batches(
    mock_api, fake, error, falls_back
) -> None:
    def page(request: httpx.Request) -> httpx.Response:
        variables = json.loads(request.content)["variables"]
        if len(variables) > 2:
            return gql(None, [{"message": error}])
        return gql({"viewer": VIEWER, "s0": {"runs": []}})

    fake.queue = [page] * 10
    walk = run_pages_of_stacks(make_client(), "runs", {"a": None, "b": None, "c": None}, lambda s, r: True)
    if falls_back:
        await walk
        sizes = [
            (len(r["body"]["variables"]) // 2)
            for r in fake.requests
            if r["body"]["operationName"] == "StackRunsBatch"
        ]
        assert sizes == [
            3,
            3,
            2,
            1,
            1,
            1,
            1,
        ]  # ten, then five, then two per request: refused; then one: accepted
    else:
        with pytest.raises(SpaceliftPermanentError):
            await walk
        assert fake.operations.count("StackRunsBatch") == 1  # no 40 more requests that fail the same way


async def test_run_pages_of_stacks_stops_where_the_caller_says(mock_api, fake) -> None:
    fake.queue = [gql({"viewer": VIEWER, "s0": {"runs": [{"id": "r3"}, {"id": "r2"}]}})]
    calls: list[int] = []

    def keep_going(stack_id: str, runs: list[dict[str, Any]]) -> bool:
        calls.append(len(runs))
        return False

    await run_pages_of_stacks(make_client(), "runs", {"s": None}, keep_going)
    assert calls == [2] and fake.operations.count("StackRunsBatch") == 1


# --- secrets ------------------------------------------------------------------------------------


async def test_secrets_never_reach_logs_or_exceptions(mock_api, fake) -> None:
    sink = io.StringIO()
    handler = logger.add(sink, level="DEBUG", format="{message}")
    try:
        echo = httpx.Response(500, text=f"upstream echoed {KEY_SECRET} and {JWT_PREFIX}1")
        fake.all_dead = True
        fake.queue = [echo] * 3 + [gql(None, [{"message": "unauthorized"}])] * 4
        client = make_client(max_retries=2)
        with pytest.raises(SpaceliftTemporaryError) as temporary:
            await client.execute(STACKS_DOC)
        with pytest.raises(SpaceliftAuthError) as auth:
            await client.execute(STACKS_DOC)
    finally:
        logger.remove(handler)
    captured = sink.getvalue() + str(temporary.value) + str(auth.value)
    assert "ListStacks" in captured
    assert KEY_SECRET not in captured
    assert f"{JWT_PREFIX}1" not in captured and f"{JWT_PREFIX}2" not in captured
    assert "[REDACTED]" in str(temporary.value)


async def test_error_bodies_are_truncated_to_500_characters(mock_api, fake) -> None:
    fake.queue = [httpx.Response(404, text="x" * 5000)]
    with pytest.raises(SpaceliftPermanentError) as caught:
        await make_client().execute(STACKS_DOC)
    assert caught.value.status == 404
    assert "x" * 500 in str(caught.value) and "x" * 501 not in str(caught.value)
    assert "4500 more characters" in str(caught.value)


async def test_read_ahead_fetches_while_the_consumer_works_and_keeps_errors_in_order() -> None:
    from spacelift.exporters.read_ahead import read_ahead

    fetched: list[int] = []

    async def pages() -> AsyncIterator[int]:
        for n in range(5):
            fetched.append(n)
            yield n
        raise SpaceliftTemporaryError("page 5 failed")

    consumed: list[int] = []
    with pytest.raises(SpaceliftTemporaryError, match="page 5 failed"):
        async for page in read_ahead(pages(), depth=2):
            await asyncio.sleep(0.01)  # the consumer's work (Ocean's mapping and Port writes)
            consumed.append(page)
            if page == 0:
                assert len(fetched) >= 2  # fetched ahead while page 0 was being worked on
            assert (
                len(fetched) - len(consumed) <= 3
            )  # bounded: never more than depth pages waiting (+1 in hand)
    assert consumed == [0, 1, 2, 3, 4]  # every page before the failure, then the failure


async def test_read_ahead_stops_its_reader_when_the_consumer_stops_early() -> None:
    from spacelift.exporters.read_ahead import read_ahead

    closed = asyncio.Event()

    async def endless() -> AsyncIterator[int]:
        n = 0
        try:
            while True:
                yield n
                n += 1
        finally:
            closed.set()

    reader = cast(AsyncGenerator[int, None], read_ahead(endless(), depth=3))
    async for page in reader:
        if page == 2:
            break
    await reader.aclose()
    await asyncio.wait_for(closed.wait(), 5)
