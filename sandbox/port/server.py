"""An in-memory Port API covering what Ocean 0.55 calls (see ocean-framework.md §6.2), validating
blueprints and entities the way Port does, with a read-only view of what landed.

Read-only view: ``GET /_sandbox/entities`` (JSON by blueprint), ``GET /_sandbox/summary``,
``GET /_sandbox/`` (HTML page), ``GET /_sandbox/rejected`` (entities Port would have refused).
"""

from __future__ import annotations

import copy
import html
import json
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from sandbox.port.search import matches
from sandbox.port.validation import entity_errors

Entity = dict[str, Any]


def _now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _not_found(what: str) -> JSONResponse:
    return JSONResponse(
        {"ok": False, "error": "not_found", "message": f"{what} was not found"}, status_code=404
    )


class SandboxPort:
    def __init__(self, client_id: str = "sandbox-client", client_secret: str = "sandbox-secret") -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.base_url = "http://127.0.0.1"
        self.integrations: dict[str, dict[str, Any]] = {}
        self.blueprints: dict[str, dict[str, Any]] = {}
        self.entities: dict[tuple[str, str], Entity] = {}
        self.rejected: list[dict[str, Any]] = []
        self.requests: Counter[str] = Counter()
        self.resync_states: list[dict[str, Any]] = []
        self.action_runs: dict[str, dict[str, Any]] = {}  # what users started in Port's UI, and what happened
        self.app = Starlette(
            routes=[
                Route("/v1/auth/access_token", self.access_token, methods=["POST"]),
                Route("/v1/organization", self.organization, methods=["GET"]),
                Route("/v1/integration/provision-enabled", self.provision_enabled, methods=["GET"]),
                Route("/v1/integration", self.create_integration, methods=["POST"]),
                Route("/v1/integration/{id}", self.integration, methods=["GET", "PATCH"]),
                Route("/v1/integration/{id}/config", self.integration_config, methods=["PATCH"]),
                Route("/v1/integration/{id}/resync-state", self.resync_state, methods=["PATCH"]),
                Route("/v1/integration/{id}/resync-request", self.resync_request, methods=["GET"]),
                Route("/v1/integration/{id}/kinds/{kind}/examples", self.ok, methods=["POST"]),
                Route("/v1/blueprints", self.create_blueprint, methods=["POST"]),
                Route(
                    "/v1/blueprints/entities/datasource-entities", self.datasource_entities, methods=["POST"]
                ),
                Route("/v1/blueprints/{bp}", self.blueprint, methods=["GET", "PATCH"]),
                Route("/v1/blueprints/{bp}/entities/bulk", self.bulk_upsert, methods=["POST"]),
                Route("/v1/blueprints/{bp}/entities", self.single_upsert, methods=["POST"]),
                Route("/v1/blueprints/{bp}/bulk/entities/delete", self.bulk_delete, methods=["POST"]),
                Route("/v1/blueprints/{bp}/entities/{identifier}", self.delete_entity, methods=["DELETE"]),
                Route("/v1/entities/search", self.search, methods=["POST"]),
                Route("/v1/actions", self.ok, methods=["POST"]),
                Route("/v1/pages", self.ok, methods=["POST"]),
                Route("/v1/blueprints/{bp}/scorecards", self.ok, methods=["POST"]),
                Route("/ingest/{rest:path}", self.ok, methods=["POST", "PUT", "PATCH"]),
                Route("/v1/actions/runs/claim-pending", self.claim_pending, methods=["POST"]),
                Route("/v1/actions/runs/ack", self.ack_run, methods=["PATCH"]),
                Route("/v1/actions/runs", self.find_runs, methods=["GET"]),
                Route("/v1/actions/runs/{id}", self.patch_run, methods=["PATCH"]),
                Route("/v1/actions/runs/{id}/logs", self.run_log, methods=["POST"]),
                Route("/v1/workflows/runs/claim-pending", self.claim_no_workflow_runs, methods=["POST"]),
                Route("/_sandbox/actions/runs", self.sandbox_action_runs, methods=["GET", "POST"]),
                Route("/_sandbox/", self.page, methods=["GET"]),
                Route("/_sandbox/entities", self.view_entities, methods=["GET"]),
                Route("/_sandbox/summary", self.view_summary, methods=["GET"]),
                Route("/_sandbox/rejected", self.view_rejected, methods=["GET"]),
            ]
        )

    def snapshot(self) -> dict[str, Any]:
        """What Port holds now (integrations, blueprints, entities), to start later tests from."""
        return copy.deepcopy(
            {"integrations": self.integrations, "blueprints": self.blueprints, "entities": self.entities}
        )

    def restore(self, snapshot: dict[str, Any]) -> None:
        """Put Port back to ``snapshot`` and forget what was counted since."""
        state = copy.deepcopy(snapshot)
        self.integrations, self.blueprints, self.entities = (
            state["integrations"],
            state["blueprints"],
            state["entities"],
        )
        self.rejected.clear()
        self.requests.clear()
        self.resync_states.clear()

    @property
    def deletions(self) -> int:
        """Entities deleted since the start (or the last ``restore``)."""
        return self.requests["deleted"]

    # --- auth and organization --------------------------------------------------------------------

    async def access_token(self, request: Request) -> Response:
        self.requests["auth"] += 1
        body = await request.json()
        if body.get("clientId") != self.client_id or body.get("clientSecret") != self.client_secret:
            return JSONResponse(
                {"ok": False, "error": "unauthorized", "message": "bad client credentials"}, status_code=401
            )
        claims = {"isMachine": True, "orgId": "org_sandbox", "exp": int(time.time()) + 3600}
        token = jwt.encode(claims, "sandbox-port-signing-key-of-32-bytes-or-more", algorithm="HS256")
        return JSONResponse({"accessToken": token, "expiresIn": 3600, "tokenType": "Bearer"})

    async def organization(self, request: Request) -> Response:
        return JSONResponse({"organization": {"id": "org_sandbox", "featureFlags": [], "isBlocked": False}})

    async def provision_enabled(self, request: Request) -> Response:
        return JSONResponse({"integrations": []})

    async def ok(self, request: Request) -> Response:
        self.requests["other"] += 1
        return JSONResponse({"ok": True})

    # --- integrations -----------------------------------------------------------------------------

    def _integration_view(self, identifier: str) -> dict[str, Any]:
        integration = self.integrations[identifier]
        ingest = f"{self.base_url}/ingest/{identifier}"
        return {
            **integration,
            "identifier": identifier,
            "installationType": "OnPrem",
            "logAttributes": {"ingestId": identifier, "ingestUrl": ingest},
            "metricAttributes": {"ingestId": identifier, "ingestUrl": ingest},
            "ingestAttributes": {"ingestUrl": ingest},
        }

    async def create_integration(self, request: Request) -> Response:
        body = await request.json()
        identifier = body.get("installationId") or body.get("identifier")
        self.integrations[identifier] = {**body, "resyncState": {"status": "completed"}}
        return JSONResponse({"integration": self._integration_view(identifier)})

    async def integration(self, request: Request) -> Response:
        identifier = request.path_params["id"]
        if identifier not in self.integrations:
            return _not_found(f"integration {identifier}")
        if request.method == "PATCH":
            self.integrations[identifier].update(await request.json())
        return JSONResponse({"integration": self._integration_view(identifier)})

    async def integration_config(self, request: Request) -> Response:
        identifier = request.path_params["id"]
        if identifier not in self.integrations:
            return _not_found(f"integration {identifier}")
        self.integrations[identifier]["config"] = (await request.json())["config"]
        return JSONResponse({"integration": self._integration_view(identifier)})

    async def resync_state(self, request: Request) -> Response:
        identifier = request.path_params["id"]
        state = {**(await request.json()), "updatedAt": _now_iso()}
        self.resync_states.append(state)
        if identifier in self.integrations:
            self.integrations[identifier]["resyncState"] = state
        return JSONResponse({"integration": {"identifier": identifier, "resyncState": state}})

    async def resync_request(self, request: Request) -> Response:
        return JSONResponse({"request": None})

    # --- blueprints -------------------------------------------------------------------------------

    async def create_blueprint(self, request: Request) -> Response:
        body = await request.json()
        if not body.get("identifier") or not isinstance(body.get("schema", {}).get("properties", {}), dict):
            return JSONResponse(
                {"ok": False, "error": "invalid_blueprint", "message": "identifier and schema required"},
                status_code=422,
            )
        self.blueprints[body["identifier"]] = {"relations": {}, **body}
        return JSONResponse({"blueprint": body})

    async def blueprint(self, request: Request) -> Response:
        identifier = request.path_params["bp"]
        if identifier not in self.blueprints:
            return _not_found(f"blueprint {identifier}")
        if request.method == "PATCH":
            changes = await request.json()
            for key, value in changes.items():
                if isinstance(value, dict) and isinstance(self.blueprints[identifier].get(key), dict):
                    self.blueprints[identifier][key] = {**self.blueprints[identifier][key], **value}
                else:
                    self.blueprints[identifier][key] = value
        return JSONResponse({"blueprint": self.blueprints[identifier]})

    # --- entities ---------------------------------------------------------------------------------

    def _upsert(self, blueprint_id: str, entity: Entity, request: Request) -> str | None:
        """Store ``entity``; return why Port would reject it, if it would."""
        blueprint = self.blueprints.get(blueprint_id)
        if blueprint is None:
            return f"blueprint {blueprint_id} does not exist"
        errors = entity_errors(entity, blueprint)
        if errors:
            self.rejected.append(
                {"blueprint": blueprint_id, "identifier": entity.get("identifier"), "errors": errors}
            )
            return "; ".join(errors)
        create_missing = request.query_params.get("create_missing_related_entities") == "true"
        for name, target in (entity.get("relations") or {}).items():
            target_bp = blueprint["relations"][name]["target"]
            for identifier in target if isinstance(target, list) else [target] if target else []:
                if (target_bp, identifier) not in self.entities:
                    if not create_missing:
                        return f"relation {name}: {target_bp} {identifier} does not exist"
                    self.entities[(target_bp, identifier)] = {"identifier": identifier, "blueprint": target_bp,
                                                              "properties": {}, "relations": {}, "stub": True,
                                                              "createdAt": _now_iso(), "updatedAt": _now_iso()}  # fmt: skip
        key = (blueprint_id, entity["identifier"])
        existing = self.entities.get(key, {})
        merge = request.query_params.get("merge") == "true" and not existing.get("stub")
        properties = (
            {**(existing.get("properties") or {}), **(entity.get("properties") or {})}
            if merge
            else entity.get("properties") or {}
        )
        relations = (
            {**(existing.get("relations") or {}), **(entity.get("relations") or {})}
            if merge
            else entity.get("relations") or {}
        )
        self.entities[key] = {
            "identifier": entity["identifier"], "blueprint": blueprint_id, "title": entity.get("title"),
            "properties": properties, "relations": relations,
            "datasource": request.headers.get("user-agent", ""),
            "createdAt": existing.get("createdAt", _now_iso()), "updatedAt": _now_iso(),
        }  # fmt: skip
        return None

    async def bulk_upsert(self, request: Request) -> Response:
        blueprint_id = request.path_params["bp"]
        self.requests["upsert"] += 1
        body = await request.json()
        ok, errors = [], []
        for index, entity in enumerate(body.get("entities", [])):
            problem = self._upsert(blueprint_id, entity, request)
            if problem:
                errors.append({"index": index, "identifier": entity.get("identifier"), "message": problem})
            else:
                ok.append({"index": index, "identifier": entity["identifier"], "created": True})
        return JSONResponse({"entities": ok, "errors": errors})

    async def single_upsert(self, request: Request) -> Response:
        blueprint_id = request.path_params["bp"]
        entity = await request.json()
        problem = self._upsert(blueprint_id, entity, request)
        if problem:
            return JSONResponse({"ok": False, "error": "invalid_entity", "message": problem}, status_code=422)
        return JSONResponse({"ok": True, "entity": self.entities[(blueprint_id, entity["identifier"])]})

    def _delete(self, blueprint_id: str, identifiers: list[str]) -> list[str]:
        deleted = [i for i in identifiers if self.entities.pop((blueprint_id, i), None) is not None]
        self.requests["deleted"] += len(deleted)
        return deleted

    async def bulk_delete(self, request: Request) -> Response:
        body = await request.json()
        return JSONResponse(
            {"deletedEntities": self._delete(request.path_params["bp"], body.get("entities", []))}
        )

    async def delete_entity(self, request: Request) -> Response:
        deleted = self._delete(request.path_params["bp"], [request.path_params["identifier"]])
        return JSONResponse({"ok": bool(deleted)}) if deleted else _not_found("entity")

    async def datasource_entities(self, request: Request) -> Response:
        body = await request.json()
        prefix, suffix, before = (
            body.get("datasource_prefix", ""),
            body.get("datasource_suffix", ""),
            body.get("before"),
        )
        found = [
            {"identifier": e["identifier"], "blueprint": e["blueprint"]}
            for e in self.entities.values()
            if not e.get("stub") and e["datasource"].startswith(prefix) and e["datasource"].endswith(suffix)
            and (before is None or e["updatedAt"] < before.replace("+00:00", "Z"))
        ]  # fmt: skip
        return JSONResponse({"ok": True, "entities": found, "next": None})

    async def search(self, request: Request) -> Response:
        query = await request.json()
        found = [e for e in self.entities.values() if not e.get("stub") and matches(e, query)]
        return JSONResponse({"ok": True, "entities": found})

    # --- self-service action runs ---------------------------------------------------------------------

    def start_action_run(
        self, installation: str, action_type: str, properties: dict[str, Any]
    ) -> dict[str, Any]:
        """What clicking a self-service action in Port does: a pending run for the integration to claim."""
        run_id = f"r_{len(self.action_runs) + 1:04d}"
        self.action_runs[run_id] = {
            "id": run_id, "status": "IN_PROGRESS", "acked": False, "claimed": False, "logs": [], "link": None,
            "externalRunId": None, "statusLabel": None, "action": {"identifier": f"spacelift_{action_type}"},
            "payload": {"type": "INTEGRATION_ACTION", "installationId": installation,
                        "integrationActionType": action_type, "integrationActionExecutionProperties": properties},
        }  # fmt: skip
        return self.action_runs[run_id]

    def _public_run(self, run: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in run.items() if k not in ("acked", "claimed", "logs")}

    async def claim_pending(self, request: Request) -> Response:
        body = await request.json()
        excluded = set(body.get("exclude") or [])
        claimed: list[dict[str, Any]] = []
        for run in self.action_runs.values():
            if len(claimed) >= body.get("limit", 10):
                break
            if run["claimed"] or run["status"] != "IN_PROGRESS" or run["action"]["identifier"] in excluded:
                continue
            if run["payload"]["installationId"] != body.get("installationId"):
                continue
            run["claimed"] = True
            claimed.append(self._public_run(run))
        return JSONResponse({"runs": claimed})

    async def claim_no_workflow_runs(self, request: Request) -> Response:
        return JSONResponse({"nodeRuns": []})

    async def ack_run(self, request: Request) -> Response:
        run = self.action_runs.get((await request.json()).get("runId", ""))
        if run is None:
            return _not_found("run")
        if run["acked"]:
            return JSONResponse({"ok": False, "error": "already_acknowledged"}, status_code=409)
        run["acked"] = True
        return JSONResponse({"ok": True})

    async def patch_run(self, request: Request) -> Response:
        run = self.action_runs.get(request.path_params["id"])
        if run is None:
            return _not_found("run")
        if run["status"] != "IN_PROGRESS":
            return JSONResponse({"ok": False, "error": "run_already_completed"}, status_code=422)
        changes = await request.json()
        run.update(
            {
                k: v
                for k, v in changes.items()
                if k in ("status", "link", "externalRunId", "statusLabel", "summary")
            }
        )
        return JSONResponse({"ok": True, "run": self._public_run(run)})

    async def run_log(self, request: Request) -> Response:
        run = self.action_runs.get(request.path_params["id"])
        if run is None:
            return _not_found("run")
        run["logs"].append((await request.json()).get("message", ""))
        return JSONResponse({"ok": True})

    async def find_runs(self, request: Request) -> Response:
        external = request.query_params.get("external_run_id")
        runs = [
            self._public_run(r)
            for r in self.action_runs.values()
            if external and r["externalRunId"] == external
        ]
        return JSONResponse({"ok": True, "runs": runs})

    async def sandbox_action_runs(self, request: Request) -> Response:
        if request.method == "POST":
            body = await request.json()
            run = self.start_action_run(
                body.get("installationId", "spacelift"), body["action"], body.get("properties", {})
            )
            return JSONResponse(run)
        return JSONResponse(list(self.action_runs.values()))

    # --- read-only views --------------------------------------------------------------------------

    def landed(self) -> dict[str, list[Entity]]:
        grouped: dict[str, list[Entity]] = {}
        for entity in self.entities.values():
            grouped.setdefault(entity["blueprint"], []).append(entity)
        return grouped

    def summary(self) -> dict[str, Any]:
        landed = self.landed()
        real = {(e["blueprint"], e["identifier"]) for e in self.entities.values() if not e.get("stub")}
        dangling = sum(
            1 for e in self.entities.values() if not e.get("stub")
            for name, target in (e.get("relations") or {}).items()
            for identifier in (target if isinstance(target, list) else [target] if target else [])
            if (self.blueprints[e["blueprint"]]["relations"][name]["target"], identifier) not in real
        )  # fmt: skip
        filled = sum(
            1 for e in self.entities.values() for target in (e.get("relations") or {}).values()
            if target not in (None, [])
        )  # fmt: skip
        return {
            "entities": {bp: sum(1 for e in es if not e.get("stub")) for bp, es in sorted(landed.items())},
            "relations_filled": filled,
            "relations_dangling": dangling,
            "rejected": len(self.rejected),
        }

    async def view_entities(self, request: Request) -> Response:
        return JSONResponse(self.landed())

    async def view_summary(self, request: Request) -> Response:
        return JSONResponse(self.summary())

    async def view_rejected(self, request: Request) -> Response:
        return JSONResponse(self.rejected)

    async def page(self, request: Request) -> Response:
        rows = []
        for blueprint, entities in sorted(self.landed().items()):
            rows.append(
                f"<h2>{html.escape(blueprint)} ({len(entities)})</h2><table><tr><th>identifier</th><th>title</th><th>state</th><th>relations</th></tr>"
            )
            for e in sorted(entities, key=lambda x: x["identifier"])[:500]:
                relations = ", ".join(
                    f"{k} → {v}" for k, v in (e.get("relations") or {}).items() if v not in (None, [])
                )
                state = (e.get("properties") or {}).get("state", "")
                rows.append(f"<tr><td>{html.escape(e['identifier'])}</td><td>{html.escape(str(e.get('title') or ''))}</td>"
                            f"<td>{html.escape(str(state or ''))}</td><td>{html.escape(relations)}</td></tr>")  # fmt: skip
            rows.append("</table>")
        body = (
            "<!doctype html><meta charset=utf-8><meta http-equiv=refresh content=5><title>Port stand-in</title>"
            "<style>body{font-family:sans-serif}td,th{border-bottom:1px solid #ddd;padding:2px 8px;text-align:left}</style>"
            f"<h1>What landed in Port</h1><pre>{html.escape(json.dumps(self.summary(), indent=2))}</pre>"
            + "".join(rows)
        )
        return HTMLResponse(body)
