"""``make demo``: the real integration (``ocean sail``) against the sandbox Spacelift and the Port stand-in.

Starts both on free loopback ports, runs one resync (``ONCE``), prints what landed and what it cost,
stops everything, and exits non-zero if anything failed. The last line is one JSON object.
``--live`` keeps everything up with a live-events listener and sends signed run webhooks.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from sandbox.fault_proxy import FaultProxy
from sandbox.port.server import SandboxPort
from sandbox.serving import BackgroundServer
from sandbox.spacelift import DEFAULT_KEY_ID, DEFAULT_KEY_SECRET, Account, SandboxSpacelift
from sandbox.spacelift.webhooks import run_state_event, send

ROOT = Path(__file__).resolve().parents[1]
WEBHOOK_SECRET = "demo-webhook-secret"
EXPECTED = {
    "spaceliftSpace": "spaces", "spaceliftStack": "stacks", "spaceliftPolicy": "policies", "spaceliftUser": "users",
    "spaceliftWorkerPool": "worker_pools", "spaceliftContext": "contexts", "spaceliftBlueprint": "blueprints",
    "spaceliftTemplate": "templates",
    "spaceliftModule": "modules",
}  # fmt: skip


def free_port() -> int:
    """A port free on every interface: ``ocean sail`` binds 0.0.0.0 (Ocean hard-codes the host), so a
    port free only on loopback could still collide; never Ocean's default 8000."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("0.0.0.0", 0))
        return int(sock.getsockname()[1])


@dataclass
class Stage:
    spacelift: SandboxSpacelift
    spacelift_url: str
    port: SandboxPort
    port_url: str
    proxy: FaultProxy | None = None
    proxy_url: str | None = None

    @property
    def integration_spacelift_url(self) -> str:
        """Where the integration talks to Spacelift: through the fault proxy when there is one."""
        return self.proxy_url or self.spacelift_url

    def unknown_requests(self) -> list[str]:
        """Requests no stand-in knows (Port, Spacelift, the fault proxy): each one is a bug to fix."""
        proxy = [f"fault proxy: {r}" for r in (self.proxy.unknown_requests if self.proxy else [])]
        return ([f"Port: {r}" for r in self.port.unknown_requests]
                + [f"Spacelift: {r}" for r in self.spacelift.unknown_requests] + proxy)  # fmt: skip


STAGES: list[Stage] = []  # every stage started in this process, so tests can check them all


def start_stage(
    stack: ExitStack, profile: str, seed: int, *, fault_proxy: bool = False, **account_kwargs: Any
) -> Stage:
    spacelift = SandboxSpacelift(Account(seed, profile, **account_kwargs))
    sl_server = BackgroundServer(spacelift.app).start()
    stack.callback(sl_server.stop)
    spacelift.account.base_url = sl_server.url
    port = SandboxPort()
    port_server = BackgroundServer(port.app).start()
    stack.callback(port_server.stop)
    port.base_url = port_server.url
    stage = Stage(spacelift, sl_server.url, port, port_server.url)
    STAGES.append(stage)
    if fault_proxy:
        stage.proxy = FaultProxy(sl_server.url)
        proxy_server = BackgroundServer(stage.proxy.app).start()
        stack.callback(proxy_server.stop)
        stage.proxy_url = proxy_server.url
    return stage


def integration_env(stage: Stage, listener: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OCEAN__", "SPACELIFT_"))}
    env.update({
        "OCEAN__PORT__BASE_URL": stage.port_url,
        "OCEAN__PORT__CLIENT_ID": stage.port.client_id,
        "OCEAN__PORT__CLIENT_SECRET": stage.port.client_secret,
        "OCEAN__INTEGRATION__IDENTIFIER": "spacelift-demo",
        "OCEAN__INTEGRATION__TYPE": "spacelift",
        "OCEAN__EVENT_LISTENER__TYPE": listener,
        "OCEAN__INITIALIZE_PORT_RESOURCES": "true",
        "OCEAN__SEND_RAW_DATA_EXAMPLES": "false",
        "OCEAN__LAKEHOUSE_ENABLED": "false",
        "APPLICATION__ENABLE_HTTP_LOGGING": "false",
        "APPLICATION__LOG_LEVEL": env.get("APPLICATION__LOG_LEVEL", "WARNING"),
        "OCEAN__INTEGRATION__CONFIG__SPACELIFT_API_ENDPOINT": stage.integration_spacelift_url,
        "OCEAN__INTEGRATION__CONFIG__SPACELIFT_API_KEY_ID": DEFAULT_KEY_ID,
        "OCEAN__INTEGRATION__CONFIG__SPACELIFT_API_KEY_SECRET": DEFAULT_KEY_SECRET,
        "OCEAN__INTEGRATION__CONFIG__SPACELIFT_WEBHOOK_SECRET": WEBHOOK_SECRET,
    })  # fmt: skip
    env.update(extra or {})
    return env


def ocean_command() -> list[str]:
    return [str(Path(sys.executable).parent / "ocean"), "sail", "."]


def run_once(
    stage: Stage, timeout: float = 600, extra_env: dict[str, str] | None = None
) -> tuple[int, float, str]:
    """One ``ocean sail`` resync in a real process; (exit code, seconds, combined output)."""
    started = time.monotonic()
    result = subprocess.run(
        [*ocean_command(), "-p", str(free_port())],
        cwd=ROOT,
        env=integration_env(stage, "ONCE", extra_env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return result.returncode, time.monotonic() - started, result.stdout + result.stderr


def expected_counts(account: Account) -> dict[str, int]:
    summary = account.summary()
    return {blueprint: summary[key] for blueprint, key in EXPECTED.items()}


def report(stage: Stage, code: int, seconds: float) -> dict[str, Any]:
    port_summary = stage.port.summary()
    landed = port_summary["entities"]
    mismatched = {bp: {"expected": n, "landed": landed.get(bp, 0)} for bp, n in expected_counts(stage.spacelift.account).items()
                  if landed.get(bp, 0) != n}  # fmt: skip
    stats = stage.spacelift.snapshot()
    return {
        "ok": code == 0 and not mismatched and port_summary["rejected"] == 0 and port_summary["relations_dangling"] == 0
        and landed.get("spaceliftDeployment", 0) > 0 and not stage.unknown_requests(),
        "exit_code": code,
        "seconds": round(seconds, 2),
        "entities": landed,
        "entities_total": sum(landed.values()),
        "mismatched": mismatched,
        "relations_filled": port_summary["relations_filled"],
        "relations_dangling": port_summary["relations_dangling"],
        "invalid_entities": port_summary["rejected"],
        "unknown_requests": stage.unknown_requests(),
        "spacelift_requests": stats["requests"],
        "spacelift_requests_by_operation": stats["by_operation"],
    }  # fmt: skip


def print_report(figures: dict[str, Any]) -> None:
    print("\nWhat landed in Port (sandbox stand-in):")
    for blueprint, count in figures["entities"].items():
        print(f"  {blueprint:<22} {count:>6}")
    print(f"  relations filled {figures['relations_filled']}, dangling {figures['relations_dangling']}, "
          f"invalid entities {figures['invalid_entities']}")  # fmt: skip
    print(
        f"  Spacelift requests {figures['spacelift_requests']}: {figures['spacelift_requests_by_operation']}"
    )
    print(f"  ocean sail exit code {figures['exit_code']} in {figures['seconds']} s")
    if figures["mismatched"]:
        print(f"  MISMATCH against the Spacelift account: {figures['mismatched']}")


def live(stage: Stage, max_seconds: float) -> int:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = integration_env(stage, "POLLING", {"OCEAN__BASE_URL": base, "APPLICATION__PORT": str(port)})
    process = subprocess.Popen([*ocean_command(), "-p", str(port)], cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 300
        while stage.port.summary()["entities"].get("spaceliftDeployment", 0) == 0:
            if process.poll() is not None or time.monotonic() > deadline:
                print("the integration did not complete its first resync", file=sys.stderr)
                return 1
            time.sleep(1)
        print(
            f"\nLive: Port stand-in page {stage.port_url}/_sandbox/  ·  Spacelift sandbox {stage.spacelift_url}"
        )
        account = stage.spacelift.account
        stacks = [s for s in account.stacks.values() if not s["lockedBy"] and not s["isDisabled"]][:3]
        import asyncio

        for stack in stacks:
            run = account.trigger_run(stack["id"], None, "TRACKED", "api::demo")
            asyncio.run(
                send(f"{base}/integration/webhook", run_state_event(account, stack, run), WEBHOOK_SECRET)
            )
            print(f"  triggered run {run['id']} on {stack['id']} and sent a signed webhook")
        stop_at = time.monotonic() + max_seconds if max_seconds else None
        signal.signal(signal.SIGTERM, lambda *_: process.terminate())
        while process.poll() is None and (stop_at is None or time.monotonic() < stop_at):
            time.sleep(1)
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.demo", description=__doc__)
    parser.add_argument("--profile", default="medium", choices=["small", "medium", "large"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--live", action="store_true", help="keep running with live events and send signed webhooks"
    )
    parser.add_argument(
        "--max-seconds", type=float, default=0, help="with --live: stop after this long (0 = Ctrl-C)"
    )
    args = parser.parse_args(argv)
    with ExitStack() as stack:
        stage = start_stage(stack, args.profile, args.seed)
        print(f"Spacelift sandbox ({args.profile}) {stage.spacelift_url}  ·  Port stand-in {stage.port_url}")
        if args.live:
            return live(stage, args.max_seconds)
        code, seconds, output = run_once(stage)
        figures = report(stage, code, seconds)
        if code != 0:
            print(output[-4000:], file=sys.stderr)
        print_report(figures)
        print(json.dumps(figures, sort_keys=True))
        return 0 if figures["ok"] else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except httpx.HTTPError as error:  # pragma: no cover - a stand-in failed to answer
        print(f"demo failed: {error}", file=sys.stderr)
        sys.exit(1)
