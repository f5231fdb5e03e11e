"""The shipped self-service actions, pointed at this integration whatever its identifier.

``.port/resources/actions.json`` has to name an ``installationId``, and Port hands an action's runs only to
the integration whose identifier equals it. Ocean creates the actions from the file as they are (no
templating), so an integration installed as ``spacelift-prod`` would never see a run. On start, each action
the file ships that Port still has with the file's placeholder installation (``spacelift``) is re-pointed
at ``OCEAN__INTEGRATION__IDENTIFIER``; an action someone pointed elsewhere on purpose is left alone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from loguru import logger
from port_ocean.context.ocean import ocean

SHIPPED = Path(__file__).resolve().parents[2] / ".port" / "resources" / "actions.json"


def shipped_actions(path: Path = SHIPPED) -> list[dict[str, Any]]:
    return list(json.loads(path.read_text())) if path.exists() else []


def needs_repointing(in_port: dict[str, Any], placeholder: str, ours: str) -> bool:
    invocation = in_port.get("invocationMethod") or {}
    return (
        invocation.get("type") == "INTEGRATION_ACTION"
        and invocation.get("installationId") == placeholder
        and placeholder != ours
    )


async def point_shipped_actions_at_this_integration() -> list[str]:
    """Re-point the shipped actions (see module doc); returns the identifiers changed."""
    ours = ocean.config.integration.identifier
    client, auth = ocean.port_client.client, ocean.port_client.auth
    changed: list[str] = []
    for shipped in shipped_actions():
        placeholder = (shipped.get("invocationMethod") or {}).get("installationId")
        url = f"{auth.api_url}/actions/{shipped['identifier']}"
        response = await client.get(url, headers=await auth.headers())
        if response.status_code == 404:
            continue  # not created (resources were initialised before) or deleted on purpose
        response.raise_for_status()
        action = response.json().get("action") or {}
        if not needs_repointing(action, str(placeholder), ours):
            continue
        action["invocationMethod"] = {**action["invocationMethod"], "installationId": ours}
        body = {k: v for k, v in action.items() if k in shipped}
        (await client.put(url, json=body, headers=await auth.headers())).raise_for_status()
        changed.append(shipped["identifier"])
    if changed:
        logger.info(
            f"Pointed {len(changed)} shipped Port actions at integration {ours}: {', '.join(changed)}"
        )
    return changed
