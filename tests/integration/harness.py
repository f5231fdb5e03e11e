"""Run the real integration (main.py handlers + the JQ mapping) through Ocean's test harness, with
Spacelift served in-process by the sandbox (no sockets, no Port)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml
from port_ocean.integration_testing import IntegrationTestHarness

from sandbox.spacelift import DEFAULT_KEY_ID, DEFAULT_KEY_SECRET, SandboxSpacelift

ROOT = Path(__file__).resolve().parents[2]
BLUEPRINTS: dict[str, dict[str, Any]] = {
    bp["identifier"]: bp for bp in json.loads((ROOT / ".port/resources/blueprints.json").read_text())
}
SANDBOX_URL = "http://spacelift.sandbox"


def default_mapping() -> dict[str, Any]:
    return yaml.safe_load((ROOT / ".port/resources/port-app-config.yml").read_text())


class RecordingASGITransport(httpx.ASGITransport):
    """Serves the sandbox in-process and keeps every response body (to prove what was never fetched)."""

    def __init__(self, app: Any) -> None:
        super().__init__(app=app)
        self.bodies: list[bytes] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        body = await response.aread()
        self.bodies.append(body)
        return httpx.Response(response.status_code, headers=response.headers, content=body, request=request)


@asynccontextmanager
async def ocean_harness(
    sandbox: SandboxSpacelift,
    mapping: dict[str, Any] | None = None,
    config: dict[str, Any] | None = None,
    port_entities: list[dict[str, Any]] | None = None,
) -> AsyncIterator[tuple[IntegrationTestHarness, RecordingASGITransport]]:
    sandbox.account.base_url = SANDBOX_URL
    transport = RecordingASGITransport(sandbox.app)
    harness = IntegrationTestHarness(
        integration_path=str(ROOT),
        port_mapping_config=mapping or default_mapping(),
        third_party_transport=transport,  # type: ignore[arg-type]
        config_overrides={
            "integration": {
                "identifier": "spacelift-test",
                "type": "spacelift",
                "config": {
                    "spacelift_api_endpoint": SANDBOX_URL,
                    "spacelift_api_key_id": DEFAULT_KEY_ID,
                    "spacelift_api_key_secret": DEFAULT_KEY_SECRET,
                    "spacelift_max_retries": 0,
                    **(config or {}),
                },
            }
        },
        port_search_entities_response=port_entities,
    )
    await harness.start()
    try:
        yield harness, transport
    finally:
        await harness.shutdown()


def by_blueprint(entities: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for entity in entities:
        grouped.setdefault(entity["blueprint"], []).append(entity)
    return grouped
