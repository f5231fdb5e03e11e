"""The sandbox Spacelift HTTP API: ``POST /graphql`` plus a small control plane under ``/_sandbox``.

Control plane:
  GET  /_sandbox/stats                  request counts by operation and root field, faults injected
  POST /_sandbox/stats/reset
  GET|POST /_sandbox/faults             read / change fault switches (JSON body, see faults.Faults)
  POST /_sandbox/clock                  {"advance": seconds} — move time (token expiry, run progress)
  POST /_sandbox/tokens/expire          expire every issued token now
  POST /_sandbox/stacks/{id}/delete     remove a stack (reconciliation tests)
  POST /_sandbox/webhooks/run           {"url", "secret"?, "stack", "run"?, "stateVersion"?} — send a signed run event
  GET  /_sandbox/summary                counts per kind
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    build_schema,
    execute,
    parse,
    validate,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.serving import DroppedConnection
from sandbox.spacelift.access import Access
from sandbox.spacelift.account import Account, SpaceliftError
from sandbox.spacelift.faults import Faults
from sandbox.spacelift.resolvers import Resolvers, resolve_worker_pool
from sandbox.spacelift.webhooks import run_state_event, send

SCHEMA_PATH = __file__.rsplit("/", 1)[0] + "/schema.graphql"

DEFAULT_KEY_ID = "01SANDBOXKEY0000000000000"
DEFAULT_KEY_SECRET = "sandbox-secret"


def load_schema() -> GraphQLSchema:
    with open(SCHEMA_PATH) as f:
        schema = build_schema(f.read())
    for union in ("StackConfigVendor", "EntityVendor", "CloudFormationEntity", "KubernetesEntity", "PulumiEntity",
                  "TerraformEntity"):  # fmt: skip
        schema.type_map[union].resolve_type = lambda obj, info, abstract: obj["__typename"]  # type: ignore[attr-defined]
    schema.type_map["Stack"].fields["workerPool"].resolve = resolve_worker_pool  # type: ignore[attr-defined]
    return schema


@dataclass
class SandboxSettings:
    token_ttl_seconds: int = 3600
    expired_token_behavior: str = "empty"  # "empty" (null viewer, empty lists) | "unauthorized" | "401"
    api_keys: dict[str, str] = field(default_factory=lambda: {DEFAULT_KEY_ID: DEFAULT_KEY_SECRET})
    # key id -> {space id: "READ" | "WRITE"}: a key limited to those spaces (and the spaces below them);
    # keys not listed here are administrative (admin on root). See sandbox/spacelift/access.py.
    key_access: dict[str, dict[str, str]] = field(default_factory=dict)
    # Spacelift's GraphQL server (spacelift-io/graphql-go) has these anti-abuse limits; their production
    # values are not published, so they are off unless a test or benchmark sets them. 0 = no limit.
    max_selection_set_size: int = 0
    max_query_length: int = 0


def _largest_selection_set(node: Any) -> int:
    """The most selections any one selection set of the document has (what graphql-go counts)."""
    largest = 0
    stack = [node]
    while stack:
        current = stack.pop()
        selection_set = getattr(current, "selection_set", None)
        if selection_set is not None:
            largest = max(largest, len(selection_set.selections))
            stack.extend(selection_set.selections)
        stack.extend(getattr(current, "definitions", []) or [])
    return largest


class SandboxSpacelift:
    """Holds the account, tokens, faults and counters; ``app`` is the ASGI application."""

    def __init__(
        self, account: Account, settings: SandboxSettings | None = None, faults: Faults | None = None
    ) -> None:
        self.account = account
        self.settings = settings or SandboxSettings()
        self.faults = faults or Faults()
        self.schema = load_schema()
        self.clock_offset = 0.0
        account.clock = self.now
        self.tokens: dict[str, tuple[str, float]] = {}  # jwt -> (key id, valid until)
        self.resolvers = Resolvers(account, self.settings.api_keys, self._issue_token)
        self.root = self.resolvers.root()
        self.stats: Counter[str] = Counter()
        self.by_operation: Counter[str] = Counter()
        self.by_root_field: Counter[str] = Counter()
        self.by_status: Counter[int] = Counter()
        self.mutations: list[tuple[str, dict[str, Any]]] = []  # (root field, variables), in arrival order
        self.app = Starlette(
            routes=[
                Route("/graphql", self._graphql, methods=["POST"]),
                Route("/_sandbox/stats", self._stats, methods=["GET"]),
                Route("/_sandbox/stats/reset", self._reset_stats, methods=["POST"]),
                Route("/_sandbox/faults", self._faults, methods=["GET", "POST"]),
                Route("/_sandbox/clock", self._clock, methods=["POST"]),
                Route("/_sandbox/tokens/expire", self._expire_tokens, methods=["POST"]),
                Route("/_sandbox/stacks/{stack_id}/delete", self._delete_stack, methods=["POST"]),
                Route("/_sandbox/webhooks/run", self._send_run_webhook, methods=["POST"]),
                Route("/_sandbox/summary", self._summary, methods=["GET"]),
                Route("/{rest:path}", self._unknown, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
            ]
        )
        self.unknown_requests: list[str] = []  # what no route serves: a test that causes one should fail

    # --- clock and tokens -------------------------------------------------------------------------

    def now(self) -> float:
        return time.time() + self.clock_offset

    def _issue_token(self, key_id: str) -> tuple[str, int]:
        now = int(self.now())
        valid_until = now + self.settings.token_ttl_seconds
        header = {"alg": "HS256", "typ": "JWT"}
        claims = {"aud": [self.account.base_url], "exp": valid_until, "iat": now, "iss": "api-key", "sub": key_id,
                  "jti": f"{key_id}-{len(self.tokens)}", "subdomain": self.account.account_name}  # fmt: skip
        segments = [
            base64.urlsafe_b64encode(json.dumps(part).encode()).decode().rstrip("=")
            for part in (header, claims)
        ]
        jwt = ".".join([*segments, base64.urlsafe_b64encode(f"sig-{len(self.tokens)}".encode()).decode()])
        self.tokens[jwt] = (key_id, float(valid_until))
        return jwt, valid_until

    def _token_state(self, request: Request) -> tuple[str, str | None]:
        """("valid"|"expired"|"missing"|"unknown", actor)."""
        auth = request.headers.get("authorization", "")
        if not auth.lower().startswith("bearer "):
            return "missing", None
        entry = self.tokens.get(auth[7:].strip())
        if entry is None:
            return "unknown", None
        key_id, valid_until = entry
        return ("valid" if self.now() < valid_until else "expired"), f"api::{key_id}"

    # --- GraphQL ----------------------------------------------------------------------------------

    async def _graphql(self, request: Request) -> Response:
        self.stats["requests"] += 1
        delay = self.faults.delay_seconds()
        if delay:
            await asyncio.sleep(delay)
        raw = await request.body()
        try:
            body = json.loads(raw)
            query = body["query"]
            variables = body.get("variables") or {}
            operation_name = body.get("operationName")
        except (ValueError, KeyError, TypeError):
            return self._respond({"errors": [{"message": "invalid request body"}]}, 400)
        limits = self._query_limit_errors(query)
        if limits:  # graphql-go answers these with HTTP 200 and no data
            return self._respond({"errors": [{"message": m} for m in limits]}, 200)
        try:
            document = parse(query)
        except GraphQLError as error:
            return self._respond({"errors": [error.formatted]}, 400)
        largest = _largest_selection_set(document)
        if self.settings.max_selection_set_size and largest > self.settings.max_selection_set_size:
            message = f"Selection set has {largest} selections, which exceeds the maximum allowed size"
            return self._respond({"errors": [{"message": message}]}, 200)
        operation = next((d for d in document.definitions if isinstance(d, OperationDefinitionNode)), None)
        op_label = operation_name or (operation.name.value if operation and operation.name else "anonymous")
        root_fields = [s.name.value for s in operation.selection_set.selections] if operation else []  # type: ignore[attr-defined]
        self.by_operation[op_label] += 1
        for name in root_fields:
            self.by_root_field[name] += 1

        fault = self.faults.next_fault()
        if fault is not None:
            response = self._fault_response(fault)
            if response is not None:
                return response
            if fault == "drop":
                return DroppedConnection()

        errors = validate(self.schema, document)
        if errors:
            return self._respond({"errors": [e.formatted for e in errors]}, 400)

        token_state, actor = self._token_state(request)
        is_login = root_fields == ["apiKeyUser"]
        context: dict[str, Any] = {"actor": actor or "anonymous", "expired": False, "access": None}
        key_id = (actor or "").removeprefix("api::")
        if key_id in self.settings.key_access:
            context["access"] = Access(self.account, self.settings.key_access[key_id])
        if not is_login:
            if token_state in ("missing", "unknown"):
                return self._respond({"data": None, "errors": [{"message": "unauthorized"}]}, 200)
            if token_state == "expired":
                behavior = self.settings.expired_token_behavior
                if behavior == "401":
                    return self._respond({"errors": [{"message": "token expired"}]}, 401)
                if behavior == "unauthorized":
                    return self._respond({"data": None, "errors": [{"message": "unauthorized"}]}, 200)
                context["expired"] = True
            blocked = [f for f in root_fields if f in self.faults.unauthorized_fields]
            if blocked:
                return self._respond(
                    {"data": None, "errors": [{"message": "unauthorized", "path": [blocked[0]]}]}, 200
                )

        if operation is not None and operation.operation.value == "mutation" and not is_login:
            self.mutations.extend((name, dict(variables)) for name in root_fields)
        result = execute(self.schema, document, root_value=self.root, context_value=context,
                         variable_values=variables, operation_name=operation_name)  # fmt: skip
        if asyncio.iscoroutine(result):  # pragma: no cover - every resolver is synchronous
            result = await result
        payload: dict[str, Any] = {"data": result.data}  # type: ignore[union-attr]
        if result.errors:  # type: ignore[union-attr]
            payload["errors"] = [self._format_error(e) for e in result.errors]  # type: ignore[union-attr]
        return self._respond(payload, 200)

    def _query_limit_errors(self, query: str) -> list[str]:
        """Spacelift's query-length limit, worded as spacelift-io/graphql-go words it."""
        limit = self.settings.max_query_length
        if limit and len(query) > limit:
            return [f"query length {len(query)} exceeds the maximum allowed query length of {limit} bytes"]
        return []

    def _format_error(self, error: GraphQLError) -> dict[str, Any]:
        original = error.original_error
        if original is not None and not isinstance(original, SpaceliftError):
            # a bug in the sandbox must be loud, not look like a Spacelift answer
            raise original
        return error.formatted  # type: ignore[return-value]

    def _fault_response(self, fault: str) -> Response | None:
        if fault in ("500", "502", "503"):
            return self._respond_text(f"sandbox fault {fault}", int(fault))
        if fault == "401":
            return self._respond({"errors": [{"message": "token expired"}]}, 401)
        if fault == "429":
            return self._respond_text('{"errors":[{"message":"rate limit exceeded"}]}', 429)
        if fault == "429_retry_after":
            return self._respond_text(
                '{"errors":[{"message":"rate limit exceeded"}]}', 429,
                {"Retry-After": str(self.faults.retry_after_seconds)},
            )  # fmt: skip
        if fault == "rate_limit_error":
            return self._respond({"data": None, "errors": [{"message": "rate limit exceeded"}]}, 200)
        if fault == "unauthorized":
            return self._respond({"data": None, "errors": [{"message": "unauthorized"}]}, 200)
        if fault == "malformed":
            return self._respond_text(
                '{"data": {"stacks": [{"id": "trunc', 200, {"Content-Type": "application/json"}
            )
        return None

    def _respond(self, payload: dict[str, Any], status: int) -> Response:
        self.by_status[status] += 1
        return JSONResponse(payload, status_code=status)

    def _respond_text(self, text: str, status: int, headers: dict[str, str] | None = None) -> Response:
        self.by_status[status] += 1
        return Response(text, status_code=status, headers=headers)

    # --- control plane ----------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        return {
            "requests": self.stats["requests"],
            "by_operation": dict(self.by_operation),
            "by_root_field": dict(self.by_root_field),
            "by_status": {str(k): v for k, v in self.by_status.items()},
            "faults_injected": dict(self.faults.injected),
            "tokens_issued": len(self.tokens),
            "unknown_requests": list(self.unknown_requests),
        }

    async def _stats(self, request: Request) -> Response:
        return JSONResponse(self.snapshot())

    async def _reset_stats(self, request: Request) -> Response:
        for counter in (self.stats, self.by_operation, self.by_root_field, self.by_status):
            counter.clear()
        self.faults.injected.clear()
        return JSONResponse(self.snapshot())

    async def _faults(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                self.faults.update(await request.json())
            except (ValueError, TypeError) as error:
                return JSONResponse({"error": str(error)}, status_code=400)
        return JSONResponse(self.faults.public())

    async def _clock(self, request: Request) -> Response:
        body = await request.json()
        self.clock_offset += float(body.get("advance", 0))
        self.account.advance_runs()
        return JSONResponse({"now": self.now(), "offset": self.clock_offset})

    async def _expire_tokens(self, request: Request) -> Response:
        now = self.now()
        self.tokens = {jwt: (key, min(until, now - 1)) for jwt, (key, until) in self.tokens.items()}
        return JSONResponse({"expired": len(self.tokens)})

    async def _delete_stack(self, request: Request) -> Response:
        stack_id = request.path_params["stack_id"]
        if stack_id not in self.account.stacks:
            return JSONResponse({"error": f"no stack {stack_id}"}, status_code=404)
        self.account.delete_stack(stack_id)
        return JSONResponse({"deleted": stack_id})

    async def _send_run_webhook(self, request: Request) -> Response:
        body = await request.json()
        stack = self.account.stacks.get(body.get("stack", ""))
        if stack is None:
            return JSONResponse({"error": f"no stack {body.get('stack')!r}"}, status_code=404)
        runs = self.account.tracked_runs(stack["id"])
        run = (
            self.account.find_run(stack["id"], body["run"])
            if body.get("run")
            else (runs[0] if runs else None)
        )
        if run is None:
            return JSONResponse({"error": "no such run"}, status_code=404)
        payload = run_state_event(self.account, stack, run, body.get("stateVersion"))
        response = await send(body["url"], payload, body.get("secret"))
        return JSONResponse({"status": response.status_code, "payload": payload})

    async def _summary(self, request: Request) -> Response:
        return JSONResponse(self.account.summary())

    async def _unknown(self, request: Request) -> Response:
        self.unknown_requests.append(f"{request.method} {request.url.path}")
        return JSONResponse({"errors": [{"message": f"no route {request.url.path}"}]}, status_code=404)
