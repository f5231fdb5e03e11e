"""An in-memory Port API serving exactly what Ocean 0.55.4 calls, refusing what Port would refuse, and
recording every request it does not know (``unknown_requests``) so a test can fail on it.

Read from the installed ``port_ocean`` 0.55.4 (``clients/port/**``, ``core/defaults/**``,
``core/event_listener/**``, ``core/handlers/actions/**``, ``core/handlers/resync_state_updater/**``,
``helpers/metric/**``, ``log/**``, ``core/integrations/mixins/sync_raw.py``). Every ``/v1`` and ingest call
carries ``Authorization: Bearer <token from row 1>`` (else 401, after which Ocean fetches a new token)
and ``User-Agent: port-ocean/<type>/<version>/<id>[/exporter]`` (an entity's ``datasource``). Errors
are Port's ``{"ok": false, "error": "<code>", "message": "…"}``; a body that does not match an
endpoint's schema (missing or extra keys, wrong types) gets 422 ``invalid_request``.

===  ======  ==============================================================  ==========================================================================
 #   method  path (query) — body                                             when Ocean calls it — what Ocean reads from the answer
===  ======  ==============================================================  ==========================================================================
**Start-up and defaults** (``run.py`` runtime check, ``core/defaults/initialization``)
 1   POST    /v1/auth/access_token — {clientId, clientSecret}                 first call, on expiry, after a 401 — accessToken (a JWT: ``isMachine`` gates
                                                                              the actions processor), expiresIn, tokenType
 2   GET     /v1/integration/{id} (oceanCoreVersion, isPolling)               runtime check and defaults (404 = "create it"), mapping at every resync and
                                                                              live event, ingest URLs, ONCE listener, shutdown — integration.{installationType,
                                                                              config, createPortResourcesOrigin, arePortResourcesInitialized,
                                                                              changelogDestination, installationAppType, version, actionsProcessingEnabled,
                                                                              incrementalSyncEnabled, processingMode, resyncState.status,
                                                                              logAttributes.ingestUrl, metricAttributes.ingestUrl, ingestAttributes.ingestUrl}
 3   GET     /v1/integration/provision-enabled                                defaults — integrations (types Port provisions; [] = Default origin)
 4   GET     /v1/organization                                                 defaults, lakehouse/DSP checks (cached 300 s) — organization.{featureFlags,
                                                                              isBlocked} ([] flags: no lakehouse, no DSP)
 5   POST    /v1/integration — {installationId, installationAppType, version,  only when #2 answered 404 (409 if it exists) — integration
             changelogDestination, config, actionsProcessingEnabled,
             incrementalSyncEnabled, createPortResourcesOrigin}
 6   PATCH   /v1/integration/{id} — {installationAppType?, changelogDestination?, when one of those differs from #2; {arePortResourcesInitialized: true,
             actionsProcessingEnabled?, incrementalSyncEnabled?,              version} after defaults — integration
             processingMode?, arePortResourcesInitialized?, config?, version}
 7   PATCH   /v1/integration/{id}/config — {config} (x-skip-resync header)    defaults, when the integration's config is empty — integration
 8   GET     /v1/blueprints/{bp}                                              defaults (each blueprint; any found = skip creation), before deleting stale
                                                                              entities (their relations protect related ones), JQ mapping misconfigurations
                                                                              (cached 120 s) — blueprint.{identifier, title, schema, relations.*.{target,
                                                                              many, required}}; 404
 9   POST    /v1/blueprints — blueprint without relations/mirror/calc/agg     defaults, when none of #8 exist (409 if it does) — blueprint.identifier
10   PATCH   /v1/blueprints/{bp} — + relations, then + mirror/calc/agg props  defaults, after #9 (relation targets must exist) — status only
11   DELETE  /v1/blueprints/{bp}                                              defaults rollback, when a #9 failed (409 while it has entities) — status only
12   POST    /v1/actions — {identifier, title, trigger, invocationMethod, …}  defaults, per ``actions.json`` entry (409 duplicate, 404 unknown blueprint)
12b  GET|PUT /v1/actions/{identifier}                                   the integration's on_start (not Ocean): its shipped actions pointed at its identifier
13   POST    /v1/blueprints/{bp}/scorecards — {identifier, title, rules}      defaults, per ``scorecards.json`` entry (none here) — status only
14   POST    /v1/pages — {identifier, …}                                      defaults, per ``pages.json`` entry (none here) — status only
**Resync** (``sync_raw.py``, ``resync_state_updater``, ``helpers/metric``, ``log/handlers.py``)
15   PATCH   /v1/integration/{id}/resync-state — {status, lastResyncStart |   resync start (running), end (completed/failed/aborted), shutdown while running
             lastResyncEnd, nextResync, intervalInMinuets}                    — integration.resyncState.updatedAt (a KeyError without it: no resync)
16   POST    <logAttributes.ingestUrl> = /ingest/logs/{id} — {logs: […]}       log shipping, batched (off with APPLICATION__ENABLE_HTTP_LOGGING=false)
17   POST    <metricAttributes.ingestUrl>/syncMetrics                          after each kind and at resync end — status only
             = /ingest/metrics/{id}/syncMetrics — {syncKindsMetrics: […]}
18   PUT     /ingest/metrics/{id}/syncMetrics/resync/{eventId}/kind/{kindId}   per kind (``<kind>-<index>``, ``__runtime__``, ``__reconciliation__``) — status
             — {syncKindMetrics: {eventId, kindIdentifier, metrics, …}}
19   POST    /ingest/metrics/{id}/heartbeat — {eventId}                        every 10 s while a resync runs (status_heartbeat_interval_seconds) — status
20   POST    /v1/integration/{id}/kinds/{kind}/examples — {examples: […]}      first batch of each kind (off with OCEAN__SEND_RAW_DATA_EXAMPLES=false)
21   POST    /v1/blueprints/{bp}/entities/bulk (upsert, merge,                 every batch (≤ 20 entities, ≤ 1 MiB; else 422 / 413) — entities[].{index,
             create_missing_related_entities, validation_only,                identifier}, errors[].{index, identifier ("unknown" = search identifier),
             ocean_info_event_type, ocean_info_resync_id) — {entities: […]}   message}; a 413 makes Ocean fall back to #22
22   POST    /v1/blueprints/{bp}/entities (same query) — entity                after a 413 bulk, and for failed entities re-sent in dependency order — entity;
                                                                              404 {error: not_found} = unmet dependency (Ocean retries it later)
23   POST    /v1/entities/search (exclude_calculated_properties, include=…)   compare-with-Port before upserting a resync batch of > 10 (only changed ones are
             — {combinator, rules}                                            upserted), ``ocean.register_raw`` (which dropped entities are ours), live-event
                                                                              deletes (does it exist?) — entities[] (only the included fields)
24   POST    /v1/blueprints/entities/datasource-entities — {datasource_prefix, reconciliation: what this integration owns, updated before the resync started
             datasource_suffix, limit (≤ 5000), before?, from?}               — entities[].{identifier, blueprint}, next (page cursor, null at the end)
25   POST    /v1/blueprints/{bp}/bulk/entities/delete (delete_dependents,      stale entities (≤ 100 per call), live-event deletes, register_raw drops —
             ocean_info_…) — {entities: [identifier, …]}                     deletedEntities (only those it deleted)
**Live events**: webhook upsert #2 (mapping, cached 60 s) then #21 with ocean_info_event_type=http_request; webhook delete
#23 (does it exist?) then #25. An action's ``ocean.register_raw``: #21 with action_run, #23, #25.
**POLLING listener**
26   GET     /v1/integration/{id}/resync-request                              every ``interval`` — request.updatedAt (newer than the last resync = resync)
26b  GET|PUT|POST /v1/integration/{id}/cursor (kind, index) — {primary}     incremental sync: read before a kind ({cursor: null} at first), saved after it (PUT; 404 → POST)
**Actions processor** (``execution_manager.py``, ``mixins/actions*.py``, ``mixins/workflow_nodes.py``; header x-port-reserved-usage on 27–30 and 36)
27   POST    /v1/actions/runs/claim-pending — {installationId, limit,          every poll, alternating with #28 — runs[] (ActionRun: id, status, action.
             visibilityTimeoutMs, exclude?}                                   identifier, payload.{type, installationId, integrationActionType,
                                                                              integrationActionExecutionProperties})
28   POST    /v1/workflows/runs/claim-pending — same body, exclude = nodeUids  every poll — nodeRuns[] (WorkflowNodeRun: identifier, nodeUid, status, config)
29   PATCH   /v1/actions/runs/ack — {runId}                                    before executing a run (404 unknown run, 409 = another worker has it)
30   PATCH   /v1/workflows/runs/ack — {nodeRunIdentifier}                      same, for a workflow node run
31   PATCH   /v1/actions/runs/{runId} — {status?, statusLabel?, link?,          update_run_started (link, externalRunId), report_run_completed (status,
             externalRunId?, summary?, reauthRequired?}                       statusLabel), patch_run — status only (422 once the run has ended)
32   PATCH   /v1/workflows/nodes/runs/{id} — {status?, result?, output?,        the same for node runs (status IN_PROGRESS/COMPLETED + result, links,
             statusLabel: {text}?, externalRunId?, links?, reauthRequired?}   output.workflowRunUrl; statusLabel patch with a post_run_log label)
33   POST    /v1/actions/runs/{runId}/logs — {message, statusLabel?}           post_run_log, report_run_completed with a message, rate-limit notes
34   POST    /v1/workflows/nodes/runs/{id}/logs — {logs: [{level, message}]}   the same for node runs (level INFO/WARN/ERROR/DEBUG)
35   GET     /v1/actions/runs (version=v2, external_run_id)                    find_run_by_external_id, first — runs[] (empty = try #36)
36   GET     /v1/workflows/nodes/runs (external_run_id, include=nodeConfig)    find_run_by_external_id when #35 found nothing — nodeRuns[] ([] = no run; an
                                                                              error here raises out of find_run_by_external_id)
     —       is_run_in_progress                                               no request: reads the status of the run object Ocean already holds
**Shutdown**: #2 (resyncState.status), and if it is "running" #15 with aborted, then #17
===  ======  ==============================================================  ==========================================================================

Not served, so recorded in ``unknown_requests`` if Ocean ever calls them (none is called in these flows
with this stand-in's answers): KAFKA ``GET /v1/kafka-credentials``; incremental sync
``GET|PUT|POST /v1/integration/{id}/cursor``; lakehouse ``POST <ingestAttributes.ingestUrl>/lake/…`` and DSP
``POST /v1/lifecycle/…`` (only with the org flags LAKEHOUSE_ELIGIBLE / DATA_SOURCE_PROCESSOR_ENABLED);
``ocean defaults clean`` (``DELETE /v1/blueprints/{bp}/all-entities``, ``GET /v1/migrations/{id}``,
``DELETE /v1/integration/{id}``); organization secrets, probe results, OAuth broker and identity
propagation (``/v1/organization/secrets``, ``/v1/org/{org}/integration/probe/{id}``,
``/v1/workflows/nodes/runs/{id}/resume``). ``DELETE /v1/blueprints/{bp}/entities/{id}`` is served (Port
has it) though Ocean 0.55.4 no longer calls it in these flows.

Read-only views for tests and people: ``GET /_sandbox/`` (the page), ``/_sandbox/entities`` (JSON by
blueprint), ``/_sandbox/summary``, ``/_sandbox/rejected``, ``/_sandbox/unknown`` (unknown requests),
``/_sandbox/calls`` (requests per endpoint). Levers: ``POST /_sandbox/actions/runs`` and
``/_sandbox/workflows/runs`` (what clicking an action in Port does), ``POST /_sandbox/resync-request``.

"Changed live" (marked on the page): an upsert that changed an entity (new, or a different title,
properties or relations) and came from a live event or action (``ocean_info_event_type`` other than
``resync``, or none) or from a later resync than the first one this stand-in saw.
"""

from __future__ import annotations

import asyncio
import copy
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from sandbox.port.checks import (
    Refused,
    check_type,
    iso_time,
    json_object,
    not_found,
    one_of,
    only_keys,
    optional,
    refuse,
    require,
    string_list,
)
from sandbox.port.search import matches
from sandbox.port.validation import entity_errors

Entity = dict[str, Any]
Handler = Callable[[Request], Awaitable[Response]]

SIGNING_KEY = "sandbox-port-signing-key-of-32-bytes-or-more"
BULK_MAX_ENTITIES = 20
BULK_MAX_BYTES = 1024 * 1024
BULK_DELETE_MAX = 100
DATASOURCE_PAGE_MAX = 5000
RESERVED_USAGE = "x-port-reserved-usage"
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
BLUEPRINT_ID = re.compile(r"^[A-Za-z0-9@_=\-]+$")
PROPERTY_TYPES = {"string", "number", "boolean", "array", "object"}
INTEGRATION_CREATE_KEYS = {
    "installationId", "installationAppType", "version", "changelogDestination", "config",
    "actionsProcessingEnabled", "incrementalSyncEnabled", "createPortResourcesOrigin", "title",
}  # fmt: skip
INTEGRATION_PATCH_KEYS = {
    "installationAppType", "version", "changelogDestination", "config", "actionsProcessingEnabled",
    "incrementalSyncEnabled", "arePortResourcesInitialized", "processingMode", "oauthBrokerUrl", "spec", "title",
}  # fmt: skip
BLUEPRINT_KEYS = {
    "identifier", "title", "icon", "description", "schema", "calculationProperties", "mirrorProperties",
    "aggregationProperties", "relations", "teamInheritance", "ownership", "changelogDestination",
}  # fmt: skip
ENTITY_KEYS = {"identifier", "title", "icon", "blueprint", "team", "properties", "relations"}
ACTION_RUN_PATCH_KEYS = {"status", "statusLabel", "link", "externalRunId", "summary", "reauthRequired"}
NODE_RUN_PATCH_KEYS = {
    "status",
    "result",
    "output",
    "statusLabel",
    "externalRunId",
    "links",
    "reauthRequired",
}
INTERNAL_RUN_KEYS = {"acked", "claimed", "claimedUntil", "logs"}


def _now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _targets(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value] if value else []


@dataclass
class _Outcome:
    """What one entity upsert came to: stored (``error`` None) or refused with Port's code and words."""

    identifier: Any
    created: bool = False
    error: str | None = None
    message: str = ""


class SandboxPort:
    def __init__(self, client_id: str = "sandbox-client", client_secret: str = "sandbox-secret") -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.base_url = "http://127.0.0.1"
        self.latency_ms = 0.0  # added to every Port API answer (benchmarks: Port is remote)
        self.cursors: dict[tuple[str, str, str], str] = {}  # (integration, kind, index) -> incremental cursor
        self.integrations: dict[str, dict[str, Any]] = {}
        self.blueprints: dict[str, dict[str, Any]] = {}
        self.entities: dict[tuple[str, str], Entity] = {}
        self.actions: dict[str, dict[str, Any]] = {}
        self.scorecards: dict[tuple[str, str], dict[str, Any]] = {}
        self.pages: dict[str, dict[str, Any]] = {}
        self.rejected: list[dict[str, Any]] = []
        self.requests: Counter[str] = Counter()  # auth, upsert, deleted (entities), other (side calls)
        self.calls: Counter[str] = Counter()  # "<METHOD> <route>" → how often Ocean called it
        self.unknown_requests: list[str] = []  # "<METHOD> <path>" of every request no route serves
        self.ingested: Counter[str] = Counter()  # log lines, metrics, heartbeats, examples received
        self.resync_states: list[dict[str, Any]] = []
        self.resync_request: dict[str, Any] | None = None
        self.action_runs: dict[str, dict[str, Any]] = {}  # what users started in Port's UI, and what happened
        self.workflow_node_runs: dict[str, dict[str, Any]] = {}
        self.live_changes: dict[tuple[str, str], dict[str, str]] = {}  # key → {"at": updatedAt, "via": …}
        self._first_resync_id: str | None = None
        r = self._route
        self.app = Starlette(
            routes=[
                r("/v1/auth/access_token", self.access_token, ["POST"], auth=False),
                r("/v1/organization", self.organization, ["GET"]),
                r("/v1/integration/provision-enabled", self.provision_enabled, ["GET"]),
                r("/v1/integration", self.create_integration, ["POST"]),
                r("/v1/integration/{id}", self.integration, ["GET", "PATCH"]),
                r("/v1/integration/{id}/config", self.integration_config, ["PATCH"]),
                r("/v1/integration/{id}/resync-state", self.resync_state, ["PATCH"]),
                r("/v1/integration/{id}/resync-request", self.get_resync_request, ["GET"]),
                r("/v1/integration/{id}/cursor", self.cursor, ["GET", "PUT", "POST"]),
                r("/v1/integration/{id}/kinds/{kind}/examples", self.kind_examples, ["POST"]),
                r("/v1/blueprints", self.create_blueprint, ["POST"]),
                r("/v1/blueprints/entities/datasource-entities", self.datasource_entities, ["POST"]),
                r("/v1/blueprints/{bp}", self.blueprint, ["GET", "PATCH", "DELETE"]),
                r("/v1/blueprints/{bp}/entities/bulk", self.bulk_upsert, ["POST"]),
                r("/v1/blueprints/{bp}/entities", self.single_upsert, ["POST"]),
                r("/v1/blueprints/{bp}/bulk/entities/delete", self.bulk_delete, ["POST"]),
                r("/v1/blueprints/{bp}/entities/{identifier}", self.delete_entity, ["DELETE"]),
                r("/v1/blueprints/{bp}/scorecards", self.create_scorecard, ["POST"]),
                r("/v1/entities/search", self.search, ["POST"]),
                r("/v1/actions", self.create_action, ["POST"]),
                r("/v1/pages", self.create_page, ["POST"]),
                r("/v1/actions/runs/claim-pending", self.claim_pending, ["POST"]),
                r("/v1/actions/runs/ack", self.ack_run, ["PATCH"]),
                r("/v1/actions/runs", self.find_runs, ["GET"]),
                r("/v1/actions/runs/{id}", self.patch_run, ["PATCH"]),
                r("/v1/actions/runs/{id}/logs", self.run_log, ["POST"]),
                r("/v1/actions/{identifier}", self.action, ["GET", "PUT"]),  # after /v1/actions/runs…
                r("/v1/workflows/runs/claim-pending", self.claim_pending_node_runs, ["POST"]),
                r("/v1/workflows/runs/ack", self.ack_node_run, ["PATCH"]),
                r("/v1/workflows/nodes/runs", self.find_node_runs, ["GET"]),
                r("/v1/workflows/nodes/runs/{id}", self.patch_node_run, ["PATCH"]),
                r("/v1/workflows/nodes/runs/{id}/logs", self.node_run_logs, ["POST"]),
                r("/ingest/logs/{id}", self.ingest_logs, ["POST"]),
                r("/ingest/metrics/{id}/syncMetrics", self.ingest_sync_metrics, ["POST"]),
                r("/ingest/metrics/{id}/syncMetrics/resync/{event}/kind/{kind}", self.ingest_kind_metrics, ["PUT"]),
                r("/ingest/metrics/{id}/heartbeat", self.ingest_heartbeat, ["POST"]),
                r("/_sandbox/actions/runs", self.sandbox_action_runs, ["GET", "POST"], auth=False),
                r("/_sandbox/workflows/runs", self.sandbox_node_runs, ["GET", "POST"], auth=False),
                r("/_sandbox/resync-request", self.sandbox_resync_request, ["POST"], auth=False),
                r("/_sandbox", self.page, ["GET"], auth=False),
                r("/_sandbox/", self.page, ["GET"], auth=False),
                r("/_sandbox/entities", self.view_entities, ["GET"], auth=False),
                r("/_sandbox/summary", self.view_summary, ["GET"], auth=False),
                r("/_sandbox/rejected", self.view_rejected, ["GET"], auth=False),
                r("/_sandbox/unknown", self.view_unknown, ["GET"], auth=False),
                r("/_sandbox/calls", self.view_calls, ["GET"], auth=False),
                Route("/{path:path}", self.unknown, methods=ALL_METHODS),  # last: whatever nothing above serves
            ]
        )  # fmt: skip

    def _route(self, path: str, handler: Handler, methods: list[str], auth: bool = True) -> Route:
        async def endpoint(request: Request) -> Response:
            self.calls[f"{request.method} {path}"] += 1
            if self.latency_ms and path.startswith("/v1/"):  # a remote Port takes time to answer
                await asyncio.sleep(self.latency_ms / 1000)
            try:
                if auth:
                    self._check_token(request)
                return await handler(request)
            except Refused as refused:
                return refused.response()

        return Route(path, endpoint, methods=methods)

    def _check_token(self, request: Request) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            refuse("missing bearer token", 401, "unauthorized")
        try:
            jwt.decode(token, SIGNING_KEY, algorithms=["HS256"])
        except jwt.PyJWTError as error:
            refuse(f"invalid token: {error}", 401, "unauthorized")

    @staticmethod
    def _reserved_usage(request: Request) -> None:
        if request.headers.get(RESERVED_USAGE) != "true":
            refuse(f"this endpoint is for Port's own clients ({RESERVED_USAGE}: true)", 403, "forbidden")

    def snapshot(self) -> dict[str, Any]:
        """What Port holds now (integrations, blueprints, entities, actions…), to start later tests from."""
        return copy.deepcopy(
            {"integrations": self.integrations, "blueprints": self.blueprints, "entities": self.entities,
             "actions": self.actions, "scorecards": self.scorecards, "pages": self.pages}
        )  # fmt: skip

    def restore(self, snapshot: dict[str, Any]) -> None:
        """Put Port back to ``snapshot`` and forget what was counted since."""
        state = copy.deepcopy(snapshot)
        self.integrations, self.blueprints, self.entities = (
            state["integrations"],
            state["blueprints"],
            state["entities"],
        )
        self.actions = state.get("actions", {})
        self.scorecards = state.get("scorecards", {})
        self.pages = state.get("pages", {})
        self.rejected.clear()
        self.requests.clear()
        self.calls.clear()
        self.unknown_requests.clear()
        self.ingested.clear()
        self.resync_states.clear()
        self.live_changes.clear()
        self._first_resync_id = None

    @property
    def deletions(self) -> int:
        """Entities deleted since the start (or the last ``restore``)."""
        return self.requests["deleted"]

    async def unknown(self, request: Request) -> Response:
        line = f"{request.method} {request.url.path}"
        self.unknown_requests.append(line)
        return JSONResponse(
            {"ok": False, "error": "not_found", "message": f"the Port stand-in does not serve {line}"},
            status_code=404,
        )

    # --- auth and organization --------------------------------------------------------------------

    async def access_token(self, request: Request) -> Response:
        self.requests["auth"] += 1
        body = await json_object(request)
        only_keys(body, {"clientId", "clientSecret"})
        client_id, secret = require(body, "clientId", str), require(body, "clientSecret", str)
        if client_id != self.client_id or secret != self.client_secret:
            refuse("bad client credentials", 401, "unauthorized")
        claims = {"isMachine": True, "orgId": "org_sandbox", "exp": int(time.time()) + 3600}
        token = jwt.encode(claims, SIGNING_KEY, algorithm="HS256")
        return JSONResponse({"accessToken": token, "expiresIn": 3600, "tokenType": "Bearer"})

    async def organization(self, request: Request) -> Response:
        return JSONResponse(
            {"ok": True, "organization": {"id": "org_sandbox", "name": "Sandbox", "featureFlags": [], "isBlocked": False}}
        )  # fmt: skip

    async def provision_enabled(self, request: Request) -> Response:
        return JSONResponse({"ok": True, "integrations": []})

    def _side_call(self, what: str, count: int = 1) -> None:
        self.requests["other"] += 1
        self.ingested[what] += count

    # --- integrations -----------------------------------------------------------------------------

    def _integration_view(self, identifier: str) -> dict[str, Any]:
        integration = self.integrations[identifier]
        return {
            **integration,
            "identifier": identifier,
            "installationType": "OnPrem",
            "logAttributes": {"ingestId": identifier, "ingestUrl": f"{self.base_url}/ingest/logs/{identifier}"},
            "metricAttributes": {"ingestId": identifier, "ingestUrl": f"{self.base_url}/ingest/metrics/{identifier}"},
            # lakehouse only (the organization has no LAKEHOUSE_ELIGIBLE flag): not served, recorded if called
            "ingestAttributes": {"ingestUrl": f"{self.base_url}/ingest/lake/{identifier}"},
        }  # fmt: skip

    def _known_integration(self, request: Request) -> str:
        identifier = str(request.path_params["id"])
        if identifier not in self.integrations:
            not_found(f"integration {identifier}")
        return identifier

    @staticmethod
    def _check_config(config: Any, what: str) -> None:
        check_type(config, dict, what)
        if not config:
            return
        resources = require(config, "resources", list, what)
        for index, resource in enumerate(resources):
            check_type(resource, dict, f"{what}.resources[{index}]")
            require(resource, "kind", str, f"{what}.resources[{index}]")
            require(resource, "port", dict, f"{what}.resources[{index}]")

    def _check_integration_fields(self, body: dict[str, Any]) -> None:
        for key in ("installationAppType", "version", "oauthBrokerUrl", "title"):
            optional(body, key, str)
        for key in ("actionsProcessingEnabled", "incrementalSyncEnabled", "arePortResourcesInitialized"):
            optional(body, key, bool)
        optional(body, "changelogDestination", dict)
        optional(body, "spec", dict)
        if "config" in body:
            self._check_config(body["config"], "body.config")
        if body.get("processingMode") is not None:
            one_of(body["processingMode"], {"ocean-core", "dsp"}, "body.processingMode")

    async def create_integration(self, request: Request) -> Response:
        body = await json_object(request)
        only_keys(body, INTEGRATION_CREATE_KEYS)
        identifier = require(body, "installationId", str)
        require(body, "installationAppType", str)
        self._check_integration_fields(body)
        if body.get("createPortResourcesOrigin") is not None:
            one_of(body["createPortResourcesOrigin"], {"Empty", "Ocean", "Default", "Port"}, "body.createPortResourcesOrigin")  # fmt: skip
        if identifier in self.integrations:
            refuse(f"integration {identifier} already exists", 409, "conflict")
        now = _now_iso()
        self.integrations[identifier] = {
            **body, "resyncState": {"status": "completed", "updatedAt": now}, "createdAt": now, "updatedAt": now,
        }  # fmt: skip
        return JSONResponse({"ok": True, "integration": self._integration_view(identifier)}, status_code=201)

    async def integration(self, request: Request) -> Response:
        identifier = self._known_integration(request)
        if request.method == "PATCH":
            body = await json_object(request)
            only_keys(body, INTEGRATION_PATCH_KEYS)
            self._check_integration_fields(body)
            self.integrations[identifier].update({**body, "updatedAt": _now_iso()})
        return JSONResponse({"ok": True, "integration": self._integration_view(identifier)})

    async def integration_config(self, request: Request) -> Response:
        identifier = self._known_integration(request)
        body = await json_object(request)
        only_keys(body, {"config"})
        self._check_config(require(body, "config", dict), "body.config")
        self.integrations[identifier].update({"config": body["config"], "updatedAt": _now_iso()})
        return JSONResponse({"ok": True, "integration": self._integration_view(identifier)})

    async def resync_state(self, request: Request) -> Response:
        identifier = self._known_integration(request)
        body = await json_object(request)
        only_keys(body, {"status", "lastResyncStart", "lastResyncEnd", "nextResync", "intervalInMinuets"})
        one_of(require(body, "status", str), {"running", "completed", "failed", "aborted"}, "body.status")
        for key in ("lastResyncStart", "lastResyncEnd", "nextResync"):
            if body.get(key) is not None:
                iso_time(body[key], f"body.{key}")
        optional(body, "intervalInMinuets", int)
        previous = self.integrations[identifier].get("resyncState") or {}
        state = {**previous, **body, "updatedAt": _now_iso()}
        self.resync_states.append(state)
        self.integrations[identifier]["resyncState"] = state
        return JSONResponse({"ok": True, "integration": self._integration_view(identifier)})

    async def cursor(self, request: Request) -> Response:
        """Incremental sync's cursor per kind and mapping index: GET answers ``{"cursor": null}`` before the
        first save; PUT updates (404 when there is none yet, then Ocean POSTs)."""
        identifier = request.path_params["id"]
        if identifier not in self.integrations:
            not_found(f"integration {identifier}")
        kind, index = request.query_params.get("kind"), request.query_params.get("index")
        if not kind or index is None:
            refuse("query.kind and query.index are required")
        key = (identifier, str(kind), str(index))
        if request.method == "GET":
            value = self.cursors.get(key)
            return JSONResponse({"ok": True, "cursor": {"primary": value} if value else None})
        body = await json_object(request)
        primary = require(body, "primary", str)
        if request.method == "PUT" and key not in self.cursors:
            not_found(f"cursor of {kind}")
        if request.method == "POST" and key in self.cursors:
            refuse(f"cursor of {kind} exists", 409, "conflict")
        self.cursors[key] = str(primary)
        return JSONResponse(
            {"ok": True, "cursor": {"primary": primary}}, status_code=201 if request.method == "POST" else 200
        )

    async def get_resync_request(self, request: Request) -> Response:
        self._known_integration(request)
        return JSONResponse({"ok": True, "request": self.resync_request})

    def request_resync(self) -> dict[str, Any]:
        """What "Resync" in Port's UI does: the POLLING listener resyncs at its next poll."""
        self.resync_request = {"id": f"rr_{len(self.resync_states):04d}", "updatedAt": _now_iso()}
        return self.resync_request

    async def sandbox_resync_request(self, request: Request) -> Response:
        return JSONResponse(self.request_resync())

    async def kind_examples(self, request: Request) -> Response:
        self._known_integration(request)
        body = await json_object(request)
        only_keys(body, {"examples"})
        examples = require(body, "examples", list)
        self._side_call("examples", len(examples))
        return JSONResponse({"ok": True})

    # --- ingest (the URLs handed out in logAttributes / metricAttributes) -----------------------------

    async def ingest_logs(self, request: Request) -> Response:
        self._known_integration(request)
        body = await json_object(request)
        only_keys(body, {"logs"})
        logs = require(body, "logs", list)
        for index, line in enumerate(logs):
            check_type(line, dict, f"body.logs[{index}]")
        self._side_call("log lines", len(logs))
        return JSONResponse({"ok": True})

    async def ingest_sync_metrics(self, request: Request) -> Response:
        self._known_integration(request)
        body = await json_object(request)
        only_keys(body, {"syncKindsMetrics"})
        metrics = require(body, "syncKindsMetrics", list)
        for index, metric in enumerate(metrics):
            check_type(metric, dict, f"body.syncKindsMetrics[{index}]")
        self._side_call("sync metrics", len(metrics))
        return JSONResponse({"ok": True})

    async def ingest_kind_metrics(self, request: Request) -> Response:
        self._known_integration(request)
        body = await json_object(request)
        only_keys(body, {"syncKindMetrics"})
        metric = require(body, "syncKindMetrics", dict)
        for key, param in (("eventId", "event"), ("kindIdentifier", "kind")):
            in_path = str(request.path_params[param])
            if require(metric, key, str, "body.syncKindMetrics") not in (in_path, in_path.replace("+", " ")):
                refuse(
                    f"body.syncKindMetrics.{key} {metric[key]!r} is not the {param} in the path ({in_path!r})"
                )
        self._side_call("kind metrics")
        return JSONResponse({"ok": True})

    async def ingest_heartbeat(self, request: Request) -> Response:
        self._known_integration(request)
        body = await json_object(request)
        only_keys(body, {"eventId"})
        require(body, "eventId", str)
        self._side_call("heartbeats")
        return JSONResponse({"ok": True})

    # --- blueprints, actions, scorecards, pages -----------------------------------------------------

    def _known_blueprint(self, request: Request) -> str:
        identifier = str(request.path_params["bp"])
        if identifier not in self.blueprints:
            not_found(f"blueprint {identifier}")
        return identifier

    def _check_blueprint(self, identifier: str, body: dict[str, Any], existing: dict[str, Any]) -> None:
        """Port's blueprint rules for what ``body`` sets (``existing``: what the blueprint has already)."""
        only_keys(body, BLUEPRINT_KEYS)
        optional(body, "title", str)
        for key in ("icon", "description"):
            optional(body, key, str)
        if "schema" in body:
            schema = check_type(body["schema"], dict, "body.schema")
            only_keys(schema, {"properties", "required"}, "body.schema")
            properties = require(schema, "properties", dict, "body.schema")
            for name, prop in properties.items():
                check_type(prop, dict, f"body.schema.properties.{name}")
                one_of(require(prop, "type", str, f"body.schema.properties.{name}"), PROPERTY_TYPES,
                       f"body.schema.properties.{name}.type")  # fmt: skip
            for name in string_list(schema.get("required", []), "body.schema.required"):
                if name not in properties:
                    refuse(f"body.schema.required names {name!r}, which is not a property")
        relations = {**(existing.get("relations") or {}), **(optional(body, "relations", dict) or {})}
        for name, relation in (body.get("relations") or {}).items():
            what = f"body.relations.{name}"
            check_type(relation, dict, what)
            only_keys(relation, {"title", "description", "target", "required", "many"}, what)
            target = require(relation, "target", str, what)
            optional(relation, "required", bool, what)
            optional(relation, "many", bool, what)
            if target != identifier and target not in self.blueprints:
                not_found(f"{what}: target blueprint {target}")
        for name, mirror in (optional(body, "mirrorProperties", dict) or {}).items():
            check_type(mirror, dict, f"body.mirrorProperties.{name}")
            path = require(mirror, "path", str, f"body.mirrorProperties.{name}")
            if path.split(".")[0] not in relations:
                refuse(f"body.mirrorProperties.{name}.path {path!r} does not start with a relation")
        for name, calculated in (optional(body, "calculationProperties", dict) or {}).items():
            check_type(calculated, dict, f"body.calculationProperties.{name}")
            require(calculated, "calculation", str, f"body.calculationProperties.{name}")
            one_of(require(calculated, "type", str, f"body.calculationProperties.{name}"), PROPERTY_TYPES,
                   f"body.calculationProperties.{name}.type")  # fmt: skip
        for name, aggregation in (optional(body, "aggregationProperties", dict) or {}).items():
            what = f"body.aggregationProperties.{name}"
            check_type(aggregation, dict, what)
            target = require(aggregation, "target", str, what)
            require(aggregation, "calculationSpec", dict, what)
            if target != identifier and target not in self.blueprints:
                not_found(f"{what}: target blueprint {target}")

    @staticmethod
    def _normalised(blueprint: dict[str, Any]) -> dict[str, Any]:
        """As Port answers: every relation with its ``required`` and ``many`` flags filled in."""
        relations = {
            name: {"title": name, "required": False, "many": False, **relation}
            for name, relation in (blueprint.get("relations") or {}).items()
        }
        return {**blueprint, "relations": relations}

    async def create_blueprint(self, request: Request) -> Response:
        body = await json_object(request)
        identifier = require(body, "identifier", str)
        if not BLUEPRINT_ID.match(identifier):
            refuse(f"body.identifier {identifier!r} must match {BLUEPRINT_ID.pattern}")
        require(body, "title", str)
        require(body, "schema", dict)
        self._check_blueprint(identifier, body, {})
        if identifier in self.blueprints:
            refuse(f"blueprint {identifier} already exists", 409, "conflict")
        now = _now_iso()
        self.blueprints[identifier] = self._normalised({**body, "createdAt": now, "updatedAt": now})
        return JSONResponse({"ok": True, "blueprint": self.blueprints[identifier]}, status_code=201)

    async def blueprint(self, request: Request) -> Response:
        identifier = self._known_blueprint(request)
        if request.method == "DELETE":
            if any(bp == identifier for bp, _ in self.entities):
                refuse(f"blueprint {identifier} has entities; delete them first", 409, "has_dependents")
            del self.blueprints[identifier]
            return JSONResponse({"ok": True})
        if request.method == "PATCH":
            changes = await json_object(request)
            if changes.get("identifier", identifier) != identifier:
                refuse(f"body.identifier {changes['identifier']!r} is not {identifier!r}")
            self._check_blueprint(identifier, changes, self.blueprints[identifier])
            blueprint = self.blueprints[identifier]
            for key, value in changes.items():
                if isinstance(value, dict) and isinstance(blueprint.get(key), dict):
                    blueprint[key] = {**blueprint[key], **value}
                else:
                    blueprint[key] = value
            self.blueprints[identifier] = self._normalised({**blueprint, "updatedAt": _now_iso()})
        return JSONResponse({"ok": True, "blueprint": self.blueprints[identifier]})

    async def create_action(self, request: Request) -> Response:
        body = await json_object(request)
        identifier = self._checked_action(body)
        if identifier in self.actions:
            refuse(f"action {identifier} already exists", 409, "conflict")
        self.actions[identifier] = body
        self._side_call("actions")
        return JSONResponse({"ok": True, "action": body}, status_code=201)

    async def action(self, request: Request) -> Response:
        """``GET /v1/actions/{identifier}``; ``PUT`` replaces it (the integration points its shipped actions
        at its own identifier this way)."""
        identifier = request.path_params["identifier"]
        if identifier not in self.actions:
            not_found(f"action {identifier}")
        if request.method == "PUT":
            body = await json_object(request)
            if self._checked_action(body) != identifier:
                refuse("body.identifier must match the action in the path")
            self.actions[identifier] = body
        return JSONResponse({"ok": True, "action": self.actions[identifier]})

    def _checked_action(self, body: dict[str, Any]) -> str:
        only_keys(body, {"identifier", "title", "icon", "description", "trigger", "invocationMethod",
                         "requiredApproval", "approvalNotification", "publish", "allowAnyoneToViewRuns"})  # fmt: skip
        identifier = require(body, "identifier", str)
        optional(body, "title", str)
        trigger = require(body, "trigger", dict)
        if one_of(require(trigger, "type", str, "body.trigger"), {"self-service", "automation"}, "body.trigger.type") == "self-service":  # fmt: skip
            operation = one_of(require(trigger, "operation", str, "body.trigger"), {"CREATE", "DAY-2", "DELETE"}, "body.trigger.operation")  # fmt: skip
            blueprint = optional(trigger, "blueprintIdentifier", str, "body.trigger")
            if operation != "CREATE" and blueprint is None:
                refuse("body.trigger must have required property 'blueprintIdentifier'")
            if blueprint is not None and blueprint not in self.blueprints:
                not_found(f"blueprint {blueprint}")
            optional(trigger, "userInputs", dict, "body.trigger")
        require(require(body, "invocationMethod", dict), "type", str, "body.invocationMethod")
        return str(identifier)

    async def create_scorecard(self, request: Request) -> Response:
        blueprint = self._known_blueprint(request)
        body = await json_object(request)
        identifier = require(body, "identifier", str)
        require(body, "title", str)
        for index, rule in enumerate(require(body, "rules", list)):
            check_type(rule, dict, f"body.rules[{index}]")
        if (blueprint, identifier) in self.scorecards:
            refuse(f"scorecard {identifier} already exists", 409, "conflict")
        self.scorecards[(blueprint, identifier)] = body
        self._side_call("scorecards")
        return JSONResponse({"ok": True, "scorecard": body}, status_code=201)

    async def create_page(self, request: Request) -> Response:
        body = await json_object(request)
        identifier = require(body, "identifier", str)
        if identifier in self.pages:
            refuse(f"page {identifier} already exists", 409, "conflict")
        self.pages[identifier] = body
        self._side_call("pages")
        return JSONResponse({"ok": True, "page": body}, status_code=201)

    # --- entities ---------------------------------------------------------------------------------

    def _resolve_search(self, blueprint_id: str, query: Any, what: str) -> list[str]:
        """Identifiers a search relation / search identifier resolves to in ``blueprint_id``."""
        self._check_query(query, what)
        return [
            e["identifier"] for (bp, _), e in self.entities.items()
            if bp == blueprint_id and not e.get("stub") and self._matches(e, query)
        ]  # fmt: skip

    def _upsert(self, blueprint_id: str, entity: Any, request: Request) -> _Outcome:
        """Store ``entity`` as Port would, or say why Port refuses it."""
        blueprint = self.blueprints[blueprint_id]
        if not isinstance(entity, dict):
            return _Outcome(
                None, error="invalid_request", message=f"an entity must be an object, got {entity!r:.80}"
            )
        identifier = entity.get("identifier")

        def refused(error: str, message: str, ident: Any = identifier) -> _Outcome:
            if error == "invalid_request":
                self.rejected.append({"blueprint": blueprint_id, "identifier": ident, "errors": [message]})
            return _Outcome(ident, error=error, message=message)

        extra = sorted(set(entity) - ENTITY_KEYS)
        if extra:
            return refused("invalid_request", f"entity must NOT have additional properties: {extra}")
        if entity.get("blueprint") not in (None, blueprint_id):
            return refused(
                "invalid_request", f"entity blueprint {entity['blueprint']!r} is not {blueprint_id!r}"
            )
        for field, types in (("title", str), ("icon", str), ("properties", dict), ("relations", dict)):
            if entity.get(field) is not None and not isinstance(entity[field], types):
                return refused(
                    "invalid_request", f"entity {field} must be {types.__name__}, got {entity[field]!r:.60}"
                )
        if entity.get("team") not in (None, [], ""):
            return refused("not_found", f"team {entity['team']!r} was not found")
        try:
            if isinstance(identifier, dict):  # a search identifier: the one entity it finds
                found = self._resolve_search(blueprint_id, identifier, "identifier")
                if len(found) != 1:
                    return refused("not_found", f"search identifier matched {len(found)} entities", "unknown")
                identifier = found[0]
            relations = dict(entity.get("relations") or {})
            for name, value in relations.items():
                if isinstance(value, dict) and name in blueprint["relations"]:  # a search relation
                    found = self._resolve_search(
                        blueprint["relations"][name]["target"], value, f"relations.{name}"
                    )
                    if blueprint["relations"][name]["many"]:
                        relations[name] = found
                    elif len(found) != 1:
                        return refused("not_found", f"search relation {name} matched {len(found)} entities")
                    else:
                        relations[name] = found[0]
        except Refused as bad_query:
            return refused("invalid_request", bad_query.message)
        resolved = {**entity, "identifier": identifier, "relations": relations}
        errors = entity_errors(resolved, blueprint)
        if errors:
            self.rejected.append({"blueprint": blueprint_id, "identifier": identifier, "errors": errors})
            return _Outcome(identifier, error="invalid_request", message="; ".join(errors))
        key = (blueprint_id, str(identifier))
        existing = self.entities.get(key)
        if (
            existing is not None
            and not existing.get("stub")
            and request.query_params.get("upsert") == "false"
        ):
            return refused("conflict", f"entity {identifier} of blueprint {blueprint_id} already exists")
        missing = [
            (blueprint["relations"][name]["target"], target)
            for name, value in relations.items() for target in _targets(value)
            if (blueprint["relations"][name]["target"], target) not in self.entities
        ]  # fmt: skip
        create_missing = request.query_params.get("create_missing_related_entities") == "true"
        if missing and not create_missing:
            target_bp, target = missing[0]
            return refused("not_found", f"related entity {target} of blueprint {target_bp} was not found")
        if request.query_params.get("validation_only") == "true":
            return _Outcome(identifier, created=existing is None)
        now = _now_iso()
        for target_bp, target in missing:
            if target_bp == blueprint_id and target == identifier:
                continue
            self.entities[(target_bp, target)] = {"identifier": target, "blueprint": target_bp,
                                                  "properties": {}, "relations": {}, "stub": True,
                                                  "createdAt": now, "updatedAt": now}  # fmt: skip
        merge = (
            request.query_params.get("merge") == "true" and existing is not None and not existing.get("stub")
        )
        before = existing or {}
        properties = {**before.get("properties", {}), **(entity.get("properties") or {})} if merge else entity.get("properties") or {}  # fmt: skip
        relations = {**before.get("relations", {}), **relations} if merge else relations
        stored = {
            "identifier": identifier, "blueprint": blueprint_id,
            "title": entity.get("title", before.get("title")) if merge else entity.get("title"),
            "properties": properties, "relations": relations,
            "datasource": request.headers.get("user-agent", ""),
            "createdAt": before.get("createdAt", now), "updatedAt": now,
        }  # fmt: skip
        self.entities[key] = stored
        self._note_change(key, before, stored, request)
        return _Outcome(identifier, created=existing is None or bool(existing.get("stub")))

    def _note_change(self, key: tuple[str, str], before: Entity, after: Entity, request: Request) -> None:
        event_type = request.query_params.get("ocean_info_event_type")
        resync_id = request.query_params.get("ocean_info_resync_id")
        if event_type == "resync" and self._first_resync_id is None:
            self._first_resync_id = resync_id
        live = event_type != "resync" or resync_id != self._first_resync_id
        changed = not before or before.get("stub") or any(before.get(k) != after.get(k) for k in ("title", "properties", "relations"))  # fmt: skip
        if live and changed:
            self.live_changes[key] = {"at": after["updatedAt"], "via": event_type or "api"}

    async def bulk_upsert(self, request: Request) -> Response:
        blueprint_id = self._known_blueprint(request)
        self.requests["upsert"] += 1
        body = await json_object(request, max_bytes=BULK_MAX_BYTES)
        only_keys(body, {"entities"})
        entities = require(body, "entities", list)
        if not 1 <= len(entities) <= BULK_MAX_ENTITIES:
            refuse(f"body.entities must have 1 to {BULK_MAX_ENTITIES} items, got {len(entities)}")
        ok, errors = [], []
        for index, entity in enumerate(entities):
            outcome = self._upsert(blueprint_id, entity, request)
            if outcome.error:
                errors.append({"index": index, "identifier": outcome.identifier, "error": outcome.error,
                               "message": outcome.message})  # fmt: skip
            else:
                ok.append({"index": index, "identifier": outcome.identifier, "created": outcome.created})
        return JSONResponse({"ok": True, "entities": ok, "errors": errors})

    async def single_upsert(self, request: Request) -> Response:
        blueprint_id = self._known_blueprint(request)
        entity = await json_object(request)
        outcome = self._upsert(blueprint_id, entity, request)
        if outcome.error:
            status = {"not_found": 404, "conflict": 409}.get(outcome.error, 422)
            refuse(outcome.message, status, outcome.error)
        stored = self.entities.get(
            (blueprint_id, outcome.identifier), {**entity, "identifier": outcome.identifier}
        )
        return JSONResponse({"ok": True, "entity": stored}, status_code=201 if outcome.created else 200)

    def _delete(self, blueprint_id: str, identifiers: list[str]) -> list[str]:
        deleted = [i for i in identifiers if self.entities.pop((blueprint_id, i), None) is not None]
        for identifier in deleted:
            self.live_changes.pop((blueprint_id, identifier), None)
        self.requests["deleted"] += len(deleted)
        return deleted

    async def bulk_delete(self, request: Request) -> Response:
        blueprint_id = self._known_blueprint(request)
        body = await json_object(request)
        only_keys(body, {"entities"})
        identifiers = string_list(require(body, "entities", list), "body.entities")
        if not 1 <= len(identifiers) <= BULK_DELETE_MAX:
            refuse(f"body.entities must have 1 to {BULK_DELETE_MAX} items, got {len(identifiers)}")
        return JSONResponse({"ok": True, "deletedEntities": self._delete(blueprint_id, identifiers)})

    async def delete_entity(self, request: Request) -> Response:
        blueprint_id = self._known_blueprint(request)
        if not self._delete(blueprint_id, [request.path_params["identifier"]]):
            not_found("entity")
        return JSONResponse({"ok": True})

    async def datasource_entities(self, request: Request) -> Response:
        body = await json_object(request)
        only_keys(body, {"datasource_prefix", "datasource_suffix", "limit", "before", "from"})
        prefix, suffix = require(body, "datasource_prefix", str), require(body, "datasource_suffix", str)
        limit = require(body, "limit", int)
        if not 1 <= limit <= DATASOURCE_PAGE_MAX:
            refuse(f"body.limit must be 1 to {DATASOURCE_PAGE_MAX}, got {limit}")
        before = iso_time(body["before"], "body.before") if body.get("before") is not None else None
        start = optional(body, "from", str) or "0"
        if not start.isdigit():
            refuse(f"body.from {start!r} is not a cursor this endpoint handed out")
        found = [
            {"identifier": e["identifier"], "blueprint": e["blueprint"]}
            for _, e in sorted(self.entities.items())
            if not e.get("stub") and e["datasource"].startswith(prefix) and e["datasource"].endswith(suffix)
            and (before is None or iso_time(e["updatedAt"], "updatedAt") < before)
        ]  # fmt: skip
        offset = int(start)
        page = found[offset : offset + limit]
        following = str(offset + limit) if offset + limit < len(found) else None
        return JSONResponse({"ok": True, "entities": page, "next": following})

    def _check_query(self, query: Any, what: str = "query") -> None:
        check_type(query, dict, what)
        if "combinator" not in query and what == "query":
            refuse(f"{what!r} must have required property 'combinator'")
        if "combinator" in query:
            only_keys(query, {"combinator", "rules"}, what)
            one_of(query["combinator"], {"and", "or"}, f"{what}.combinator")
            for index, rule in enumerate(require(query, "rules", list, what)):
                self._check_query(rule, f"{what}.rules[{index}]")
            return
        only_keys(query, {"property", "operator", "value"}, what)
        require(query, "property", str, what)
        require(query, "operator", str, what)

    def _matches(self, entity: Entity, query: dict[str, Any]) -> bool:
        try:
            return matches(entity, query)
        except ValueError as error:  # an operator Ocean did not use before: the stand-in must learn it
            self.unknown_requests.append(f"POST /v1/entities/search ({error})")
            refuse(str(error))

    @staticmethod
    def _project(entity: Entity, include: list[str]) -> Entity:
        """Only the fields ``include`` asks for, as Port answers a search with ``include``."""
        if not include:
            return {k: v for k, v in entity.items() if k != "stub"}
        projected: Entity = {}
        for field in include:
            group, _, name = field.partition(".")
            if name and group in ("properties", "relations"):
                values = projected.setdefault(group, {})
                if name in (entity.get(group) or {}):
                    values[name] = entity[group][name]
            elif field in entity:
                projected[field] = entity[field]
        return projected

    async def search(self, request: Request) -> Response:
        query = await json_object(request)
        self._check_query(query)
        include = request.query_params.getlist("include")
        found = [
            self._project(e, include) for e in self.entities.values() if not e.get("stub") and self._matches(e, query)
        ]  # fmt: skip
        return JSONResponse({"ok": True, "entities": found})

    # --- self-service action runs ---------------------------------------------------------------------

    def start_action_run(
        self, installation: str, action_type: str, properties: dict[str, Any]
    ) -> dict[str, Any]:
        """What clicking a self-service action in Port does: a pending run for the integration to claim."""
        run_id = f"r_{len(self.action_runs) + 1:04d}"
        self.action_runs[run_id] = {
            "id": run_id, "status": "IN_PROGRESS", "acked": False, "claimed": False, "claimedUntil": None,
            "logs": [], "link": None, "externalRunId": None, "statusLabel": None, "summary": None,
            "action": {"identifier": f"spacelift_{action_type}"},
            "payload": {"type": "INTEGRATION_ACTION", "installationId": installation,
                        "integrationActionType": action_type, "integrationActionExecutionProperties": properties},
            "createdAt": _now_iso(),
        }  # fmt: skip
        return self.action_runs[run_id]

    def click_action(self, action_identifier: str, properties: dict[str, Any]) -> dict[str, Any]:
        """Run a stored self-service action as Port does: the run goes to the installation and action type
        its invocation method names (``properties`` stand for the rendered execution properties)."""
        invocation = self.actions[action_identifier]["invocationMethod"]
        run = self.start_action_run(
            invocation["installationId"], invocation["integrationActionType"], properties
        )
        run["action"] = {"identifier": action_identifier}
        return run

    def start_workflow_node_run(
        self, installation: str, action_type: str, properties: dict[str, Any], node_uid: str | None = None
    ) -> dict[str, Any]:
        """A workflow reaching an integration-action node: a pending node run for the integration to claim."""
        run_id = f"wfnr_{len(self.workflow_node_runs) + 1:04d}"
        self.workflow_node_runs[run_id] = {
            "identifier": run_id, "nodeUid": node_uid or f"node_{action_type}", "status": "IN_PROGRESS",
            "result": None, "acked": False, "claimed": False, "claimedUntil": None, "logs": [], "output": {},
            "links": [], "externalRunId": None, "statusLabel": None,
            "config": {"type": "INTEGRATION_ACTION", "installationId": installation, "integrationProvider": "spacelift",
                       "integrationInvocationType": action_type, "integrationActionExecutionProperties": properties},
            "createdAt": _now_iso(),
        }  # fmt: skip
        return self.workflow_node_runs[run_id]

    @staticmethod
    def _public_run(run: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in run.items() if k not in INTERNAL_RUN_KEYS}

    @staticmethod
    async def _claim_body(request: Request) -> dict[str, Any]:
        SandboxPort._reserved_usage(request)
        body = await json_object(request)
        only_keys(body, {"installationId", "limit", "visibilityTimeoutMs", "exclude"})
        require(body, "installationId", str)
        if require(body, "limit", int) < 1:
            refuse("body.limit must be at least 1")
        if require(body, "visibilityTimeoutMs", int) < 1:
            refuse("body.visibilityTimeoutMs must be at least 1")
        if "exclude" in body:
            string_list(body["exclude"], "body.exclude")
        return body

    @staticmethod
    def _claim(runs: list[dict[str, Any]], body: dict[str, Any], installation: Callable[[dict[str, Any]], str],
               key: Callable[[dict[str, Any]], str]) -> list[dict[str, Any]]:  # fmt: skip
        """Runs of ``body.installationId`` nobody holds (never claimed, or the claim's visibility timed out)."""
        now, excluded = time.monotonic(), set(body.get("exclude") or [])
        claimed: list[dict[str, Any]] = []
        for run in runs:
            if len(claimed) >= body["limit"]:
                break
            if run["acked"] or run["status"] != "IN_PROGRESS" or key(run) in excluded:
                continue
            if installation(run) != body["installationId"] or (run["claimedUntil"] or 0) > now:
                continue
            run["claimed"], run["claimedUntil"] = True, now + body["visibilityTimeoutMs"] / 1000
            claimed.append(SandboxPort._public_run(run))
        return claimed

    async def claim_pending(self, request: Request) -> Response:
        body = await self._claim_body(request)
        claimed = self._claim(list(self.action_runs.values()), body,
                              lambda r: r["payload"]["installationId"], lambda r: r["action"]["identifier"])  # fmt: skip
        return JSONResponse({"ok": True, "runs": claimed})

    async def claim_pending_node_runs(self, request: Request) -> Response:
        body = await self._claim_body(request)
        claimed = self._claim(list(self.workflow_node_runs.values()), body,
                              lambda r: r["config"]["installationId"], lambda r: r["nodeUid"])  # fmt: skip
        return JSONResponse({"ok": True, "nodeRuns": claimed})

    @staticmethod
    def _ack(run: dict[str, Any] | None, what: str) -> Response:
        if run is None:
            not_found(what)
        if run["acked"]:
            refuse(f"{what} is already acknowledged", 409, "run_already_acknowledged")
        if run["status"] != "IN_PROGRESS":
            refuse(f"{what} has already ended ({run['status']})", 409, "run_already_completed")
        run["acked"] = True
        return JSONResponse({"ok": True})

    async def ack_run(self, request: Request) -> Response:
        self._reserved_usage(request)
        body = await json_object(request)
        only_keys(body, {"runId"})
        run_id = require(body, "runId", str)
        return self._ack(self.action_runs.get(run_id), f"run {run_id}")

    async def ack_node_run(self, request: Request) -> Response:
        self._reserved_usage(request)
        body = await json_object(request)
        only_keys(body, {"nodeRunIdentifier"})
        run_id = require(body, "nodeRunIdentifier", str)
        return self._ack(self.workflow_node_runs.get(run_id), f"workflow node run {run_id}")

    def _known_run(self, request: Request) -> dict[str, Any]:
        run = self.action_runs.get(request.path_params["id"])
        if run is None:
            not_found(f"run {request.path_params['id']}")
        return run

    def _known_node_run(self, request: Request) -> dict[str, Any]:
        run = self.workflow_node_runs.get(request.path_params["id"])
        if run is None:
            not_found(f"workflow node run {request.path_params['id']}")
        return run

    async def patch_run(self, request: Request) -> Response:
        run = self._known_run(request)
        changes = await json_object(request)
        only_keys(changes, ACTION_RUN_PATCH_KEYS)
        if changes.get("status") is not None:
            one_of(changes["status"], {"SUCCESS", "FAILURE"}, "body.status")
        for key in ("statusLabel", "externalRunId", "summary"):
            optional(changes, key, str)
        optional(changes, "reauthRequired", bool)
        if changes.get("link") is not None and not isinstance(changes["link"], str):
            string_list(changes["link"], "body.link")
        if run["status"] != "IN_PROGRESS":
            refuse(f"run {run['id']} has already ended ({run['status']})", 422, "run_already_completed")
        run.update(changes)
        return JSONResponse({"ok": True, "run": self._public_run(run)})

    async def patch_node_run(self, request: Request) -> Response:
        run = self._known_node_run(request)
        changes = await json_object(request)
        only_keys(changes, NODE_RUN_PATCH_KEYS)
        status = changes.get("status")
        if status is not None:
            one_of(status, {"IN_PROGRESS", "COMPLETED"}, "body.status")
        if changes.get("result") is not None:
            one_of(changes["result"], {"SUCCESS", "FAILED", "CANCELLED"}, "body.result")
        if status == "COMPLETED" and changes.get("result") is None:
            refuse("body.result is required when body.status is COMPLETED")
        optional(changes, "output", dict)
        optional(changes, "externalRunId", str)
        optional(changes, "reauthRequired", bool)
        if changes.get("statusLabel") is not None:
            label = check_type(changes["statusLabel"], dict, "body.statusLabel")
            only_keys(label, {"text"}, "body.statusLabel")
            require(label, "text", str, "body.statusLabel")
        if changes.get("links") is not None:
            string_list(changes["links"], "body.links")
        if run["status"] != "IN_PROGRESS":
            refuse(
                f"workflow node run {run['identifier']} has already completed", 422, "run_already_completed"
            )
        run.update(changes)
        return JSONResponse({"ok": True, "nodeRun": self._public_run(run)})

    async def run_log(self, request: Request) -> Response:
        run = self._known_run(request)
        body = await json_object(request)
        only_keys(body, {"message", "statusLabel"})
        message = require(body, "message", str)
        if optional(body, "statusLabel", str) is not None:
            run["statusLabel"] = body["statusLabel"]
        run["logs"].append(message)
        return JSONResponse({"ok": True})

    async def node_run_logs(self, request: Request) -> Response:
        run = self._known_node_run(request)
        body = await json_object(request)
        only_keys(body, {"logs"})
        logs = require(body, "logs", list)
        if not logs:
            refuse("body.logs must have at least 1 item")
        for index, line in enumerate(logs):
            what = f"body.logs[{index}]"
            check_type(line, dict, what)
            only_keys(line, {"level", "message"}, what)
            one_of(require(line, "level", str, what), {"INFO", "WARN", "ERROR", "DEBUG"}, f"{what}.level")
            require(line, "message", str, what)
        run["logs"].extend(line["message"] for line in logs)
        return JSONResponse({"ok": True})

    async def find_runs(self, request: Request) -> Response:
        if request.query_params.get("version") != "v2":
            refuse("query.version must be 'v2'")
        external = request.query_params.get("external_run_id")
        if not external:
            self.unknown_requests.append(
                f"GET /v1/actions/runs without external_run_id ({request.url.query})"
            )
            refuse("the stand-in finds runs by external_run_id only")
        runs = [self._public_run(r) for r in self.action_runs.values() if r["externalRunId"] == external]
        return JSONResponse({"ok": True, "runs": runs})

    async def find_node_runs(self, request: Request) -> Response:
        self._reserved_usage(request)
        external = request.query_params.get("external_run_id")
        if not external:
            self.unknown_requests.append(f"GET /v1/workflows/nodes/runs without external_run_id ({request.url.query})")  # fmt: skip
            refuse("the stand-in finds node runs by external_run_id only")
        with_config = "nodeConfig" in request.query_params.getlist("include")
        runs = [
            {**self._public_run(r), **({"node": {"config": r["config"]}} if with_config else {})}
            for r in self.workflow_node_runs.values() if r["externalRunId"] == external
        ]  # fmt: skip
        return JSONResponse({"ok": True, "nodeRuns": runs})

    async def sandbox_action_runs(self, request: Request) -> Response:
        if request.method == "POST":
            body = await json_object(request)
            run = self.start_action_run(
                body.get("installationId", "spacelift"),
                require(body, "action", str),
                body.get("properties", {}),
            )
            return JSONResponse(run)
        return JSONResponse(list(self.action_runs.values()))

    async def sandbox_node_runs(self, request: Request) -> Response:
        if request.method == "POST":
            body = await json_object(request)
            run = self.start_workflow_node_run(
                body.get("installationId", "spacelift"),
                require(body, "action", str),
                body.get("properties", {}),
            )
            return JSONResponse(run)
        return JSONResponse(list(self.workflow_node_runs.values()))

    # --- read-only views --------------------------------------------------------------------------

    def landed(self) -> dict[str, list[Entity]]:
        grouped: dict[str, list[Entity]] = {}
        for entity in self.entities.values():
            grouped.setdefault(entity["blueprint"], []).append(entity)
        return grouped

    def blueprint_counts(self) -> dict[str, dict[str, int]]:
        """Per blueprint: entities, placeholders (created for relations), relations filled and dangling,
        rejected entities, entities changed live."""
        real = {key for key, e in self.entities.items() if not e.get("stub")}
        counts: dict[str, dict[str, int]] = {}
        empty = {"entities": 0, "placeholders": 0, "relations_filled": 0, "relations_dangling": 0, "rejected": 0, "changed_live": 0}  # fmt: skip
        for blueprint in self.blueprints:
            counts[blueprint] = dict(empty)
        for (blueprint, _), entity in self.entities.items():
            row = counts.setdefault(blueprint, dict(empty))
            row["placeholders" if entity.get("stub") else "entities"] += 1
            relations = self.blueprints.get(blueprint, {}).get("relations", {})
            for name, value in (entity.get("relations") or {}).items():
                row["relations_filled"] += value not in (None, [])
                if not entity.get("stub") and name in relations:
                    row["relations_dangling"] += sum((relations[name]["target"], t) not in real for t in _targets(value))  # fmt: skip
        for rejected in self.rejected:
            counts.setdefault(rejected["blueprint"], dict(empty))["rejected"] += 1
        for blueprint, _ in self.recently_changed(len(self.live_changes)):
            counts[blueprint]["changed_live"] += 1
        return dict(sorted(counts.items()))

    def recently_changed(self, limit: int = 20) -> list[tuple[str, str]]:
        """Keys of the entities changed live, newest first."""
        live = [(change["at"], key) for key, change in self.live_changes.items() if key in self.entities]
        return [key for _, key in sorted(live, reverse=True)[:limit]]

    def summary(self) -> dict[str, Any]:
        landed = self.landed()
        counts = self.blueprint_counts()
        return {
            "entities": {bp: sum(1 for e in es if not e.get("stub")) for bp, es in sorted(landed.items())},
            "relations_filled": sum(c["relations_filled"] for c in counts.values()),
            "relations_dangling": sum(c["relations_dangling"] for c in counts.values()),
            "rejected": len(self.rejected),
            "unknown_requests": len(self.unknown_requests),
        }

    async def view_entities(self, request: Request) -> Response:
        return JSONResponse(self.landed())

    async def view_summary(self, request: Request) -> Response:
        return JSONResponse(self.summary())

    async def view_rejected(self, request: Request) -> Response:
        return JSONResponse(self.rejected)

    async def view_unknown(self, request: Request) -> Response:
        return JSONResponse(self.unknown_requests)

    async def view_calls(self, request: Request) -> Response:
        return JSONResponse(dict(sorted(self.calls.items())))

    async def page(self, request: Request) -> Response:
        from sandbox.port.page import render

        page = request.query_params.get("page", "1")
        return HTMLResponse(
            render(self, request.query_params.get("blueprint"), int(page) if page.isdigit() else 1)
        )
