"""Resync cost against the sandbox's ``large`` account: requests, time and memory per kind.

Not a test: it prints numbers. The sandbox runs in its own process (so its memory is not counted) with
a fixed per-request latency, the way a remote API behaves. Compares our run fetching (runs inline with
stack pages, deeper pages only where needed) with the per-stack N+1 the earlier attempts used.

    python -m bench.resync [--profile large] [--latency-ms 20] [--concurrency 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
import tracemalloc
from typing import Any

import httpx

from sandbox.demo import free_port
from sandbox.spacelift import DEFAULT_KEY_ID, DEFAULT_KEY_SECRET
from spacelift.client import SpaceliftClient
from spacelift.exporters import Exporters
from spacelift.graphql import document, stack_runs_batch_document
from spacelift.options import RunOptions, StackOptions
from spacelift.query_plan import QueryPlan


def start_sandbox(profile: str, latency_ms: float) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox.spacelift", "--profile", profile, "--port", str(port),
         "--latency-ms", str(latency_ms), "--max-seconds", "1800"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/_sandbox/stats", timeout=1)
            return process, url
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("sandbox did not start")


def requests_made(url: str) -> int:
    return int(httpx.get(f"{url}/_sandbox/stats").json()["requests"])


async def measure(name: str, url: str, produce: Any) -> dict[str, Any]:
    before = requests_made(url)
    tracemalloc.start()
    started = time.perf_counter()
    items = pages = 0
    async for page in produce():
        items += len(page)
        pages += 1
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"kind": name, "items": items, "batches": pages, "requests": requests_made(url) - before,
            "seconds": round(seconds, 2), "peak_kib": peak // 1024}  # fmt: skip


async def naive_runs(client: SpaceliftClient, exporters: Exporters) -> Any:
    """The earlier attempts' shape: list stacks, then one runs request per stack, one at a time."""
    one_stack = stack_runs_batch_document("runs", 1)
    async for stacks in exporters.stack.get_paginated_resources(StackOptions()):
        for stack in stacks:
            data = await client.execute(one_stack, {"s0": stack["id"], "b0": None})
            yield (data.get("s0") or {}).get("runs") or []


async def run(args: argparse.Namespace) -> dict[str, Any]:
    process, url = start_sandbox(args.profile, args.latency_ms)
    try:
        client = SpaceliftClient(f"{url}/graphql", httpx.AsyncClient(timeout=60), api_key_id=DEFAULT_KEY_ID,
                                 api_key_secret=DEFAULT_KEY_SECRET, max_concurrent_requests=args.concurrency)  # fmt: skip
        exporters = Exporters.for_client(client, url, QueryPlan())
        await client.execute(document("viewer"))  # log in outside the measurements
        runs = RunOptions(max_runs_per_stack=args.max_runs, lookback_days=3650)
        rows = [
            await measure("space", url, exporters.space.get_paginated_resources),
            await measure("stack", url, lambda: exporters.stack.get_paginated_resources(StackOptions())),
            await measure("deployment", url, lambda: exporters.deployment.get_paginated_resources(runs)),
            await measure("policy", url, exporters.policy.get_paginated_resources),
            await measure("user", url, exporters.user.get_paginated_resources),
            await measure("worker-pool", url, exporters.worker_pool.get_paginated_resources),
            await measure("context", url, exporters.context.get_paginated_resources),
            await measure("blueprint", url, exporters.blueprint.get_paginated_resources),
            await measure("module", url, exporters.module.get_paginated_resources),
        ]
        naive = await measure(
            "deployment (naive N+1, first page only)", url, lambda: naive_runs(client, exporters)
        )
        await client.aclose()
        return {"rows": rows, "naive": naive}
    finally:
        process.terminate()
        process.wait(30)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.resync", description=__doc__)
    parser.add_argument("--profile", default="large", choices=["small", "medium", "large", "large2x"])
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--max-runs", type=int, default=10, help="maxRunsPerStack for the deployment kind")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    rows, naive = result["rows"], result["naive"]
    print(f"profile={args.profile} latency={args.latency_ms}ms concurrency={args.concurrency}")
    print(f"{'kind':<42}{'items':>8}{'batches':>9}{'requests':>10}{'seconds':>9}{'peak KiB':>10}")
    for row in [*rows, naive]:
        print(
            f"{row['kind']:<42}{row['items']:>8}{row['batches']:>9}{row['requests']:>10}{row['seconds']:>9}{row['peak_kib']:>10}"
        )
    ours = next(r for r in rows if r["kind"] == "deployment")
    total = {
        "requests": sum(r["requests"] for r in rows),
        "seconds": round(sum(r["seconds"] for r in rows), 2),
    }
    summary = {
        "profile": args.profile, "latency_ms": args.latency_ms, "concurrency": args.concurrency,
        "total_requests": total["requests"], "total_seconds": total["seconds"],
        "deployment_requests": ours["requests"], "naive_requests": naive["requests"],
        "naive_over_ours_requests": round(naive["requests"] / max(ours["requests"], 1), 2),
        "naive_over_ours_seconds": round(naive["seconds"] / max(ours["seconds"], 0.001), 2),
        "max_peak_kib": max(r["peak_kib"] for r in rows),
    }  # fmt: skip
    print(json.dumps(summary, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
