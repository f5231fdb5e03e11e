"""What the mapping needs and the API lacks: web URLs, ISO 8601 times, parent ids, known enum values.

Added keys start with ``__`` so they never collide with Spacelift's own fields.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from spacelift.enums import TERMINAL_RUN_STATES, port_enum

Item = dict[str, Any]
PUBLIC_WORKER_POOL_ID = "public"


def iso(timestamp: Any) -> str | None:
    """Spacelift times are Unix seconds (audit trail: milliseconds); Port wants ISO 8601."""
    if timestamp is None or isinstance(timestamp, bool):
        return None
    if isinstance(timestamp, str):
        try:
            return (
                datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
                .astimezone(UTC)
                .isoformat()
                .replace("+00:00", "Z")
            )
        except ValueError:
            if not timestamp.isdigit():
                return None
            timestamp = int(timestamp)
    seconds = float(timestamp)
    if seconds > 10**11:  # milliseconds
        seconds /= 1000
    if seconds <= 0:
        return None
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def times(item: Item, *fields: str) -> dict[str, str | None]:
    return {field: iso(item.get(field)) for field in fields}


class Links:
    """Web UI links; built from the account URL, so self-hosted Spacelift works too."""

    def __init__(self, base_url: str) -> None:
        self.base = base_url.rstrip("/")

    def _join(self, *parts: str) -> str:
        return "/".join([self.base, *(quote(p, safe="") for p in parts)])

    def stack(self, stack_id: str) -> str:
        return self._join("stack", stack_id)

    def run(self, stack_id: str, run_id: str) -> str:
        return self._join("stack", stack_id, "run", run_id)

    def space(self, space_id: str) -> str:
        return self._join("spaces", space_id)

    def policy(self, policy_id: str) -> str:
        return self._join("policy", policy_id)

    def module(self, module_id: str) -> str:
        return self._join("module", module_id)


def enrich_space(space: Item, links: Links) -> Item:
    return {**space, "__url": links.space(space["id"])}


def worker_pool_of(stack: Item) -> str | None:
    """The pool a stack runs on: its private pool, Spacelift's public pool when it has none, or None when
    Spacelift withheld the pool from this key."""
    pool = stack.get("workerPool")
    if pool:
        return str(pool["id"])
    return None if "workerPool" in (stack.get("__withheld") or []) else PUBLIC_WORKER_POOL_ID


def enrich_stack(stack: Item, links: Links) -> Item:
    """Adds links, ISO times, the worker pool, and drift: how many managed resources drifted (the query reads
    only each resource's ``drifted``) and the newest drift-detection run among the stack's latest proposed runs
    (Spacelift has no field for the last detection run; those runs are proposed runs with driftDetection)."""
    vendor = (stack.get("vendorConfig") or {}).get("__typename") or ""
    commit = stack.get("trackedCommit") or {}
    detections = [r.get("createdAt") for r in stack.get("proposedRuns") or [] if r.get("driftDetection")]
    drifted = sum(1 for e in stack.get("entities") or [] if e.get("drifted") is not None)
    stack = {k: v for k, v in stack.items() if k not in ("entities", "proposedRuns")}  # summarised below
    return {
        **stack,
        "__driftedResources": drifted,
        "__lastDriftDetectionAt": iso(max((d for d in detections if d), default=None)),
        "__url": links.stack(stack["id"]),
        "__workerPoolId": worker_pool_of(stack),
        "__state": port_enum(stack.get("state"), "stackState"),
        "__vendor": vendor.removeprefix("StackConfigVendor") or None,
        "__vendorVersion": (stack.get("vendorConfig") or {}).get("version")
        or stack.get("effectiveTerraformVersion"),
        "__iso": {
            **times(stack, "stateSetAt", "createdAt", "lockedAt"),
            "trackedCommit": iso(commit.get("timestamp")),
        },
    }


def enrich_run(run: Item, stack_id: str, links: Links) -> Item:
    """Adds the stack id (relation), link, and finished-at / duration for runs that have ended."""
    terminal = run.get("state") in TERMINAL_RUN_STATES
    created, updated = run.get("createdAt"), run.get("updatedAt")
    finished = updated if terminal and isinstance(updated, int) else None
    duration = finished - created if finished is not None and isinstance(created, int) else None
    return {
        **run,
        "__stackId": stack_id,
        "__url": links.run(stack_id, run["id"]),
        "__state": port_enum(run.get("state"), "runState"),
        "__type": port_enum(run.get("type"), "runType"),
        "__finished": terminal,
        "__durationSeconds": duration if duration is None or duration >= 0 else None,
        "__iso": {**times(run, "createdAt", "updatedAt"), "finishedAt": iso(finished)},
    }


def enrich_policy(policy: Item, links: Links) -> Item:
    return {
        **policy,
        "__url": links.policy(policy["id"]),
        "__type": port_enum(policy.get("type"), "policyType"),
        "__iso": times(policy, "createdAt", "updatedAt"),
    }


def enrich_user(user: Item) -> Item:
    rules = user.get("accessRules") or []
    return {
        **user,
        "__spaces": sorted({rule["space"] for rule in rules if rule.get("space")}),
        "__iso": times(user, "lastLoginTime"),
    }


def enrich_worker_pool(pool: Item) -> Item:
    return {**pool, "__spaceId": pool.get("space"), "__iso": times(pool, "createdAt", "updatedAt")}


def enrich_public_worker_pool(pool: Item) -> Item:
    """Spacelift's shared pool as a worker-pool item: account-wide, so it belongs to the root space."""
    return {
        "id": PUBLIC_WORKER_POOL_ID, "name": "Public worker pool", "labels": [],
        "description": "Spacelift's shared workers, for stacks without a private worker pool",
        "workersCount": pool.get("parallelism"), "busyWorkers": pool.get("busyWorkers"),
        "pendingRuns": pool.get("pendingRuns"), "__public": True, "__spaceId": "root",
        "__iso": {"createdAt": None, "updatedAt": None},
    }  # fmt: skip


def enrich_context(context: Item) -> Item:
    """Replaces the config list by counts: names of variables are metadata, but counts are enough."""
    config = context.get("config") or []
    enriched = {k: v for k, v in context.items() if k != "config"}
    return {
        **enriched,
        "__configCount": len(config),
        "__writeOnlyCount": sum(1 for element in config if element.get("writeOnly")),
        "__iso": times(context, "createdAt", "updatedAt"),
    }


def enrich_blueprint(blueprint: Item) -> Item:
    return {
        **blueprint,
        "__state": port_enum(blueprint.get("state"), "blueprintState"),
        "__spaceId": (blueprint.get("space") or {}).get("id"),
        "__iso": times(blueprint, "createdAt", "updatedAt"),
    }


def enrich_template(template: Item) -> Item:
    latest = template.get("latestVersion") or {}
    return {
        **template,
        "__spaceId": (template.get("space") or {}).get("id"),
        "__latestVersion": latest.get("version") or "",
        "__latestVersionState": port_enum(latest.get("state"), "templateVersionState") or "NONE",
        "__iso": times(template, "createdAt", "updatedAt"),
    }


def enrich_module(module: Item, links: Links) -> Item:
    return {**module, "__url": links.module(module["id"]), "__iso": times(module, "createdAt")}
