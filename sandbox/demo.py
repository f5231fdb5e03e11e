"""``make demo``: the real integration (``ocean sail``) against the sandbox Spacelift and the Port stand-in.

Starts both on free loopback ports, runs one resync (``ONCE``), prints what landed and what it cost,
stops everything, and exits non-zero if anything failed. The last line is one JSON object; when the
demo failed, the lines after it say why, in plain words ("demo failed: …").

``--live`` keeps the integration running (POLLING listener), prints the address of the Port stand-in's
page, triggers a few runs in the sandbox Spacelift, moves them through their states on the sandbox
clock (confirming the ones that wait for it) and sends a signed run-state webhook for every state
change, until ``--max-seconds`` or Ctrl-C; then it stops ``ocean sail`` and prints what was delivered
and what changed in Port.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

from sandbox.fault_proxy import FaultProxy
from sandbox.port.server import SandboxPort
from sandbox.serving import BackgroundServer
from sandbox.spacelift import DEFAULT_KEY_ID, DEFAULT_KEY_SECRET, Account, SandboxSpacelift
from sandbox.spacelift.account import TERMINAL_STATES, Obj, SpaceliftError
from sandbox.spacelift.webhooks import run_state_event, send

ROOT = Path(__file__).resolve().parents[1]
WEBHOOK_SECRET = "demo-webhook-secret"
EXPECTED = {
    "spaceliftSpace": "spaces", "spaceliftStack": "stacks", "spaceliftPolicy": "policies", "spaceliftUser": "users",
    "spaceliftWorkerPool": "worker_pools", "spaceliftContext": "contexts", "spaceliftBlueprint": "blueprints",
    "spaceliftTemplate": "templates", "spaceliftResource": "resources",
    "spaceliftModule": "modules",
}  # fmt: skip
# What a browser asks of any server it is pointed at: a person opening a printed address, not the integration.
BROWSER_REQUESTS = {"GET /", "GET /favicon.ico", "GET /robots.txt", "GET /apple-touch-icon.png",
                    "GET /apple-touch-icon-precomposed.png"}  # fmt: skip
DEMO_ACTOR = "api::demo"  # who triggers the demo's runs, as Spacelift records it
TIMED_OUT = 124  # the exit code the demo gives an ``ocean sail`` it had to stop
TIMEOUT_NOTE = "demo: ocean sail did not finish within"
FIRST_RESYNC_TIMEOUT = 300.0
STOP_TIMEOUT = 30.0  # how long ``ocean sail`` gets to stop after SIGINT before it is killed


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

    def integration_unknown_requests(self) -> list[str]:
        """``unknown_requests`` without what a browser asks when a person opens a printed address."""
        return [r for r in self.unknown_requests() if r.split(": ", 1)[1] not in BROWSER_REQUESTS]


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
        "OCEAN__PROCESSING_MODE": "ocean-core",  # no lakehouse here; without it Ocean warns once per kind
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


def _text(data: str | bytes | None) -> str:
    return data.decode(errors="replace") if isinstance(data, bytes) else data or ""


def run_once(
    stage: Stage, timeout: float = 600, extra_env: dict[str, str] | None = None
) -> tuple[int, float, str]:
    """One ``ocean sail`` resync in a real process; (exit code, seconds, combined output). A process that
    does not finish within ``timeout`` is killed and reported with exit code ``TIMED_OUT``."""
    started = time.monotonic()
    try:
        result = subprocess.run(
            [*ocean_command(), "-p", str(free_port())],
            cwd=ROOT,
            env=integration_env(stage, "ONCE", extra_env),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as expired:
        output = _text(expired.stdout) + _text(expired.stderr)
        note = f"\n{TIMEOUT_NOTE} {timeout:g} s and was stopped\n"
        return TIMED_OUT, time.monotonic() - started, output + note
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
    unknown = stage.integration_unknown_requests()
    rejected = [
        f"{r['blueprint']} {r['identifier']}: {'; '.join(r['errors'])}"[:300] for r in stage.port.rejected[:3]
    ]
    return {
        "ok": code == 0 and not mismatched and port_summary["rejected"] == 0 and port_summary["relations_dangling"] == 0
        and landed.get("spaceliftDeployment", 0) > 0 and not unknown,
        "exit_code": code,
        "seconds": round(seconds, 2),
        "entities": landed,
        "entities_total": sum(landed.values()),
        "mismatched": mismatched,
        "relations_filled": port_summary["relations_filled"],
        "relations_dangling": port_summary["relations_dangling"],
        "invalid_entities": port_summary["rejected"],
        "rejected_sample": rejected,
        "unknown_requests": unknown,
        "spacelift_requests": stats["requests"],
        "spacelift_requests_by_operation": stats["by_operation"],
    }  # fmt: skip


# --- why a demo failed, in plain words ------------------------------------------------------------

_ADDRESS_IN_USE = re.compile(r"address already in use", re.IGNORECASE)
_BIND_PORT = re.compile(r"bind on address \(\s*'[^']*',\s*(\d+)\s*\)")
_RESYNC_FAILED = re.compile(r"Spacelift resync failed: .*")
_CONFIGURATION = re.compile(r"^configuration error: .*$", re.MULTILINE)
_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Exit)(?:: .*)?$", re.MULTILINE)
_ERROR_LINE = re.compile(r"^(?:.*\|\s*ERROR\s*\|\s*|ERROR:\s+)(?P<message>\S.*)$", re.MULTILINE)


def _exited(code: int) -> str:
    if code < 0:
        try:
            return f"ocean sail was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"ocean sail was killed by signal {-code}"
    return f"ocean sail exited {code}"


def _process_failure(code: int, output: str, port: int | None) -> str | None:
    """Why the ``ocean sail`` process itself could not do its work: a cause that explains everything that
    went wrong after it (an aborted resync, missing entities), so nothing else needs saying."""
    said = _exited(code)
    if TIMEOUT_NOTE in output:
        return next(line for line in output.splitlines() if TIMEOUT_NOTE in line).removeprefix("demo: ")
    if _ADDRESS_IN_USE.search(output):
        bound = _BIND_PORT.search(output)
        number = bound.group(1) if bound else (str(port) if port else "?")
        return f"{said}: address already in use on port {number} (another program holds it; run the demo again: it picks another free port)"
    configuration = _CONFIGURATION.findall(output)
    if configuration:
        return f"{said}: " + "; ".join(configuration)
    if "Traceback (most recent call last)" in output and not _RESYNC_FAILED.search(output):
        crashed = _EXCEPTION.findall(output.split("Traceback (most recent call last)")[-1])
        if crashed:
            return f"{said}: it crashed with {crashed[-1]}"
    return None


def failure_causes(
    output: str, figures: dict[str, Any] | None = None, exit_code: int | None = None, port: int | None = None
) -> list[str]:
    """Why the demo failed, most telling first, one plain sentence each; [] when nothing failed.

    ``output`` is what ``ocean sail`` printed (stdout and stderr), ``figures`` what ``report`` measured
    (None when there was nothing to measure yet), ``exit_code`` the process's (default: the one in
    ``figures``; None while it runs), ``port`` the one it was told to listen on."""
    if figures is not None and figures["ok"]:
        return []
    code = figures["exit_code"] if exit_code is None and figures is not None else exit_code
    if code:
        process = _process_failure(code, output, port)
        if process:
            return [process]
    causes: list[str] = []
    resync = _RESYNC_FAILED.findall(output)
    if resync:
        causes.append(f"the resync failed: {resync[-1].strip()}")
    elif code:
        errors = [m.group("message").strip() for m in _ERROR_LINE.finditer(output)]
        causes.append(_exited(code) + (f": {errors[0]}" if errors else ""))
    if figures is not None:
        causes += _figure_causes(figures)
        if not causes:
            causes.append("the figures above are not all right")
    return causes


def _figure_causes(figures: dict[str, Any]) -> list[str]:
    causes = []
    if figures["mismatched"]:
        short = ", ".join(f"{bp} {m['landed']} in Port, {m['expected']} in Spacelift" for bp, m in figures["mismatched"].items())  # fmt: skip
        causes.append(f"Port does not match the Spacelift account: {short}")
    if figures["invalid_entities"]:
        sample = figures.get("rejected_sample") or []
        first = f" (first: {sample[0]})" if sample else ""
        causes.append(f"Port rejected {figures['invalid_entities']} entities{first}")
    if figures["relations_dangling"]:
        causes.append(f"{figures['relations_dangling']} relations point at entities that are not in Port")
    if not figures["entities"].get("spaceliftDeployment"):
        causes.append("no runs (spaceliftDeployment) landed in Port")
    unknown = figures["unknown_requests"]
    if unknown:
        more = f"; and {len(unknown) - 3} more" if len(unknown) > 3 else ""
        noun = "request" if len(unknown) == 1 else "requests"
        causes.append(f"{len(unknown)} {noun} no stand-in serves: {'; '.join(unknown[:3])}{more}")
    return causes


def print_causes(causes: list[str]) -> None:
    for cause in causes:
        print(f"demo failed: {cause}")


def save_log(output: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix="spacelift-demo-")) / "ocean-sail.log"
    path.write_text(output)
    return path


def print_output_tail(output: str, path: Path, lines: int = 25) -> None:
    print(f"\nocean sail's last {lines} lines (all of its output: {path}):")
    for line in output.rstrip().splitlines()[-lines:]:
        print(f"  | {line}")


# --- one resync -----------------------------------------------------------------------------------


def print_landed(figures: dict[str, Any]) -> None:
    print("\nWhat landed in Port (sandbox stand-in):")
    for blueprint, count in figures["entities"].items():
        print(f"  {blueprint:<22} {count:>6}")
    print(f"  relations filled {figures['relations_filled']}, dangling {figures['relations_dangling']}, "
          f"invalid entities {figures['invalid_entities']}")  # fmt: skip
    operations = ", ".join(f"{name} {n}" for name, n in figures["spacelift_requests_by_operation"].items())
    print(
        f"  Spacelift GraphQL requests for the whole account: {figures['spacelift_requests']} ({operations})"
    )
    for blueprint, counts in figures["mismatched"].items():
        print(
            f"  MISMATCH: {blueprint} {counts['landed']} in Port, {counts['expected']} in the Spacelift account"
        )


def print_report(figures: dict[str, Any]) -> None:
    print_landed(figures)
    print(f"  ocean sail exit code {figures['exit_code']} in {figures['seconds']} s")


def one_shot(stage: Stage) -> int:
    print("Running one resync (ocean sail, ONCE listener)…")
    code, seconds, output = run_once(stage)
    figures = report(stage, code, seconds)
    causes = failure_causes(output, figures)
    if causes:
        print_output_tail(output, save_log(output))
    print_report(figures)
    if not causes:
        print("  To watch runs change in Port as webhooks arrive: make demo LIVE=1")
    print(json.dumps(figures, sort_keys=True))
    print_causes(causes)
    return 1 if causes else 0


# --- live events ----------------------------------------------------------------------------------


@dataclass
class StateChange:
    run_id: str
    stack_id: str
    state: str
    payload: dict[str, Any]  # the run-state webhook for this state, made when the run moved


class LiveRuns:
    """The runs the demo triggered and every state they went through, whichever thread moved them (the
    demo's clock loop, or the sandbox Spacelift answering the integration), and what was delivered."""

    def __init__(self, account: Account, webhook_url: str, hold_seconds: float) -> None:
        self.account = account
        self.webhook_url = webhook_url
        self.hold_seconds = hold_seconds  # how long an UNCONFIRMED run waits before the demo confirms it
        self.stacks: dict[str, Obj] = {}  # run id → its stack, in the order triggered
        self.state: dict[str, str] = {}  # run id → the last state delivered
        self.waiting_since: dict[str, float] = {}  # UNCONFIRMED run id → when the demo saw it
        self.changes: queue.SimpleQueue[StateChange] = queue.SimpleQueue()
        self.state_changes = self.webhooks_sent = self.webhooks_acknowledged = 0
        account.state_listeners.append(self._moved)

    def _moved(self, stack: Obj, run: Obj) -> None:
        if run.get("triggeredBy") == DEMO_ACTOR:
            self.changes.put(StateChange(run["id"], stack["id"], run["state"], run_state_event(self.account, stack, run)))  # fmt: skip

    def trigger(self, stack: Obj) -> None:
        run = self.account.trigger_run(stack["id"], None, "TRACKED", DEMO_ACTOR)
        self.stacks[run["id"]] = stack

    def advance(self) -> None:
        with suppress(ValueError):  # the sandbox's server thread moved and released the same run just now
            self.account.advance_runs()

    def confirm_due(self) -> None:
        now = time.monotonic()
        for run_id, since in list(self.waiting_since.items()):
            if now - since < self.hold_seconds:
                continue
            stack_id = self.stacks[run_id]["id"]
            try:
                self.account.confirm_run(stack_id, run_id, "confirmed by the demo")
            except ValueError:  # the server thread moved a run at the same moment: try again next time
                continue
            except SpaceliftError as error:
                print(f"  could not confirm run {run_id} on {stack_id}: {error}")
            else:
                print(
                    f"  confirming run {run_id} on {stack_id} (what you would do in Spacelift or from Port)"
                )
            del self.waiting_since[run_id]

    def deliver(self) -> None:
        """Send one signed webhook per state change seen, in order, and say so."""
        while True:
            try:
                change = self.changes.get_nowait()
            except queue.Empty:
                return
            before = self.state.get(change.run_id)
            self.state[change.run_id] = change.state
            self.state_changes += 1
            outcome = self._send(change.payload)
            moved = f"{before} → {change.state}" if before else f"triggered, {change.state}"
            print(f"  run {change.run_id} on {change.stack_id}: {moved} ({outcome})")
            if change.state == "UNCONFIRMED":
                self.waiting_since[change.run_id] = time.monotonic()
                print(f"      waits for a confirmation; the demo confirms it in {self.hold_seconds:g} s")

    def _send(self, payload: dict[str, Any]) -> str:
        self.webhooks_sent += 1
        try:
            response = asyncio.run(send(self.webhook_url, payload, WEBHOOK_SECRET))
        except httpx.HTTPError as error:
            return f"webhook NOT delivered: {type(error).__name__} {error}".strip()
        if response.is_success:
            self.webhooks_acknowledged += 1
            return "webhook sent"
        return f"webhook NOT accepted: HTTP {response.status_code} {response.text[:120]}"

    @property
    def all_settled(self) -> bool:
        """Every triggered run has ended (and nothing is left to deliver)."""
        return (
            bool(self.stacks)
            and self.changes.empty()
            and all(self.state.get(run_id) in TERMINAL_STATES for run_id in self.stacks)
        )

    def in_port(self, port: SandboxPort) -> int:
        """How many triggered runs Port shows in the last state delivered."""
        entities = port.entities
        return sum(
            (entities.get(("spaceliftDeployment", run_id)) or {}).get("properties", {}).get("state") == state
            for run_id, state in self.state.items()
        )


def pick_stacks(account: Account, count: int = 3) -> list[Obj]:
    """Stacks a run can start on, idle ones first (no run in flight): all but one wait for confirmation
    (UNCONFIRMED), one deploys on its own (autodeploy, on to FINISHED)."""
    free = [s for s in account.stacks.values() if not s["lockedBy"] and not s["isDisabled"]]
    free.sort(key=lambda s: s["state"] not in TERMINAL_STATES | {"NONE"})  # stable: idle first
    manual = [s for s in free if not s["autodeploy"]][: count - 1]
    auto = [s for s in free if s["autodeploy"]][:1]
    picked = manual + auto
    picked += [s for s in free if s not in picked][: count - len(picked)]
    return picked


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def changed_since(port: SandboxPort, moment: str) -> dict[str, int]:
    """Entities per blueprint whose ``updatedAt`` is later than ``moment`` (an ISO time from the stand-in)."""
    since = _parse_time(moment)
    counts: dict[str, int] = {}
    for entity in list(port.entities.values()):
        if not entity.get("stub") and _parse_time(entity["updatedAt"]) > since:
            counts[entity["blueprint"]] = counts.get(entity["blueprint"], 0) + 1
    return dict(sorted(counts.items()))


def first_resync(port: SandboxPort) -> dict[str, Any] | None:
    """The resync state the integration reported when its first resync ended, if it has."""
    return next((s for s in list(port.resync_states) if s.get("status") in ("completed", "failed")), None)


class Stopper:
    """Ctrl-C (SIGINT) and SIGTERM ask the demo to stop; a second one stops it at once."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.why = ""
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> Stopper:
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.event.is_set():
            raise KeyboardInterrupt
        self.why = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        self.event.set()

    def stop(self, why: str) -> None:
        self.why = self.why or why
        self.event.set()

    def wait(self, seconds: float) -> bool:
        return self.event.wait(seconds)


def stop_ocean(process: subprocess.Popen[bytes]) -> bool:
    """Stop ``ocean sail`` as Ctrl-C would (SIGINT), killing it if it has not ended after
    ``STOP_TIMEOUT``; True when it ended by itself with exit code 0."""
    if process.poll() is not None:
        return False
    try:
        process.send_signal(signal.SIGINT)
        return process.wait(STOP_TIMEOUT) == 0
    except (subprocess.TimeoutExpired, KeyboardInterrupt):
        process.kill()
        process.wait()
        return False


def live(stage: Stage, max_seconds: float, step_seconds: float) -> int:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    account = stage.spacelift.account
    account.run_step_seconds = step_seconds
    log_path = Path(tempfile.mkdtemp(prefix="spacelift-demo-")) / "ocean-sail.log"
    env = integration_env(stage, "POLLING", {"OCEAN__BASE_URL": base, "APPLICATION__PORT": str(port)})
    print(f"Starting the integration (ocean sail, POLLING listener) on {base}; its log: {log_path}")
    with Stopper() as stopper, log_path.open("wb") as log:
        # its own session: Ctrl-C reaches the demo only, which stops the integration after its last webhook
        process = subprocess.Popen([*ocean_command(), "-p", str(port)], cwd=ROOT, env=env,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        try:
            return _live(stage, process, log_path, port, stopper, max_seconds)
        finally:
            if process.poll() is None:
                stop_ocean(process)


def _live(
    stage: Stage,
    process: subprocess.Popen[bytes],
    log_path: Path,
    port: int,
    stopper: Stopper,
    max_seconds: float,
) -> int:
    account = stage.spacelift.account
    started = time.monotonic()

    def ocean_failed(when: str) -> int:
        code = process.returncode
        causes = failure_causes(log_path.read_text(errors="replace"), exit_code=code, port=port)
        print_output_tail(log_path.read_text(errors="replace"), log_path)
        print_causes(causes or [f"{_exited(code)} {when}"])
        return 1

    print("Waiting for its first resync…")
    next_note = started + 5
    while (resynced := first_resync(stage.port)) is None:
        if process.poll() is not None:
            return ocean_failed("before its first resync ended")
        if stopper.wait(0.5):
            clean = stop_ocean(process)
            print(f"Stopped ({stopper.why}) before the first resync ended; ocean sail "
                  f"{'stopped cleanly' if clean else 'did NOT stop cleanly'} (exit code {process.returncode}).")  # fmt: skip
            return 0
        if time.monotonic() > started + FIRST_RESYNC_TIMEOUT:
            print(f"ocean sail's log: {log_path}")
            print_causes([f"the first resync did not end within {FIRST_RESYNC_TIMEOUT:g} s"])
            return 1
        if time.monotonic() >= next_note:
            print(f"  … {len(stage.port.entities)} entities in Port so far")
            next_note += 5
    if resynced["status"] != "completed":  # a process that cannot serve also fails its resync: say why
        with suppress(subprocess.TimeoutExpired):
            process.wait(10)
        if process.poll() is not None:
            return ocean_failed("after its first resync failed")
    figures = report(stage, 0, time.monotonic() - started)
    print_landed(figures)
    print(f"  first resync in {figures['seconds']} s")
    causes = [] if resynced["status"] == "completed" else ["the first resync failed"]
    causes = failure_causes(log_path.read_text(errors="replace"), figures, exit_code=0) or causes
    if causes:
        print(f"\nocean sail's log: {log_path}")
        print_causes(causes)
        return 1

    page = f"{stage.port_url}/_sandbox/"
    print("\n" + "=" * 78)
    print(f"  Watch Port change live: {page}")
    print("  (the page refreshes every 5 s; rows changed by a webhook are marked LIVE · webhook)")
    print("=" * 78)
    runs = LiveRuns(account, f"http://127.0.0.1:{port}/integration/webhook", hold_seconds=2 * account.run_step_seconds)  # fmt: skip
    stacks = pick_stacks(account)
    step = account.run_step_seconds
    print(f"\nTriggering {len(stacks)} runs in Spacelift, as a git push would; each state lasts {step:g} s:")
    for stack in stacks:
        then = "deploys on its own (autodeploy) → FINISHED" if stack["autodeploy"] else "plans, then waits for a confirmation (UNCONFIRMED)"  # fmt: skip
        print(f"  {stack['id']:<20} {then}")
    print("Every state change is sent to the integration as a signed Spacelift webhook, as Spacelift would.")
    live_started = time.monotonic()
    stop_at = live_started + max_seconds if max_seconds > 0 else None
    print(f"The demo stops in {max_seconds:g} s (--max-seconds); Ctrl-C stops it sooner.\n" if stop_at
          else "Ctrl-C stops the demo.\n")  # fmt: skip
    for stack in stacks:
        runs.trigger(stack)
    settled_said = False
    while True:
        runs.advance()
        runs.confirm_due()
        runs.deliver()
        if process.poll() is not None:
            return ocean_failed("while the demo was sending webhooks")
        if runs.all_settled and not settled_said:
            settled_said = True
            left = f"stops in {stop_at - time.monotonic():.0f} s" if stop_at else "runs until Ctrl-C"
            print(f"\nAll {len(runs.stacks)} triggered runs have ended; the page stays up, the demo {left}.")
        if stop_at is not None and time.monotonic() >= stop_at:
            stopper.stop(f"--max-seconds {max_seconds:g} reached")
        if stopper.wait(min(1.0, step / 2)):
            break
    print(f"\nStopping ({stopper.why}).")
    runs.deliver()
    live_seconds = time.monotonic() - live_started
    deadline = time.monotonic() + 15
    while (
        runs.in_port(stage.port) < len(runs.state) and time.monotonic() < deadline and process.poll() is None
    ):
        time.sleep(0.2)  # webhooks are acknowledged at once and applied just after: let the last ones land
    caught_up = runs.in_port(stage.port)
    died = process.poll() is not None
    clean = stop_ocean(process)
    changed = changed_since(stage.port, resynced["updatedAt"])
    unknown = stage.integration_unknown_requests()

    print("\nLive summary:")
    print(
        f"  runs triggered           {len(runs.stacks)} ({', '.join(s['id'] for s in runs.stacks.values())})"
    )
    print(f"  state changes            {runs.state_changes}, each sent as a signed webhook")
    print(f"  webhooks                 {runs.webhooks_sent} sent, {runs.webhooks_acknowledged} acknowledged by the integration")  # fmt: skip
    print(f"  runs Port shows as their latest state: {caught_up} of {len(runs.state)}")
    shown = ", ".join(f"{bp} {n}" for bp, n in changed.items()) or "none"
    print(f"  changed in Port since the first resync: {shown}")
    browser = [r for r in stage.unknown_requests() if r not in unknown]
    note = (
        f" (and {len(browser)} from a browser, such as {browser[0]}: not the integration's)"
        if browser
        else ""
    )
    print(f"  requests no stand-in serves: {len(unknown)}{note}")
    code = process.returncode
    print(f"  ocean sail {'stopped cleanly' if clean else 'did NOT stop cleanly'} (exit code {code})")

    causes = []
    if died:
        causes.append(f"{_exited(code)} on its own before the demo stopped it")
    elif not clean:
        causes.append(f"ocean sail did not stop within {STOP_TIMEOUT:g} s of SIGINT and was killed")
    if runs.webhooks_acknowledged < runs.webhooks_sent:
        causes.append(f"{runs.webhooks_sent - runs.webhooks_acknowledged} of {runs.webhooks_sent} webhooks were not accepted")  # fmt: skip
    if caught_up < len(runs.state):
        causes.append(f"Port shows the latest state of only {caught_up} of {len(runs.state)} triggered runs")
    if unknown:
        causes.append(f"{len(unknown)} requests no stand-in serves: {'; '.join(unknown[:3])}")
    figures = {
        "ok": not causes, "live": True, "seconds_live": round(live_seconds, 2),
        "runs_triggered": len(runs.stacks), "runs": {run_id: runs.state.get(run_id) for run_id in runs.stacks},
        "state_changes": runs.state_changes, "webhooks_sent": runs.webhooks_sent,
        "webhooks_acknowledged": runs.webhooks_acknowledged, "runs_shown_in_port": caught_up,
        "changed_in_port": changed, "unknown_requests": unknown, "ocean_exit_code": code, "stopped_cleanly": clean,
    }  # fmt: skip
    print(json.dumps(figures, sort_keys=True))
    print_causes(causes)
    return 1 if causes else 0


def _interrupted(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)  # each line as it happens, even through a pipe
    parser = argparse.ArgumentParser(prog="python -m sandbox.demo", description=__doc__)
    parser.add_argument("--profile", default="medium", choices=["small", "medium", "large"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--live", action="store_true", help="keep running with live events and send signed webhooks"
    )
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=0,
        help="with --live: stop this long after the first resync (0 = at Ctrl-C)",
    )
    parser.add_argument(
        "--run-step-seconds",
        type=float,
        default=5.0,
        help="with --live: how long a triggered run stays in each state (default 5)",
    )
    args = parser.parse_args(argv)
    if args.run_step_seconds <= 0:
        parser.error("--run-step-seconds must be more than 0")
    with ExitStack() as stack:
        stage = start_stage(stack, args.profile, args.seed)
        print(f"Sandbox Spacelift API ({args.profile} account) {stage.spacelift_url}  ·  "
              f"Port stand-in API {stage.port_url}")  # fmt: skip
        if args.live:
            return live(stage, args.max_seconds, args.run_step_seconds)
        signal.signal(signal.SIGTERM, _interrupted)  # like Ctrl-C: ``subprocess.run`` then kills ocean sail
        return one_shot(stage)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("demo stopped (interrupted); ocean sail was stopped with it")
        sys.exit(130)
    except httpx.HTTPError as error:  # pragma: no cover - a stand-in failed to answer
        print(f"demo failed: a stand-in did not answer: {error}")
        sys.exit(1)
