"""``make demo`` as a new user runs it: the real ``python -m sandbox.demo`` process, one-shot and live, and the
plain words it ends with when something fails."""

from __future__ import annotations

import errno
import json
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from sandbox.demo import ROOT, TIMED_OUT, TIMEOUT_NOTE, failure_causes

T = TypeVar("T")
DEMO = [sys.executable, "-m", "sandbox.demo"]
PAGE = re.compile(r"Watch Port change live: (?P<url>http://\S+/_sandbox/)")
CHANGE = re.compile(r"^  run (?P<run>\w+) on (?P<stack>\S+): (?P<change>.+) \(webhook sent\)$", re.MULTILINE)
LIVE_ROW = re.compile(r"<tr class=live>(?P<row>.*?)</tr>", re.DOTALL)
NEEDS_CONFIRMATION = ["QUEUED", "PREPARING", "INITIALIZING", "PLANNING", "UNCONFIRMED", "CONFIRMED", "APPLYING", "FINISHED"]  # fmt: skip
AUTODEPLOY = ["QUEUED", "PREPARING", "INITIALIZING", "PLANNING", "APPLYING", "FINISHED"]


def run_demo(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*DEMO, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def last_json(output: str) -> dict[str, Any]:
    figures: dict[str, Any] = json.loads(output.rstrip().splitlines()[-1])
    return figures


def poll(condition: Callable[[], T | None], what: str, timeout: float, process: subprocess.Popen[str]) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert process.poll() is None, f"the demo exited ({process.returncode}) while waiting for {what}"
        assert time.monotonic() < deadline, f"timed out after {timeout:g} s waiting for {what}"
        time.sleep(0.2)


@pytest.fixture
def port_8000_held() -> Iterator[None]:
    """Something else listening on Ocean's default port, as on many developers' machines."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("0.0.0.0", 8000))
        sock.listen()
    except OSError as error:
        assert error.errno == errno.EADDRINUSE, error  # already held by something else: just as good
    try:
        yield
    finally:
        sock.close()


def test_one_shot_demo_succeeds_and_ends_with_its_figures() -> None:
    result = run_demo("--profile", "small")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    figures = last_json(result.stdout)
    assert figures["ok"] is True and figures["exit_code"] == 0
    assert figures["entities"]["spaceliftStack"] == 12 and figures["entities"]["spaceliftDeployment"] > 0
    assert figures["unknown_requests"] == [] and figures["invalid_entities"] == 0
    assert "demo failed" not in output


def test_one_shot_demo_succeeds_while_port_8000_is_taken(port_8000_held: None) -> None:
    result = run_demo("--profile", "small")
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    assert last_json(result.stdout)["ok"] is True


def recently_changed(html: str) -> str:
    """The "Recently changed" section of the stand-in's page (up to the next heading)."""
    start = html.find("<h2>Recently changed")
    assert start >= 0, "the page has no Recently changed section"
    end = html.find("<h2", start + 1)
    return html[start : end if end >= 0 else len(html)]


def test_live_demo_moves_runs_through_their_states_and_port_shows_them(tmp_path: Path) -> None:
    out_path = tmp_path / "demo.out"
    command = [*DEMO, "--profile", "small", "--live", "--max-seconds", "40", "--run-step-seconds", "1"]
    with out_path.open("w") as out:
        demo = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, text=True)
    try:
        printed = out_path.read_text
        page = poll(lambda: PAGE.search(printed()), "the page address", 120, demo).group("url")
        poll(lambda: "triggered runs have ended" in printed(), "the triggered runs to end", 60, demo)
        runs = {m.group("run"): m.group("stack") for m in CHANGE.finditer(printed())}
        assert len(runs) == 3

        def page_shows_them() -> str | None:
            section = recently_changed(httpx.get(page, timeout=10).text)
            rows = [m.group("row") for m in LIVE_ROW.finditer(section)]
            shown = [r for r in rows for run in runs if f"<code>{run}</code>" in r]
            done = len(shown) == 3 and all("LIVE · webhook" in r and "<td>FINISHED</td>" in r for r in shown)
            return section if done else None

        section = poll(page_shows_them, "the runs, FINISHED and marked, in Recently changed", 30, demo)
        assert all(f"<code>{stack}</code>" in section for stack in runs.values())  # their stacks changed too
        # a browser asks for an icon; that is no request the integration made, so the demo does not fail on it
        assert httpx.get(page.replace("/_sandbox/", "/favicon.ico"), timeout=10).status_code == 404

        demo.send_signal(signal.SIGINT)  # Ctrl-C
        demo.wait(60)
    finally:
        if demo.poll() is None:
            demo.terminate()  # the demo then stops ocean sail itself
            demo.wait(60)
    output = out_path.read_text()
    assert demo.returncode == 0, output[-4000:]
    changes = CHANGE.findall(output)
    for run, stack in runs.items():
        states = [change.split(" → ")[-1].removeprefix("triggered, ") for r, _, change in changes if r == run]
        assert states in (NEEDS_CONFIRMATION, AUTODEPLOY), (stack, states)
    assert sorted(len([c for c in changes if c[0] == run]) for run in runs) == [6, 8, 8]
    assert re.search(
        rf"^  state changes +{len(changes)}, each sent as a signed webhook$", output, re.MULTILINE
    )
    assert f"{len(changes)} sent, {len(changes)} acknowledged" in output
    assert "requests no stand-in serves: 0 (and 1 from a browser, such as Port: GET /favicon.ico" in output
    assert "Stopping (Ctrl-C)" in output and "ocean sail stopped cleanly (exit code 0)" in output
    summary = last_json(output)
    assert summary["ok"] is True and summary["live"] is True
    assert summary["state_changes"] == summary["webhooks_acknowledged"] == len(changes) == 22
    assert summary["runs"] == dict.fromkeys(runs, "FINISHED") and summary["runs_shown_in_port"] == 3
    changed = summary["changed_in_port"]
    # each finished tracked run also re-reads its stack's managed resources (it changed some of them)
    assert changed.pop("spaceliftResource", 0) > 0
    assert changed == {"spaceliftDeployment": 3, "spaceliftStack": 3}
    assert summary["unknown_requests"] == [] and summary["stopped_cleanly"] is True


# --- the cause, in plain words ----------------------------------------------------------------------


def figures(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "ok": False, "exit_code": 0, "entities": {"spaceliftStack": 12, "spaceliftDeployment": 57},
        "mismatched": {}, "invalid_entities": 0, "rejected_sample": [], "relations_dangling": 0,
        "unknown_requests": [],
    }  # fmt: skip
    return {**base, **changes}


BIND_FAILED = """\
INFO:     Started server process [21997]
INFO:     Waiting for application startup.
2026-12-01 21:57:12.544 | ERROR    | Error putting metrics: Client error '404 Not Found' for url 'http://127.0.0.1:35701/ingest/metrics/x'
2026-12-01 21:57:12.674 | ERROR    | Spacelift resync failed: Ocean reported the resync as failed (see its errors above); nothing was deleted
INFO:     Application startup complete.
ERROR:    [Errno 98] error while attempting to bind on address ('0.0.0.0', 33085): [errno 98] address already in use
INFO:     Waiting for application shutdown.
"""
RESYNC_FAILED_LINE = (
    "Spacelift resync failed: 1 of 10 kinds failed and kept their entities in Port (user: Spacelift refused "
    "ListManagedUsers to API key 01SANDBOXKEY (unauthorized))"
)
RESYNC_FAILED = f"""\
2026-12-01 21:58:01.101 | WARNING  | Spacelift kind user failed: Spacelift refused ListManagedUsers
2026-12-01 21:58:02.202 | ERROR    | {RESYNC_FAILED_LINE}
"""


def test_nothing_to_say_when_the_demo_succeeded() -> None:
    assert failure_causes("2026-12-01 | WARNING | harmless", figures(ok=True)) == []


def test_a_port_someone_else_holds_is_named_and_explains_the_rest() -> None:
    measured = figures(
        exit_code=3, entities={}, mismatched={"spaceliftStack": {"expected": 12, "landed": 0}},
        unknown_requests=["Port: PUT /ingest/metrics/spacelift-demo/syncMetrics/resync//kind/space-0"],
    )  # fmt: skip
    assert failure_causes(BIND_FAILED, measured) == [
        "ocean sail exited 3: address already in use on port 33085 (another program holds it; "
        "run the demo again: it picks another free port)"
    ]
    # uvicorn's words vary by version: without the address, the port the demo chose is named
    assert failure_causes("ERROR:    [Errno 98] Address already in use", exit_code=3, port=41234) == [
        "ocean sail exited 3: address already in use on port 41234 (another program holds it; "
        "run the demo again: it picks another free port)"
    ]


def test_a_failed_resync_is_quoted_from_the_integrations_own_error_line() -> None:
    measured = figures(exit_code=1, mismatched={"spaceliftUser": {"expected": 6, "landed": 0}})
    assert failure_causes(RESYNC_FAILED, measured) == [
        f"the resync failed: {RESYNC_FAILED_LINE}",
        "Port does not match the Spacelift account: spaceliftUser 0 in Port, 6 in Spacelift",
    ]


def test_what_the_stand_ins_saw_is_named_when_ocean_sail_exited_0() -> None:
    rejected = figures(
        invalid_entities=3, rejected_sample=["spaceliftStack eks-prod: properties.state must be one of …"]
    )
    assert failure_causes("", rejected) == [
        "Port rejected 3 entities (first: spaceliftStack eks-prod: properties.state must be one of …)"
    ]
    unknown = figures(unknown_requests=["Port: GET /v1/kafka-credentials", "Spacelift: POST /graphql/x"])
    assert failure_causes("", unknown) == [
        "2 requests no stand-in serves: Port: GET /v1/kafka-credentials; Spacelift: POST /graphql/x"
    ]
    nothing = figures(entities={"spaceliftStack": 12}, relations_dangling=4)
    assert failure_causes("", nothing) == [
        "4 relations point at entities that are not in Port",
        "no runs (spaceliftDeployment) landed in Port",
    ]


def test_how_ocean_sail_itself_ended_is_named() -> None:
    configuration = "configuration error: spaceliftApiEndpoint 'not-a-url' is not a URL\n"
    assert failure_causes(configuration, exit_code=2) == [
        "ocean sail exited 2: configuration error: spaceliftApiEndpoint 'not-a-url' is not a URL"
    ]
    crash = (
        'Traceback (most recent call last):\n  File "x.py", line 1, in <module>\nImportError: no module y\n'
    )
    assert failure_causes(crash, exit_code=1) == [
        "ocean sail exited 1: it crashed with ImportError: no module y"
    ]
    timed_out = f"some output\n{TIMEOUT_NOTE} 600 s and was stopped\n"
    assert failure_causes(timed_out, figures(exit_code=TIMED_OUT)) == [
        "ocean sail did not finish within 600 s and was stopped"
    ]
    assert failure_causes("", exit_code=-9) == ["ocean sail was killed by SIGKILL"]
    errors = "INFO: starting\n2026-12-01 10:00:00.000 | ERROR    | Failed to connect to Port\n"
    assert failure_causes(errors, exit_code=4) == ["ocean sail exited 4: Failed to connect to Port"]
