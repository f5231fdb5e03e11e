"""Resync cost against the sandbox Spacelift: requests, sequential round trips, time and memory per kind.

Not a test: it prints numbers (a table, then one JSON object as the last line; progress goes to stderr).

    python -m bench.resync [--profile large] [--latency-ms 50] [--no-e2e] [--with-2x] [--integration-dir DIR]

What it measures, in order:

1. **Fetch** (``--profile``, default ``large``): the sandbox in its own process (its memory and CPU are not
   ours) answering every GraphQL request after ``--latency-ms`` (default 50 ms), the way a remote API does.
   The exporters run exactly as the integration runs them: ``Exporters.for_client(client, web_url,
   QueryPlan())``, each kind's ``get_paginated_resources`` with the default selectors (``StackOptions()``,
   ``RunOptions()``: TRACKED runs, 10 per stack, 30-day lookback), consumed through ``read_ahead(rebatch(…),
   DEFAULT_READ_AHEAD_PAGES)`` like ``main.py``'s ``pages()``, kinds one after another like Ocean. Log-in is
   its own row. Per kind: entities, Spacelift requests (deltas of the sandbox's ``/_sandbox/stats``),
   *sequential round trips* and wall seconds. Sequential round trips are the longest chain of requests in
   which each starts after the previous one ended — the part of the wall time no concurrency can hide. The
   client's ``httpx.AsyncClient`` has a transport that records each request's (start, end), the end being
   when its body has been read; the chain is a DP over those intervals. The timing pass runs without
   ``tracemalloc``; a second pass measures the ``tracemalloc`` peak per kind.
2. **N+1 baseline** in the same sandbox: the earlier public attempts' shape (list stacks, then one runs
   request per stack, one at a time, first page only), with our deployment kind's ratios to it.
3. **2x account** (``large2x``): entities, seconds and peak memory per kind again, and the 2x/1x memory ratio
   (target ≤ 1.3: memory should follow page sizes, not the account's size).
4. **Throttling**: a sandbox (``medium``, to stay quick) throttled by a token bucket of 10, then 4 requests/s
   (burst 10; 4 is about half the medium resync's peak rate); a resync of every kind with no cap, then with
   ``max_requests_per_second`` at the sandbox's limit on the client: requests,
   429 answers, their share, seconds.
5. **Incremental runs**: a second sandbox in this process (so the bench can add runs to it), 50 ms latency:
   a full deployment resync, then a new run on 1% of the stacks and ``get_paginated_resources(RunOptions(),
   since=…)`` from a minute before those runs.
6. **End-to-end** (``bench/e2e.py``, skipped with ``--no-e2e``): one real ``ocean sail`` (ONCE) against a
   Spacelift sandbox process and an in-process Port stand-in, both at 50 ms; ``--with-2x`` does it at
   ``large2x`` too (a few minutes more).
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import importlib
import json
import subprocess
import sys
import time
import tracemalloc
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx
from loguru import logger

from sandbox.demo import free_port
from sandbox.spacelift import DEFAULT_KEY_ID, DEFAULT_KEY_SECRET, Faults, running_sandbox
from spacelift.client import SpaceliftClient
from spacelift.exporters import Exporters
from spacelift.exporters.read_ahead import read_ahead, rebatch
from spacelift.graphql import stack_runs_batch_document
from spacelift.options import RunOptions, StackOptions
from spacelift.query_plan import DEFAULT_READ_AHEAD_PAGES, RESYNC_BATCH_ITEMS, QueryPlan
from spacelift.settings import DEFAULT_MAX_CONCURRENT_REQUESTS

Page = list[dict[str, Any]]
Source = Callable[[], AsyncIterator[Page]]
Stats = Callable[[], dict[str, Any]]

PROFILES = ["small", "medium", "large", "large2x"]
MEMORY_RATIO_TARGET = 1.3
# the limit issue 13 names (10 req/s), and one below what a medium resync asks for at its peak (about 8 in a second)
THROTTLE_RPS = (10.0, 4.0)
INCREMENTAL_SHARE = 0.01  # of the stacks that get a new run
INCREMENTAL_SLACK_SECONDS = 60.0  # ``since`` is this long before the new runs


def quiet_and_warm() -> None:
    """Only warnings from the integration's logger (its DEBUG line per request would drown the report), and
    Ocean's log mask imported up front: the client imports it at its first log-in, which in ``ocean sail`` has
    long been imported, and here would add a second of import time to the log-in row."""
    logger.remove()
    logger.add(sys.stderr, level="WARNING")
    importlib.import_module("port_ocean.log.sensetive")


def progress(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- the sandbox in its own process -----------------------------------------------------------------


class SandboxProcess:
    """``python -m sandbox.spacelift`` on a free port; ``stats()`` reads its counters."""

    def __init__(self, profile: str, latency_ms: float, rate_limit_rps: float = 0.0) -> None:
        self.profile = profile
        port = free_port()
        command = [sys.executable, "-m", "sandbox.spacelift", "--profile", profile, "--port", str(port),
                   "--latency-ms", str(latency_ms), "--max-seconds", "3600"]  # fmt: skip
        if rate_limit_rps:
            command += ["--rate-limit-rps", str(rate_limit_rps), "--rate-limit-mode", "429"]
        started = time.monotonic()
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while True:
            try:
                httpx.get(f"{self.url}/_sandbox/stats", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.close()
                    raise RuntimeError(f"the {profile} sandbox did not start") from None
                time.sleep(0.2)
        progress(f"{profile} sandbox up on {self.url} in {time.monotonic() - started:.1f}s")

    def stats(self) -> dict[str, Any]:
        answer: dict[str, Any] = httpx.get(f"{self.url}/_sandbox/stats", timeout=30).json()
        return answer

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


@contextmanager
def sandbox_process(profile: str, latency_ms: float, rate_limit_rps: float = 0.0) -> Iterator[SandboxProcess]:
    sandbox = SandboxProcess(profile, latency_ms, rate_limit_rps)
    try:
        yield sandbox
    finally:
        sandbox.close()


# --- client-side request timings --------------------------------------------------------------------


class _TimedStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, started: float, record: Callable[[float, float], None]):
        self._inner = inner
        self._started = started
        self._record = record
        self._recorded = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            if not self._recorded:
                self._recorded = True
                self._record(self._started, time.perf_counter())


class TimedTransport(httpx.AsyncBaseTransport):
    """``httpx.AsyncHTTPTransport`` that records every request's (start, end); the end is when the client
    has read the body (httpx closes the stream then), or when the request failed."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.intervals: list[tuple[float, float]] = []

    def _record(self, start: float, end: float) -> None:
        self.intervals.append((start, end))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        started = time.perf_counter()
        try:
            response = await self._inner.handle_async_request(request)
        except BaseException:
            self._record(started, time.perf_counter())
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_TimedStream(response.stream, started, self._record),
            extensions=response.extensions,
            request=request,
        )

    async def aclose(self) -> None:
        await self._inner.aclose()


def sequential_round_trips(intervals: list[tuple[float, float]]) -> int:
    """The longest chain of intervals each starting at or after the previous one's end (DP in end order:
    an interval's predecessors all end before it starts, so before it ends)."""
    ordered = sorted(intervals, key=lambda interval: interval[1])
    ends = [end for _, end in ordered]
    best_so_far: list[int] = []  # best_so_far[i]: longest chain among ordered[: i + 1]
    for i, (start, _) in enumerate(ordered):
        before = bisect.bisect_right(ends, start, 0, i)
        chain = 1 + (best_so_far[before - 1] if before else 0)
        best_so_far.append(max(chain, best_so_far[-1] if best_so_far else 0))
    return best_so_far[-1] if best_so_far else 0


def peak_requests_per_second(intervals: list[tuple[float, float]], window: float = 1.0) -> int:
    """The most requests started within any ``window`` seconds."""
    starts = sorted(start for start, _ in intervals)
    return max((bisect.bisect_left(starts, s + window) - i for i, s in enumerate(starts)), default=0)


# --- one pass over the kinds ------------------------------------------------------------------------


@dataclass
class Row:
    kind: str
    entities: int = 0
    requests: int = 0
    round_trips: int = 0
    seconds: float = 0.0
    peak_kib: int | None = None
    statuses: dict[str, int] = field(default_factory=dict)  # sandbox answers by HTTP status (deltas)


def _status_delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, int]:
    old, new = before.get("by_status") or {}, after.get("by_status") or {}
    return {
        code: int(new[code]) - int(old.get(code, 0)) for code in new if int(new[code]) - int(old.get(code, 0))
    }


def integration_pages(source: AsyncIterator[Page]) -> AsyncIterator[Page]:
    """What ``main.py``'s ``pages()`` hands Ocean (minus the failure report, which needs Ocean's context)."""
    return read_ahead(rebatch(source, RESYNC_BATCH_ITEMS), DEFAULT_READ_AHEAD_PAGES)


class Pass:
    """One client (with a timed transport) and the integration's exporters, against one sandbox."""

    def __init__(self, url: str, stats: Stats, *, max_requests_per_second: float | None = None) -> None:
        self.url = url
        self.stats = stats
        self.transport = TimedTransport()
        self.client = SpaceliftClient(
            f"{url}/graphql",
            httpx.AsyncClient(transport=self.transport, timeout=60),
            api_key_id=DEFAULT_KEY_ID,
            api_key_secret=DEFAULT_KEY_SECRET,
            max_concurrent_requests=DEFAULT_MAX_CONCURRENT_REQUESTS,
            max_requests_per_second=max_requests_per_second,
        )
        self.exporters = Exporters.for_client(self.client, url, QueryPlan())

    def sources(self, runs: RunOptions | None = None) -> list[tuple[str, Source]]:
        e, run_options = self.exporters, runs or RunOptions()
        return [
            ("space", lambda: e.space.get_paginated_resources()),
            ("stack", lambda: e.stack.get_paginated_resources(StackOptions())),
            ("deployment", lambda: e.deployment.get_paginated_resources(run_options)),
            ("policy", lambda: e.policy.get_paginated_resources()),
            ("user", lambda: e.user.get_paginated_resources()),
            ("worker-pool", lambda: e.worker_pool.get_paginated_resources()),
            ("context", lambda: e.context.get_paginated_resources()),
            ("blueprint", lambda: e.blueprint.get_paginated_resources()),
            ("template", lambda: e.template.get_paginated_resources()),
            ("module", lambda: e.module.get_paginated_resources()),
            *self.newer_sources(),
        ]

    def newer_sources(self) -> list[tuple[str, Source]]:
        """Kinds being added to the integration as this bench was written (``resource``), measured once they
        are there: looked up by name so the bench runs on checkouts with and without them."""
        exporter: Any = getattr(self.exporters, "resource", None)
        options: Any = getattr(importlib.import_module("spacelift.options"), "ResourceOptions", None)
        if exporter is None or options is None:
            return []
        return [("resource", lambda: exporter.get_paginated_resources(options()))]

    async def login(self) -> Row:
        async def log_in() -> AsyncIterator[Page]:
            await self.client.tokens.get_token()
            return
            yield []  # pragma: no cover - makes this an async generator

        return await self.measure("login", log_in, through_pipeline=False)

    async def measure(
        self, kind: str, source: Source, *, memory: bool = False, through_pipeline: bool = True
    ) -> Row:
        before = self.stats()
        first = len(self.transport.intervals)
        if memory:
            tracemalloc.start()
        started = time.perf_counter()
        entities = 0
        pages = integration_pages(source()) if through_pipeline else source()
        async for page in pages:
            entities += len(page)
        seconds = time.perf_counter() - started
        peak: int | None = None
        if memory:
            peak = tracemalloc.get_traced_memory()[1] // 1024
            tracemalloc.stop()
        after = self.stats()
        return Row(
            kind=kind,
            entities=entities,
            requests=int(after["requests"]) - int(before["requests"]),
            round_trips=sequential_round_trips(self.transport.intervals[first:]),
            seconds=round(seconds, 3),
            peak_kib=peak,
            statuses=_status_delta(before, after),
        )

    async def all_kinds(self, *, memory: bool = False, runs: RunOptions | None = None) -> list[Row]:
        rows = [await self.login()]
        for kind, source in self.sources(runs):
            rows.append(await self.measure(kind, source, memory=memory))
            progress(
                f"  {kind}: {rows[-1].entities} entities, {rows[-1].requests} requests, {rows[-1].seconds}s"
            )
        return rows

    async def aclose(self) -> None:
        await self.client.aclose()


def totals(rows: list[Row]) -> Row:
    statuses: dict[str, int] = {}
    for row in rows:
        for code, count in row.statuses.items():
            statuses[code] = statuses.get(code, 0) + count
    return Row(
        kind="total",
        entities=sum(r.entities for r in rows),
        requests=sum(r.requests for r in rows),
        round_trips=sum(r.round_trips for r in rows),  # kinds run one after another: their chains add up
        seconds=round(sum(r.seconds for r in rows), 3),
        peak_kib=max((r.peak_kib for r in rows if r.peak_kib is not None), default=None),
        statuses=statuses,
    )


async def naive_runs(client: SpaceliftClient, exporters: Exporters) -> AsyncIterator[Page]:
    """The earlier attempts' shape: list stacks, then one runs request per stack, one at a time."""
    one_stack = stack_runs_batch_document("runs", 1)
    async for stacks in exporters.stack.get_paginated_resources(StackOptions()):
        for stack in stacks:
            data = await client.execute(one_stack, {"s0": stack["id"], "b0": None})
            yield (data.get("s0") or {}).get("runs") or []


async def fetch_pass(url: str, stats: Stats, *, memory: bool = False) -> tuple[list[Row], int]:
    """Every kind once: the rows, and the most requests started within one second."""
    run = Pass(url, stats)
    try:
        rows = await run.all_kinds(memory=memory)
    finally:
        await run.aclose()
    return rows, peak_requests_per_second(run.transport.intervals)


async def fetch_seconds(url: str, stats: Stats) -> float:
    """Seconds of one timing pass over every kind, log-in included (for ``bench.e2e``'s fetch share)."""
    return totals((await fetch_pass(url, stats))[0]).seconds


# --- the measurements -------------------------------------------------------------------------------


async def measure_profile(profile: str, latency_ms: float, *, naive: bool) -> dict[str, Any]:
    with sandbox_process(profile, latency_ms) as sandbox:
        progress(f"{profile}: timing pass (no tracemalloc)")
        timing, peak_rps = await fetch_pass(sandbox.url, sandbox.stats)
        result: dict[str, Any] = {"profile": profile, "timing": timing, "peak_rps": peak_rps}
        if naive:
            progress(f"{profile}: naive N+1 runs baseline (one request per stack, one at a time)")
            run = Pass(sandbox.url, sandbox.stats)
            await run.client.tokens.get_token()
            result["naive"] = await run.measure(
                "deployment (naive N+1, 1st page)",
                lambda: naive_runs(run.client, run.exporters),
                through_pipeline=False,
            )
            await run.aclose()
        progress(f"{profile}: memory pass (tracemalloc)")
        result["memory"] = (await fetch_pass(sandbox.url, sandbox.stats, memory=True))[0]
        return result


async def measure_throttling(profile: str, latency_ms: float) -> list[dict[str, Any]]:
    outcomes = []
    for limit in THROTTLE_RPS:
        with sandbox_process(profile, latency_ms, rate_limit_rps=limit) as sandbox:
            for cap in (None, limit):
                time.sleep(10 / limit + 0.5)  # the sandbox's bucket refills (burst 10)
                progress(f"throttling ({profile}, sandbox {limit:g} rps): client cap {cap or 'none'}")
                run = Pass(sandbox.url, sandbox.stats, max_requests_per_second=cap)
                try:
                    total = totals(await run.all_kinds())
                finally:
                    await run.aclose()
                throttled = total.statuses.get("429", 0)
                outcomes.append({
                    "sandbox_rps": limit, "client_cap_rps": cap, "entities": total.entities,
                    "requests": total.requests, "answers_429": throttled,
                    "share_429_pct": round(100 * throttled / max(total.requests, 1), 1),
                    "round_trips": total.round_trips, "seconds": total.seconds,
                    "gate_closures": run.client.gate.closures,
                    "peak_requests_per_second": peak_requests_per_second(run.transport.intervals),
                })  # fmt: skip
    return outcomes


async def measure_incremental(profile: str, latency_ms: float) -> dict[str, Any]:
    with running_sandbox(profile, faults=Faults(latency_ms=latency_ms)) as (sandbox, server):
        progress(f"incremental ({profile}, in-process sandbox): full deployment resync")
        run = Pass(server.url, sandbox.snapshot)
        try:
            await run.client.tokens.get_token()
            deployment = run.exporters.deployment
            full = await run.measure(
                "deployment (full)", lambda: deployment.get_paginated_resources(RunOptions())
            )
            account = sandbox.account
            eligible = [s["id"] for s in account.stacks.values() if not s["isDisabled"] and not s["lockedBy"]]
            count = max(1, round(len(account.stacks) * INCREMENTAL_SHARE))
            chosen = eligible[:: max(1, len(eligible) // count)][:count]
            since = time.time() - INCREMENTAL_SLACK_SECONDS
            new_ids = {
                account.trigger_run(stack_id, None, "TRACKED", "api::bench")["id"] for stack_id in chosen
            }
            progress(f"incremental: a new run on {len(chosen)} of {len(account.stacks)} stacks; since-resync")
            found: list[dict[str, Any]] = []

            async def since_runs() -> AsyncIterator[Page]:
                async for page in deployment.get_paginated_resources(RunOptions(), since=since):
                    found.extend(page)
                    yield page

            incremental = await run.measure("deployment (since)", since_runs)
        finally:
            await run.aclose()
    new_found = sum(1 for item in found if item["id"] in new_ids)
    return {"profile": profile, "stacks": len(account.stacks), "stacks_with_new_run": len(chosen),
            "full": full, "since": incremental, "new_runs_found": new_found,
            "other_runs_found": len(found) - new_found}  # fmt: skip


# --- the report -------------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    return "-" if value is None else str(value)


def print_rows(title: str, rows: list[Row], *, memory: dict[str, Row] | None = None) -> None:
    if title:
        print(f"\n{title}")
    head = f"  {'kind':<34}{'entities':>9}{'requests':>10}{'round trips':>13}{'seconds':>9}"
    print(head + (f"{'peak KiB':>10}" if memory is not None else ""))
    for row in rows:
        line = f"  {row.kind:<34}{row.entities:>9}{row.requests:>10}{row.round_trips:>13}{row.seconds:>9.2f}"
        if memory is not None:
            line += f"{_cell(memory[row.kind].peak_kib if row.kind in memory else row.peak_kib):>10}"
        print(line)


def ratio(numerator: float, denominator: float, digits: int = 2) -> float | None:
    return round(numerator / denominator, digits) if denominator else None


def report(args: argparse.Namespace, one: dict[str, Any], two: dict[str, Any] | None, throttling: list[dict[str, Any]],
           incremental: dict[str, Any], e2e: list[dict[str, Any]]) -> dict[str, Any]:  # fmt: skip
    timing: list[Row] = one["timing"]
    memory = {row.kind: row for row in one["memory"]}
    total = totals(timing)
    print(f"Resync fetch cost: profile {args.profile}, Spacelift sandbox in its own process at {args.latency_ms:g} ms "
          f"per request, default selectors (TRACKED runs, 10 per stack, 30 days), {DEFAULT_MAX_CONCURRENT_REQUESTS} "
          f"concurrent requests; peak KiB from a separate tracemalloc pass")  # fmt: skip
    print_rows(f"1. Fetch per kind ({args.profile})", [*timing, total], memory=memory)
    dominant = max(timing, key=lambda r: r.round_trips)
    print(f"  most sequential round trips: {dominant.kind} ({dominant.round_trips} of {total.round_trips}); "
          f"at most {one['peak_rps']} requests started in any one second")  # fmt: skip

    naive: Row = one["naive"]
    ours = next(r for r in timing if r.kind == "deployment")
    print_rows("2. Deployments: ours vs the naive N+1 (first page per stack only)", [ours, naive])
    vs_naive = {"requests": ratio(ours.requests, naive.requests, 3), "seconds": ratio(ours.seconds, naive.seconds, 3),
                "round_trips": ratio(ours.round_trips, naive.round_trips, 3)}  # fmt: skip
    print(f"  ours/naive: requests {vs_naive['requests']}, seconds {vs_naive['seconds']}, "
          f"round trips {vs_naive['round_trips']}")  # fmt: skip

    summary: dict[str, Any] = {
        "profile": args.profile, "latency_ms": args.latency_ms, "concurrency": DEFAULT_MAX_CONCURRENT_REQUESTS,
        "fetch": {row.kind: _row_json(row, memory.get(row.kind)) for row in timing},
        "fetch_total": {"requests": total.requests, "round_trips": total.round_trips, "seconds": total.seconds,
                        "entities": total.entities, "peak_requests_per_second": one["peak_rps"]},
        "dominant_round_trips_kind": dominant.kind,
        "naive": _row_json(naive, None), "ours_over_naive": vs_naive,
    }  # fmt: skip

    if two is not None:
        memory2 = {row.kind: row for row in two["memory"]}
        timing2 = {row.kind: row for row in two["timing"]}
        print(f"\n3. Memory: {args.profile} vs {two['profile']} (tracemalloc peak per kind; target 2x/1x <= "
              f"{MEMORY_RATIO_TARGET})")  # fmt: skip
        print(f"  {'kind':<14}{'entities 1x':>12}{'entities 2x':>12}{'KiB 1x':>9}{'KiB 2x':>9}{'2x/1x':>7}"
              f"{'s 1x':>7}{'s 2x':>7}  ")  # fmt: skip
        per_kind = {}
        for row in timing:
            if row.kind == "login":
                continue
            m1, m2, t2 = memory[row.kind], memory2[row.kind], timing2[row.kind]
            mem_ratio = ratio(m2.peak_kib or 0, m1.peak_kib or 0)
            flag = "" if mem_ratio is not None and mem_ratio <= MEMORY_RATIO_TARGET else "  over target"
            print(f"  {row.kind:<14}{m1.entities:>12}{m2.entities:>12}{_cell(m1.peak_kib):>9}{_cell(m2.peak_kib):>9}"
                  f"{_cell(mem_ratio):>7}{row.seconds:>7.2f}{t2.seconds:>7.2f}{flag}")  # fmt: skip
            per_kind[row.kind] = {"entities_1x": m1.entities, "entities_2x": m2.entities, "peak_kib_1x": m1.peak_kib,
                                  "peak_kib_2x": m2.peak_kib, "ratio": mem_ratio, "seconds_1x": row.seconds,
                                  "seconds_2x": t2.seconds, "requests_2x": t2.requests,
                                  "round_trips_2x": t2.round_trips}  # fmt: skip
        peak1 = max(r.peak_kib or 0 for r in memory.values())
        peak2 = max(r.peak_kib or 0 for r in memory2.values())
        total2 = totals(two["timing"])
        print(f"  largest peak: {peak1} KiB -> {peak2} KiB (x{ratio(peak2, peak1)}); fetch seconds "
              f"{total.seconds:.2f} -> {total2.seconds:.2f}")  # fmt: skip
        summary["memory_2x"] = {"profile": two["profile"], "per_kind": per_kind, "max_peak_kib_1x": peak1,
                                "max_peak_kib_2x": peak2, "max_peak_ratio": ratio(peak2, peak1),
                                "fetch_seconds_2x": total2.seconds, "fetch_requests_2x": total2.requests,
                                "over_target": [k for k, v in per_kind.items()
                                                if v["ratio"] is None or v["ratio"] > MEMORY_RATIO_TARGET]}  # fmt: skip

    print(f"\n4. Throttling: profile {args.throttle_profile} (kept small so it stays quick), sandbox token bucket "
          f"(burst 10); whole resync incl. log-in")  # fmt: skip
    print(f"  {'sandbox':<10}{'client cap':<14}{'requests':>9}{'429s':>7}{'429 %':>7}{'gate closed':>13}{'peak req/s':>12}"
          f"{'seconds':>9}")  # fmt: skip
    for outcome in throttling:
        cap = f"{outcome['client_cap_rps']:g} req/s" if outcome["client_cap_rps"] else "none"
        print(f"  {outcome['sandbox_rps']:<4g}req/s {cap:<14}{outcome['requests']:>9}{outcome['answers_429']:>7}{outcome['share_429_pct']:>7}"
              f"{outcome['gate_closures']:>13}{outcome['peak_requests_per_second']:>12}{outcome['seconds']:>9.2f}")  # fmt: skip
    summary["throttling"] = {
        "profile": args.throttle_profile,
        "runs": throttling,
    }

    print(f"\n5. Incremental deployments: profile {incremental['profile']}, in-process sandbox at {args.latency_ms:g} ms; "
          f"a new run on {incremental['stacks_with_new_run']} of {incremental['stacks']} stacks, "
          f"since = {INCREMENTAL_SLACK_SECONDS:g} s before them")  # fmt: skip
    print_rows("", [incremental["full"], incremental["since"]])
    print(f"  since-resync found {incremental['new_runs_found']} new runs and {incremental['other_runs_found']} "
          f"others (older runs updated inside the window)")  # fmt: skip
    full, since = incremental["full"], incremental["since"]
    summary["incremental"] = {
        "profile": incremental["profile"], "stacks_with_new_run": incremental["stacks_with_new_run"],
        "full": _row_json(full, None), "since": _row_json(since, None),
        "new_runs_found": incremental["new_runs_found"], "other_runs_found": incremental["other_runs_found"],
        "since_over_full": {"requests": ratio(since.requests, full.requests, 3),
                            "seconds": ratio(since.seconds, full.seconds, 3)},
    }  # fmt: skip

    if e2e:
        from bench.e2e import print_e2e

        print_e2e(e2e)
        summary["e2e"] = e2e
    return summary


def _row_json(row: Row, memory: Row | None) -> dict[str, Any]:
    data = asdict(row)
    data.pop("kind")
    if memory is not None:
        data["peak_kib"] = memory.peak_kib
    if not data["statuses"] or set(data["statuses"]) == {"200"}:
        data.pop("statuses")
    return data


async def run(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any] | None, list[dict[str, Any]],
                                                 dict[str, Any]]:  # fmt: skip
    one = await measure_profile(args.profile, args.latency_ms, naive=True)
    two = None
    if args.double_profile != "none":
        two = await measure_profile(args.double_profile, args.latency_ms, naive=False)
    throttling = await measure_throttling(args.throttle_profile, args.latency_ms)
    incremental = await measure_incremental(args.profile, args.latency_ms)
    return one, two, throttling, incremental


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.resync",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--profile", default="large", choices=PROFILES)
    parser.add_argument("--double-profile", default="large2x", choices=[*PROFILES, "none"],
                        help="the account twice as big, for the memory ratio (none: skip)")  # fmt: skip
    parser.add_argument("--throttle-profile", default="medium", choices=PROFILES)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--no-e2e", action="store_true", help="skip the end-to-end ocean sail (bench/e2e.py)")
    parser.add_argument("--with-2x", action="store_true", help="also run the end-to-end at large2x (minutes)")
    parser.add_argument(
        "--integration-dir", default=None, help="the checkout ocean sail runs (default: this one)"
    )
    args = parser.parse_args(argv)
    quiet_and_warm()
    started = time.monotonic()
    one, two, throttling, incremental = asyncio.run(run(args))
    e2e: list[dict[str, Any]] = []
    if not args.no_e2e:
        from bench.e2e import run_e2e

        fetch_by_profile = {args.profile: totals(one["timing"]).seconds}
        if two is not None:
            fetch_by_profile[two["profile"]] = totals(two["timing"]).seconds
        profiles = [args.profile] + (["large2x"] if args.with_2x and args.profile != "large2x" else [])
        for profile in profiles:
            e2e.append(run_e2e(profile, args.latency_ms, args.integration_dir, fetch_by_profile.get(profile)))
    summary = report(args, one, two, throttling, incremental, e2e)
    summary["bench_seconds"] = round(time.monotonic() - started, 1)
    print(f"\nbench took {summary['bench_seconds']:.0f} s")
    print(json.dumps(summary, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
