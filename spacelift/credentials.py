"""One cheap request per credential, before anything else: is the Port secret right, does Spacelift accept
the key? Without this a wrong Port secret makes Ocean retry its login forever, and a wrong Spacelift key
surfaces only as every kind of the first resync failing.

Each check answers ``Verdict``: ``ok``, ``rejected`` (the service said no — say which setting and how to fix
it) or ``unknown`` (the service could not be asked: network, 5xx). Secrets never appear in a message.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import httpx

from spacelift.client.errors import api_key_not_accepted
from spacelift.graphql import document
from spacelift.settings import SpaceliftSettings

TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Verdict:
    outcome: Literal["ok", "rejected", "unknown"]
    message: str = ""


def checked(check: Callable[[], Verdict], attempts: int = 3, pause: float = 0.5) -> Verdict:
    """``check`` again when the service could not be asked (a dropped connection, a 5xx), a few times."""
    verdict = check()
    for attempt in range(1, attempts):
        if verdict.outcome != "unknown":
            break
        time.sleep(pause * attempt)
        verdict = check()
    return verdict


def check_port(
    base_url: str, client_id: str, client_secret: str, http: httpx.Client | None = None
) -> Verdict:
    """Port's token endpoint, the one call Ocean makes first (and retries forever on 401)."""
    url = f"{base_url.rstrip('/')}/v1/auth/access_token"
    try:
        with http or httpx.Client(timeout=TIMEOUT_SECONDS) as client:
            response = client.post(url, json={"clientId": client_id, "clientSecret": client_secret})
    except httpx.HTTPError as error:
        return Verdict(
            "unknown",
            f"cannot reach Port at {base_url} ({type(error).__name__}): check OCEAN__PORT__BASE_URL",
        )
    if response.status_code in (401, 403, 422):
        return Verdict(
            "rejected",
            f"Port rejected OCEAN__PORT__CLIENT_ID {client_id} with the configured OCEAN__PORT__CLIENT_SECRET "
            f"(HTTP {response.status_code}): copy both from Port → Settings → Credentials (a machine user's, for "
            "actions); for Port's US region set OCEAN__PORT__BASE_URL=https://api.us.getport.io",
        )
    if response.status_code == 404:
        return Verdict(
            "rejected",
            f"OCEAN__PORT__BASE_URL={base_url} is not Port's API (HTTP 404 for /v1/auth/access_token): use "
            "https://api.getport.io, or https://api.us.getport.io for the US region",
        )
    if response.status_code >= 400:
        return Verdict("unknown", f"Port answered HTTP {response.status_code} to the credentials check")
    return Verdict("ok")


def check_spacelift(settings: SpaceliftSettings, http: httpx.Client | None = None) -> Verdict:
    """The API key exchange (``apiKeyUser``), or ``viewer`` for a ready token."""
    if settings.api_token:
        doc, variables, operation = document("viewer"), {}, "SpaceliftViewer"
        headers = {"Authorization": f"Bearer {settings.api_token}"}
    else:
        doc, operation = document("api_key_user"), "SpaceliftApiKeyUser"
        variables, headers = {"id": settings.api_key_id, "secret": settings.api_key_secret}, {}
    body = {"query": doc, "variables": variables, "operationName": operation}
    try:
        with http or httpx.Client(timeout=TIMEOUT_SECONDS) as client:
            response = client.post(settings.graphql_url, json=body, headers=headers)
    except httpx.HTTPError as error:
        return Verdict(
            "unknown",
            f"cannot reach Spacelift at {settings.api_endpoint} ({type(error).__name__}): check spaceliftApiEndpoint",
        )
    if response.status_code in (404, 405):
        return Verdict(
            "rejected",
            f"spaceliftApiEndpoint={settings.api_endpoint} has no Spacelift API (HTTP {response.status_code} for "
            "/graphql): use your account URL, e.g. https://acme.app.spacelift.io",
        )
    if response.status_code >= 500 or response.status_code == 429:
        return Verdict("unknown", f"Spacelift answered HTTP {response.status_code} to the credentials check")
    try:
        data = json.loads(response.text).get("data") or {}
    except (ValueError, AttributeError):
        if response.text.lstrip().startswith("{"):  # JSON cut short: the connection, not the address
            return Verdict("unknown", "Spacelift's answer to the credentials check was cut short")
        return Verdict(
            "rejected",
            f"spaceliftApiEndpoint={settings.api_endpoint} did not answer like Spacelift's GraphQL API "
            f"(HTTP {response.status_code}, not JSON): use your account URL, e.g. https://acme.app.spacelift.io",
        )
    if settings.api_token:
        if not data.get("viewer"):
            return Verdict(
                "rejected",
                "Spacelift did not accept SPACELIFT_API_TOKEN (viewer is null: expired or invalid): create a new "
                "token, or configure spaceliftApiKeyId/spaceliftApiKeySecret instead",
            )
        return Verdict("ok")
    if not (data.get("apiKeyUser") or {}).get("jwt"):
        return Verdict("rejected", api_key_not_accepted(settings.api_key_id))
    return Verdict("ok")
