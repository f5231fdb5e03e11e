"""Spacelift webhook payloads and their signatures, shared by the sandbox sender and our tests.

Signatures follow Spacelift's documentation: ``X-Signature: sha1=<hex>`` and
``X-Signature-256: sha256=<hex>``, HMACs of the exact request body keyed with the webhook secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import httpx

from sandbox.spacelift.account import Account, Obj


def signature_headers(body: bytes, secret: str) -> dict[str, str]:
    return {
        "X-Signature": "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest(),
        "X-Signature-256": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
    }


def run_state_event(
    account: Account, stack: Obj, run: Obj, state_version: int | None = None
) -> dict[str, Any]:
    """The default run-state payload (documented fields plus those seen in 2025 deliveries)."""
    delta = run.get("delta")
    pool = stack.get("workerPool")
    now = time.time()
    return {
        "account": account.account_name,
        "state": run["state"],
        "stateVersion": state_version if state_version is not None else len(run.get("history") or []) or 1,
        "timestamp": int(now),
        "timestamp_millis": int(now * 1000),
        "event_source": "spacelift",
        "event_type": "run_state_changed_event",
        "run": {
            "id": run["id"], "branch": run["branch"], "commit": run["commit"], "createdAt": run["createdAt"],
            "delta": {"added": delta["addCount"], "changed": delta["changeCount"], "deleted": delta["deleteCount"],
                      "resources": delta["resources"]} if delta else None,
            "driftDetection": run["driftDetection"], "triggeredBy": run["triggeredBy"], "type": run["type"],
            "url": account.web_url("stack", stack["id"], "run", run["id"]),
        },
        "stack": {"id": stack["id"], "name": stack["name"], "description": stack["description"] or "",
                  "labels": stack["labels"], "repository": stack["repository"],
                  "url": account.web_url("stack", stack["id"]), "vcs": stack["provider"]},
        "workerPool": {"public": pool is None, "labels": pool["labels"] if pool else [],
                       "id": pool["id"] if pool else "", "name": pool["name"] if pool else ""},
    }  # fmt: skip


def audit_trail_event(
    account: Account, action: str, resource_id: str, actor: str = "api::sandbox"
) -> dict[str, Any]:
    """An audit-trail delivery (``timestamp`` in milliseconds), e.g. ``stack.delete``."""
    mutation = {"create": "Create", "update": "Update", "delete": "Delete"}[action.split(".")[1]]
    kind = action.split(".")[0]
    return {
        "account": account.account_name, "action": action, "actor": actor, "actor_roles": ["space-admin"],
        "context": {"mutation": f"{kind}{mutation}"}, "data": {"ID": resource_id, "args": {}},
        "remoteIP": "127.0.0.1", "timestamp": int(time.time() * 1000),
    }  # fmt: skip


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


async def send(
    url: str, payload: dict[str, Any], secret: str | None, *, timeout: float = 10.0
) -> httpx.Response:
    """POST ``payload`` signed over the exact bytes sent."""
    body = encode(payload)
    headers = {"Content-Type": "application/json", "User-Agent": "Go-http-client/2.0"}
    if secret:
        headers.update(signature_headers(body, secret))
    async with httpx.AsyncClient(timeout=timeout) as client:
        return await client.post(url, content=body, headers=headers)
