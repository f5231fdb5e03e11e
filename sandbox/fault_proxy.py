"""A fault layer between the integration and the sandbox Spacelift, independent of the sandbox's switches.

An HTTP proxy for ``POST /graphql``: it forwards to the upstream Spacelift (the sandbox) and breaks
chosen answers on the way back, so reliability tests exercise the integration from outside instead of
through switches its authors built in. Faults:

* targeted, by operation name and call number (1-based, counting every request of that operation that
  reached the proxy): ``{"operation": "SearchStacks", "call": 3, "fault": "expired"}``; ``"call": 0``
  breaks every call. Faults:

  - ``expired``: what Spacelift answers an expired session — HTTP 200, ``viewer`` null, lists and
    connections empty (``hasNextPage: false``), objects null (spacectl #364);
  - ``unauthorized``: HTTP 200 ``{"data": null, "errors": [{"message": "unauthorized"}]}``;
  - ``null_alias``: one aliased stack (``s0`` unless ``"alias"`` says) answered null, the rest intact;
  - ``503``, ``429`` (no ``Retry-After``, as Spacelift), ``drop`` (connection closed mid-body),
    ``truncate`` (a 200 whose JSON body is cut short);

* a seeded random mix: ``{"mix": {"5xx": 0.05, "429": 0.05, "drop": 0.02, "truncate": 0.02}, "seed": 7}``.

Control: ``POST /_faults/rules`` (JSON ``{"rules": [...], "mix": {...}, "seed": n}``), ``GET /_faults/stats``.
Any other path answers 404 and is recorded in ``unknown_requests``.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.serving import DroppedConnection

FAULTS = {"expired", "unauthorized", "null_alias", "503", "429", "drop", "truncate"}
MIX_FAULTS = {"5xx": "503", "429": "429", "drop": "drop", "truncate": "truncate"}


@dataclass
class Rule:
    operation: str
    call: int
    fault: str
    alias: str = "s0"

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Rule:
        fault = raw.get("fault")
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; known: {', '.join(sorted(FAULTS))}")
        return cls(str(raw["operation"]), int(raw.get("call", 1)), fault, str(raw.get("alias", "s0")))

    def applies(self, operation: str, call: int) -> bool:
        return self.operation == operation and self.call in (0, call)


@dataclass
class FaultPlan:
    rules: list[Rule] = field(default_factory=list)
    mix: dict[str, float] = field(default_factory=dict)
    seed: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        unknown = set(self.mix) - set(MIX_FAULTS)
        if unknown:
            raise ValueError(f"unknown mix faults {sorted(unknown)}; known: {', '.join(sorted(MIX_FAULTS))}")

    def choose(self, operation: str, call: int) -> Rule | None:
        for rule in self.rules:
            if rule.applies(operation, call):
                return rule
        draw = self.rng.random()
        for name, probability in self.mix.items():
            if draw < probability:
                return Rule(operation, call, MIX_FAULTS[name])
            draw -= probability
        return None


def expired_answer(data: Any) -> Any:
    """An expired session's answer to the same query: every root field emptied, ``viewer`` null."""
    if not isinstance(data, dict):
        return data
    return {key: _emptied(value) for key, value in data.items()}


def _emptied(value: Any) -> Any:
    if isinstance(value, list):
        return []
    if isinstance(value, dict) and "edges" in value:
        info = value.get("pageInfo") or {}
        return {
            **{k: [] if k == "edges" else None for k in value},
            "pageInfo": {k: False if k.startswith("has") else None for k in info},
        }
    if isinstance(value, dict):
        return None
    return value


class FaultProxy:
    def __init__(self, upstream: str, plan: FaultPlan | None = None) -> None:
        self.upstream = upstream.rstrip("/")
        self.plan = plan or FaultPlan()
        self.calls: Counter[str] = Counter()
        self.applied: list[dict[str, Any]] = []
        self.unknown_requests: list[str] = []
        self._http: httpx.AsyncClient | None = None
        self.app = Starlette(
            routes=[
                Route("/graphql", self._graphql, methods=["POST"]),
                Route("/_faults/rules", self._rules, methods=["POST"]),
                Route("/_faults/stats", self._stats, methods=["GET"]),
                Route("/{rest:path}", self._unknown, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
            ]
        )

    def set_plan(self, plan: FaultPlan) -> None:
        self.plan = plan
        self.calls.clear()

    def stats(self) -> dict[str, Any]:
        return {
            "calls": dict(self.calls),
            "applied": list(self.applied),
            "unknown": list(self.unknown_requests),
        }

    async def _forward(self, request: Request, body: bytes) -> httpx.Response:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=60)
        headers = {k: v for k, v in request.headers.items() if k.lower() in ("authorization", "content-type")}
        headers.update({k: v for k, v in request.headers.items() if k.lower().startswith("spacelift-")})
        return await self._http.post(f"{self.upstream}/graphql", content=body, headers=headers)

    async def _graphql(self, request: Request) -> Response:
        body = await request.body()
        try:
            operation = str(json.loads(body).get("operationName") or "anonymous")
        except ValueError:
            operation = "unparseable"
        self.calls[operation] += 1
        rule = self.plan.choose(operation, self.calls[operation])
        if rule is not None:
            self.applied.append({"operation": operation, "call": self.calls[operation], "fault": rule.fault,
                                 "at": time.time()})  # fmt: skip
        fault = rule.fault if rule else None
        if fault == "503":
            return Response("fault proxy: service unavailable", status_code=503)
        if fault == "429":
            return Response('{"errors":[{"message":"rate limit exceeded"}]}', status_code=429)
        if fault == "drop":
            return DroppedConnection()
        if fault == "unauthorized":
            return JSONResponse({"data": None, "errors": [{"message": "unauthorized"}]})
        upstream = await self._forward(request, body)
        if fault is None:
            return Response(upstream.content, status_code=upstream.status_code,
                            headers={"content-type": upstream.headers.get("content-type", "application/json")})  # fmt: skip
        if fault == "truncate":
            return Response(upstream.content[: max(1, len(upstream.content) // 2)], status_code=200,
                            media_type="application/json")  # fmt: skip
        payload = upstream.json()
        if fault == "expired":
            payload = {"data": expired_answer(payload.get("data"))}
        elif fault == "null_alias" and isinstance(payload.get("data"), dict):
            payload["data"][rule.alias if rule else "s0"] = None
        return JSONResponse(payload, status_code=upstream.status_code)

    async def _rules(self, request: Request) -> Response:
        raw = await request.json()
        try:
            plan = FaultPlan([Rule.parse(r) for r in raw.get("rules", [])], dict(raw.get("mix", {})),
                             int(raw.get("seed", 0)))  # fmt: skip
        except (ValueError, KeyError, TypeError) as error:
            return JSONResponse({"error": str(error)}, status_code=400)
        self.set_plan(plan)
        return JSONResponse({"rules": len(plan.rules), "mix": plan.mix, "seed": plan.seed})

    async def _stats(self, request: Request) -> Response:
        return JSONResponse(self.stats())

    async def _unknown(self, request: Request) -> Response:
        self.unknown_requests.append(f"{request.method} {request.url.path}")
        return JSONResponse({"error": f"the fault proxy has no route {request.url.path}"}, status_code=404)


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - a manual tool
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m sandbox.fault_proxy", description=__doc__)
    parser.add_argument("--upstream", required=True, help="the Spacelift (sandbox) base URL")
    parser.add_argument("--port", type=int, default=0, help="loopback port (0: a free one)")
    parser.add_argument("--mix", default="", help='JSON, e.g. {"5xx": 0.05, "429": 0.05}')
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    proxy = FaultProxy(args.upstream, FaultPlan(mix=json.loads(args.mix) if args.mix else {}, seed=args.seed))
    uvicorn.run(proxy.app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":  # pragma: no cover
    main()
