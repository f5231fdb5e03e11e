"""Root query and mutation resolvers over an ``Account``, including search connections."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from sandbox.spacelift.access import Access, space_of
from sandbox.spacelift.account import Account, Obj, SpaceliftError

MAX_FIRST = 100  # Spacelift's own maximum is not documented; clients use 50

# predicate field -> how to read it from a node, per connection
PREDICATE_FIELDS: dict[str, dict[str, Callable[[Obj], Any]]] = {
    "searchStacks": {
        "label": lambda s: s["labels"], "name": lambda s: s["name"], "state": lambda s: s["state"],
        "branch": lambda s: s["branch"], "repository": lambda s: s["repository"],
        "projectRoot": lambda s: s["projectRoot"], "administrative": lambda s: s["administrative"],
        "locked": lambda s: s["lockedBy"] is not None, "space": lambda s: s["space"],
        "workerPool": lambda s: (s["workerPool"] or {}).get("id"),
        "vendor": lambda s: s["vendorConfig"]["__typename"].removeprefix("StackConfigVendor").upper(),
    },  # fmt: skip
    "searchContexts": {
        "space": lambda c: c["space"],
        "labels": lambda c: c["labels"],
        "label": lambda c: c["labels"],
    },
    "searchModules": {"space": lambda m: m["space"], "labels": lambda m: m["labels"], "label": lambda m: m["labels"],
                      "terraformProvider": lambda m: m["terraformProvider"], "public": lambda m: m["public"]},  # fmt: skip
    "searchPolicies": {
        "space": lambda p: p["space"],
        "label": lambda p: p["labels"],
        "type": lambda p: p["type"],
    },
    "searchTemplates": {"space": lambda t: t["space"]["id"], "label": lambda t: t["labels"]},
    "searchBlueprints": {
        "space": lambda b: b["space"]["id"],
        "label": lambda b: b["labels"],
        "state": lambda b: b["state"],
    },
    "searchWorkerPools": {"space": lambda w: w["space"], "label": lambda w: w["labels"]},
}


def _cursor(index: int) -> str:
    return base64.b64encode(f"cursor:{index}".encode()).decode()


def _index(cursor: str) -> int:
    try:
        return int(base64.b64decode(cursor.encode()).decode().split(":", 1)[1])
    except Exception:
        raise SpaceliftError(f"invalid cursor {cursor!r}") from None


def _matches(
    node: Obj, predicate: dict[str, Any], readers: dict[str, Callable[[Obj], Any]], root: str
) -> bool:
    name = predicate["field"]
    if name not in readers:
        raise SpaceliftError(f"{root}: unsupported predicate field {name!r}")
    value = readers[name](node)
    values = value if isinstance(value, list) else [value]
    constraint = predicate["constraint"]
    hit = False
    for kind in ("booleanEquals", "enumEquals", "stringMatches"):
        wanted = constraint.get(kind)
        if wanted:
            hit = any(v in wanted for v in values)
    return hit != bool(predicate.get("exclude"))


def connection(root: str, nodes: list[Obj], search: dict[str, Any]) -> Obj:
    readers = PREDICATE_FIELDS.get(root, {})
    selected = [
        n for n in nodes if all(_matches(n, p, readers, root) for p in search.get("predicates") or [])
    ]
    order = search.get("orderBy")
    if order:
        selected.sort(key=lambda n: (n.get(order["field"]) is None, n.get(order["field"])),
                      reverse=order.get("direction") == "DESC")  # fmt: skip
    first = min(search.get("first") or 50, MAX_FIRST)
    start = _index(search["after"]) + 1 if search.get("after") else 0
    page = selected[start : start + first]
    end = start + len(page) - 1
    return {
        "edges": [{"cursor": _cursor(start + n), "node": node} for n, node in enumerate(page)],
        "pageInfo": {"endCursor": _cursor(end) if page else None, "hasNextPage": start + len(page) < len(selected),
                     "hasPreviousPage": start > 0},  # fmt: skip
    }


def _access(info: Any) -> Access | None:
    """The key's access (None: an administrative key, which sees and may change everything)."""
    access: Access | None = info.context.get("access")
    return access


def _readable(info: Any, items: list[Obj]) -> list[Obj]:
    access = _access(info)
    return items if access is None else [item for item in items if access.can_read(space_of(item))]


def resolve_worker_pool(stack: Obj, info: Any) -> Obj | None:
    """``Stack.workerPool``: a pool in a space the key cannot read is refused at this field only."""
    pool: Obj | None = stack.get("workerPool")
    access = _access(info)
    if pool is not None and access is not None and not access.can_read(space_of(pool)):
        raise SpaceliftError("unauthorized")
    return pool


class Resolvers:
    """Builds the root value; ``info.context`` carries ``expired`` (token past ``validUntil``), ``actor``
    and ``access`` (what the key may see; None for an administrative key)."""

    def __init__(
        self, account: Account, api_keys: dict[str, str], issue_token: Callable[[str], tuple[str, int]]
    ) -> None:
        self.account = account
        self.api_keys = api_keys
        self.issue_token = issue_token

    def root(self) -> dict[str, Any]:
        a = self.account

        def guarded(fn: Callable[..., Any], empty: Any) -> Callable[..., Any]:
            def resolve(info: Any, **kwargs: Any) -> Any:
                if info.context.get("expired"):
                    return empty() if callable(empty) else empty
                return fn(info, **kwargs)

            return resolve

        def listing(items: Callable[[], dict[str, Obj]]) -> Callable[..., Any]:
            return guarded(lambda info: _readable(info, list(items().values())), [])

        def single(items: Callable[[], dict[str, Obj]]) -> Callable[..., Any]:
            return guarded(
                lambda info, id: next(iter(_readable(info, [items()[id]])), None) if id in items() else None,
                None,
            )

        def search(root: str, items: Callable[[], dict[str, Obj]]) -> Callable[..., Any]:
            empty = {
                "edges": [],
                "pageInfo": {"endCursor": None, "hasNextPage": False, "hasPreviousPage": False},
            }
            return guarded(
                lambda info, input: connection(root, _readable(info, list(items().values())), input), empty
            )

        def spaces(info: Any) -> list[Obj]:
            access = _access(info)
            return [s for s in a.spaces.values() if access is None or s["id"] in access.visible_spaces]

        def admin_only(fn: Callable[..., Any]) -> Callable[..., Any]:
            def resolve(info: Any, **kwargs: Any) -> Any:
                if _access(info) is not None:
                    raise SpaceliftError("unauthorized")
                return fn(info, **kwargs)

            return resolve

        def writable(fn: Callable[..., Any], stack_arg: str = "stack") -> Callable[..., Any]:
            def resolve(info: Any, **kwargs: Any) -> Any:
                access = _access(info)
                stack = a.stacks.get(kwargs[stack_arg])
                if access is not None and (stack is None or not access.can_write(stack["space"])):
                    raise SpaceliftError("unauthorized")
                return fn(info, **kwargs)

            return resolve

        def run_stack(info: Any, runId: str) -> Obj | None:
            for stack in _readable(info, list(a.stacks.values())):
                if a.find_run(stack["id"], runId):
                    return stack
            return None

        def search_runs(info: Any, input: dict[str, Any]) -> Obj:
            nodes: list[Obj] = [{"run": r, "stack": s, "isModule": False} for s in _readable(info, list(a.stacks.values()))
                     for r in a.tracked_runs(s["id"])]  # fmt: skip
            nodes.sort(key=lambda n: n["run"]["createdAt"], reverse=True)
            return connection("searchRuns", nodes, input)

        return {
            "viewer": guarded(lambda info: {"id": info.context["actor"], "name": info.context["actor"],
                                            "admin": _access(info) is None}, None),
            "spaces": guarded(spaces, []),
            "space": guarded(lambda info, id: a.spaces[id] if id in {s["id"] for s in spaces(info)} else None, None),
            "stacks": listing(lambda: a.stacks), "searchStacks": search("searchStacks", lambda: a.stacks),
            "stack": single(lambda: a.stacks), "runStack": guarded(run_stack, None),
            "searchRuns": guarded(search_runs, None),
            "policies": listing(lambda: a.policies), "searchPolicies": search("searchPolicies", lambda: a.policies),
            "policy": single(lambda: a.policies),
            "managedUsers": guarded(admin_only(lambda info: list(a.users.values())), []),
            "managedUser": guarded(admin_only(lambda info, id: a.users.get(id)), None),
            "contexts": listing(lambda: a.contexts), "searchContexts": search("searchContexts", lambda: a.contexts),
            "context": single(lambda: a.contexts),
            "searchBlueprints": search("searchBlueprints", lambda: a.blueprints), "blueprint": single(lambda: a.blueprints),
            "searchTemplates": search("searchTemplates", lambda: a.templates), "template": single(lambda: a.templates),
            "modules": listing(lambda: a.modules), "searchModules": search("searchModules", lambda: a.modules),
            "module": single(lambda: a.modules),
            "workerPools": listing(lambda: a.worker_pools),
            "searchWorkerPools": search("searchWorkerPools", lambda: a.worker_pools),
            "workerPool": single(lambda: a.worker_pools),
            "publicWorkerPool": guarded(lambda info: {"parallelism": 10, "busyWorkers": 2, "pendingRuns": 1,
                                                      "usersCount": 3, "schedulableRunsCount": 1}, None),
            # mutations
            "apiKeyUser": self._api_key_user,
            "runTrigger": writable(lambda info, stack, commitSha=None, runType=None, runtimeConfig=None, forceApply=None: (
                a.trigger_run(stack, commitSha, runType, info.context["actor"])
            )),
            "runConfirm": writable(lambda info, stack, run=None, note=None: a.confirm_run(stack, run, note)),
            "runDiscard": writable(lambda info, stack, run=None, note=None: a.discard_run(stack, run, note)),
            "runCancel": writable(lambda info, stack, run, note=None: a.cancel_run(stack, run, note)),
            "runStop": writable(lambda info, stack, run, note=None: a.stop_run(stack, run, note)),
            "taskCreate": writable(lambda info, stack, command, skipInitialization=None: (
                a.create_task(stack, command, info.context["actor"])
            )),
            "stackLock": writable(lambda info, id, note=None: a.lock_stack(id, note, info.context["actor"]), "id"),
            "stackUnlock": writable(lambda info, id: a.unlock_stack(id, info.context["actor"]), "id"),
            "blueprintCreateStack": admin_only(self._blueprint_create_stack),
            "templateDeploymentCreate": self._template_deployment_create,
        }  # fmt: skip

    def _api_key_user(self, info: Any, id: str, secret: str) -> Obj | None:
        if self.api_keys.get(id) != secret:
            return None  # as the provider observes: an unknown key gives a null user, not an error
        jwt, valid_until = self.issue_token(id)
        return {"id": id, "jwt": jwt, "validUntil": valid_until}

    def _template_deployment_create(self, info: Any, id: str, input: dict[str, Any]) -> Obj:
        access = _access(info)
        if access is not None and not access.can_write(input.get("space")):
            raise SpaceliftError("unauthorized")
        return self.account.deploy_template(id, input)

    def _blueprint_create_stack(self, info: Any, id: str, input: dict[str, Any]) -> Obj:
        inputs = {pair["id"]: pair["value"] for pair in input["templateInputs"]}
        stack = self.account.create_stack_from_blueprint(id, inputs)
        return {"stackIds": [stack["id"]], "runIds": []}
