"""``ocean probe`` tells a user in seconds whether the key works and which kinds it can read."""

from __future__ import annotations

import json
import shutil
import subprocess
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from sandbox.demo import ROOT, integration_env, start_stage


def run_probe(env: dict[str, str], workdir: Path) -> tuple[int, dict[str, Any] | None, str]:
    for name in ("main.py", "integration.py", "pyproject.toml", ".port", "spacelift"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, workdir / name)
    ocean = Path(shutil.which("ocean") or ROOT / ".venv/bin/ocean")
    result = subprocess.run([str(ocean), "probe", ".", "--reporting-mode", "file"], cwd=workdir, env=env,
                            capture_output=True, text=True, timeout=180)  # fmt: skip
    reports = sorted((workdir / "probe_reports").glob("*.json"))
    report = json.loads(reports[-1].read_text()) if reports else None
    return result.returncode, report, result.stdout + result.stderr


def test_probe_reports_each_kind_and_names_the_unreadable_one(tmp_path: Path) -> None:
    with ExitStack() as stack:
        stage = start_stage(stack, "small", seed=2)
        stage.spacelift.faults.unauthorized_fields = ["managedUsers"]
        code, report, output = run_probe(integration_env(stage, "ONCE"), tmp_path)
    assert code == 0, output[-2000:]
    assert report is not None and report["status"] == "COMPLETED"
    checks = {c["kind"]: c for c in report["checks"]}
    assert checks["user"]["status"] == "FAILURE" and "ListManagedUsers" in checks["user"]["message"]
    assert {k for k, c in checks.items() if c["status"] == "SUCCESS"} == {
        "space", "stack", "deployment", "policy", "worker-pool", "context", "blueprint", "template", "module",
        "resource",
    }  # fmt: skip


def test_probe_with_a_wrong_key_fails_with_the_reason(tmp_path: Path) -> None:
    with ExitStack() as stack:
        stage = start_stage(stack, "small", seed=2)
        env = integration_env(
            stage, "ONCE", {"OCEAN__INTEGRATION__CONFIG__SPACELIFT_API_KEY_SECRET": "wrong"}
        )
        _, report, output = run_probe(env, tmp_path)
    assert report is not None and report["status"] == "FAILED", output[-2000:]
    assert "did not accept API key" in str(report["message"])
