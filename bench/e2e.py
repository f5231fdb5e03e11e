"""End-to-end resync cost: one real ``ocean sail`` (ONCE) against the stand-ins, timed and weighed.

    python -m bench.e2e [--profile large] [--latency-ms 50] [--integration-dir DIR] [--with-2x]
                        [--fetch-seconds S] [--env KEY=VALUE ...]

The Spacelift sandbox runs in its own process and the Port stand-in (``SandboxPort``) in this one, both
answering after ``--latency-ms`` (50 ms), as remote services do. ``ocean sail`` runs once with the demo's
environment (``sandbox.demo.integration_env``). Printed: exit code, seconds, entities that landed in Port
(and whether they match the account), Spacelift requests (the sandbox's counter), peak RSS of the ``ocean``
process and of its whole process tree (``VmRSS`` of the process and its children, sampled every 0.2 s; the
tree sum counts pages that forked JQ workers share with their parent more than once, so it is an upper
bound), and the fetch share: the seconds a fetch-only pass over every kind takes (``bench.resync``, same
profile and latency) divided by the ``ocean sail`` seconds — how much of the resync is Spacelift and how much
is Ocean and Port. Standalone, the fetch-only pass runs on the same sandbox after ``ocean sail`` (or pass
``--fetch-seconds``); ``make bench`` hands over the one it measured. ``--with-2x`` runs ``large2x`` too and
prints the 2x/1x RSS ratio (a few minutes more).

A/B another checkout of the integration: ``--integration-dir`` is the directory ``ocean sail .`` runs in (it
loads that checkout's ``main.py`` and ``spacelift`` package), with this checkout's virtualenv, stand-ins and
measurements, e.g.::

    git worktree add /tmp/spacelift-before <older commit>
    python -m bench.e2e --integration-dir /tmp/spacelift-before
    python -m bench.e2e                                  # this checkout, the same stand-ins and figures

``--env KEY=VALUE`` adds to the integration's environment (e.g. ``SPACELIFT_MAX_CONCURRENT_REQUESTS=20``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any, cast

import httpx
import psutil

from bench.resync import PROFILES, SandboxProcess, fetch_seconds, progress, quiet_and_warm, ratio
from sandbox.demo import EXPECTED, ROOT, Stage, free_port, integration_env, ocean_command
from sandbox.port.server import SandboxPort
from sandbox.serving import BackgroundServer
from sandbox.spacelift import SandboxSpacelift

SAMPLE_SECONDS = 0.2
SAIL_TIMEOUT = 1800.0


def vm_rss_kib(pid: int) -> int:
    """``VmRSS`` of one process in KiB (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


class RssSampler(threading.Thread):
    """Peak ``VmRSS`` of a process and of its process tree, sampled every ``SAMPLE_SECONDS``."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_main_kib = 0
        self.peak_tree_kib = 0
        self.most_children = 0
        self._stop = threading.Event()

    def run(self) -> None:
        try:
            process = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self._stop.is_set():
            try:
                children = [child.pid for child in process.children(recursive=True)]
            except psutil.Error:
                break
            main = vm_rss_kib(self.pid)
            tree = main + sum(vm_rss_kib(pid) for pid in children)
            self.peak_main_kib = max(self.peak_main_kib, main)
            self.peak_tree_kib = max(self.peak_tree_kib, tree)
            self.most_children = max(self.most_children, len(children))
            self._stop.wait(SAMPLE_SECONDS)

    def stop(self) -> None:
        self._stop.set()
        self.join(5)


def run_e2e(
    profile: str,
    latency_ms: float = 50.0,
    integration_dir: str | None = None,
    fetch_only_seconds: float | None = None,
    extra_env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One ``ocean sail`` resync of ``profile``; the figures ``print_e2e`` shows."""
    cwd = Path(integration_dir or ROOT).resolve()
    progress(f"e2e {profile}: ocean sail (ONCE) in {cwd}")
    with ExitStack() as stack:
        sandbox = SandboxProcess(profile, latency_ms)
        stack.callback(sandbox.close)
        port = SandboxPort()
        port.latency_ms = latency_ms
        port_server = BackgroundServer(port.app).start()
        stack.callback(port_server.stop)
        port.base_url = port_server.url
        # integration_env reads only the addresses and Port's credentials from the stage
        stage = Stage(cast(SandboxSpacelift, None), sandbox.url, port, port_server.url)
        env = integration_env(stage, "ONCE", extra_env)
        before = sandbox.stats()
        log = Path(tempfile.mkdtemp(prefix="bench-e2e-")) / f"ocean-sail-{profile}.log"
        started = time.monotonic()
        with open(log, "w") as output:
            process = subprocess.Popen([*ocean_command(), "-p", str(free_port())], cwd=cwd, env=env,
                                       stdout=output, stderr=subprocess.STDOUT)  # fmt: skip
            sampler = RssSampler(process.pid)
            sampler.start()
            try:
                code = process.wait(SAIL_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                code = process.wait(30)
            finally:
                sampler.stop()
        seconds = time.monotonic() - started
        after = sandbox.stats()
        landed = port.summary()
        expected = httpx.get(f"{sandbox.url}/_sandbox/summary", timeout=30).json()
        progress(f"e2e {profile}: exit {code} in {seconds:.1f}s (log {log})")
        if code != 0:
            tail = log.read_text(errors="replace").splitlines()[-20:]
            progress("ocean sail's last lines:\n    " + "\n    ".join(tail))
        if fetch_only_seconds is None:
            progress(f"e2e {profile}: fetch-only pass on the same sandbox, for the fetch share")
            fetch_only_seconds = asyncio.run(fetch_seconds(sandbox.url, sandbox.stats))
    entities: dict[str, int] = landed["entities"]
    mismatched = {bp: {"expected": expected[key], "landed": entities.get(bp, 0)}
                  for bp, key in EXPECTED.items() if entities.get(bp, 0) != expected[key]}  # fmt: skip
    return {
        "profile": profile,
        "integration_dir": str(cwd),
        "latency_ms": latency_ms,
        "exit_code": code,
        "ok": code == 0
        and not mismatched
        and not landed["rejected"]
        and entities.get("spaceliftDeployment", 0) > 0,
        "seconds": round(seconds, 1),
        "entities": sum(entities.values()),
        "deployments": entities.get("spaceliftDeployment", 0),
        "mismatched": mismatched,
        "rejected": landed["rejected"],
        "spacelift_requests": int(after["requests"]) - int(before["requests"]),
        "peak_rss_mib": round(sampler.peak_main_kib / 1024, 1),
        "peak_tree_rss_mib": round(sampler.peak_tree_kib / 1024, 1),
        "most_child_processes": sampler.most_children,
        "fetch_only_seconds": round(fetch_only_seconds, 2),
        "fetch_share": ratio(fetch_only_seconds, seconds, 3),
        "log": str(log),
    }


def print_e2e(results: list[dict[str, Any]]) -> None:
    latency = results[0]["latency_ms"] if results else 50.0
    where = results[0]["integration_dir"] if results else "-"
    print(f"\n6. End-to-end: ocean sail (ONCE) in {where}; Spacelift sandbox process + in-process Port stand-in, "
          f"both at {latency:g} ms")  # fmt: skip
    print(f"  {'profile':<10}{'exit':>5}{'seconds':>9}{'entities':>10}{'SL requests':>13}{'RSS MiB':>9}"
          f"{'tree RSS MiB':>14}{'fetch s':>9}{'fetch share':>13}")  # fmt: skip
    for r in results:
        print(f"  {r['profile']:<10}{r['exit_code']:>5}{r['seconds']:>9.1f}{r['entities']:>10}{r['spacelift_requests']:>13}"
              f"{r['peak_rss_mib']:>9.1f}{r['peak_tree_rss_mib']:>14.1f}{r['fetch_only_seconds']:>9.2f}"
              f"{_pct(r['fetch_share']):>13}")  # fmt: skip
        if not r["ok"]:
            print(
                f"  {r['profile']}: NOT OK (mismatched {r['mismatched']}, rejected {r['rejected']}; log {r['log']})"
            )
    if len(results) == 2:
        one, two = results
        print(f"  {two['profile']}/{one['profile']}: RSS x{ratio(two['peak_rss_mib'], one['peak_rss_mib'])}, "
              f"tree RSS x{ratio(two['peak_tree_rss_mib'], one['peak_tree_rss_mib'])}, "
              f"seconds x{ratio(two['seconds'], one['seconds'])}")  # fmt: skip
        for r in results:
            r["rss_ratio_2x_over_1x"] = ratio(two["peak_rss_mib"], one["peak_rss_mib"])


def _pct(share: float | None) -> str:
    return "-" if share is None else f"{100 * share:.0f}%"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.e2e", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--profile", default="large", choices=PROFILES)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument(
        "--integration-dir", default=None, help="the checkout ocean sail runs (default: this one)"
    )
    parser.add_argument("--with-2x", action="store_true", help="also run large2x, for the RSS ratio")
    parser.add_argument(
        "--fetch-seconds", type=float, default=None, help="fetch-only seconds (default: measure)"
    )
    parser.add_argument(
        "--env", action="append", default=[], metavar="KEY=VALUE", help="more integration env"
    )
    args = parser.parse_args(argv)
    extra = dict(item.split("=", 1) for item in args.env)
    quiet_and_warm()
    results = [run_e2e(args.profile, args.latency_ms, args.integration_dir, args.fetch_seconds, extra)]
    if args.with_2x and args.profile != "large2x":
        results.append(run_e2e("large2x", args.latency_ms, args.integration_dir, None, extra))
    print_e2e(results)
    print(json.dumps({"e2e": results}, sort_keys=True))
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
