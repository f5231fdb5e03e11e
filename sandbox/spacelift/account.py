"""A deterministic, seeded Spacelift account held in memory, plus its run state machine.

Objects are plain dicts shaped like the GraphQL types, so graphql-core's default resolvers serve them;
fields that take arguments (``runs(before:)``) are callables. Run histories are generated lazily per
stack from a per-stack seed, so a 2,000-stack account starts in well under a second.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

Obj = dict[str, Any]

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

RUN_STATES = [
    "QUEUED", "CANCELED", "INITIALIZING", "PLANNING", "FAILED", "FINISHED", "UNCONFIRMED", "DISCARDED",
    "CONFIRMED", "APPLYING", "PERFORMING", "STOPPED", "DESTROYING", "PREPARING", "PREPARING_APPLY", "SKIPPED",
    "REPLAN_REQUESTED", "PENDING", "READY", "PREPARING_REPLAN", "PENDING_REVIEW",
]  # fmt: skip
TERMINAL_STATES = {"CANCELED", "FAILED", "FINISHED", "DISCARDED", "STOPPED", "SKIPPED"}
RUN_TYPES = ["PROPOSED", "TRACKED", "TASK", "TESTING", "DESTROY", "PARSE"]
POLICY_TYPES = [
    "ACCESS", "APPROVAL", "GIT_PUSH", "INITIALIZATION", "INTENT", "LOGIN", "PLAN", "TASK", "TRIGGER",
    "NOTIFICATION", "STACK_ACCESS", "TASK_RUN", "TERRAFORM_PLAN",
]  # fmt: skip
VCS_PROVIDERS = [
    "GITHUB", "GITHUB_ENTERPRISE", "GITLAB", "BITBUCKET_CLOUD", "BITBUCKET_DATACENTER", "AZURE_DEVOPS", "GIT",
    "SHOWCASE", "SPACELIFT",
]  # fmt: skip
VENDORS = [
    "StackConfigVendorTerraform", "StackConfigVendorOpenTofu", "StackConfigVendorTerragrunt",
    "StackConfigVendorPulumi", "StackConfigVendorCloudFormation", "StackConfigVendorKubernetes",
    "StackConfigVendorAnsible",
]  # fmt: skip
ACCESS_LEVELS = ["READ", "WRITE", "ADMIN"]
RESOURCE_TYPES = [
    "aws_s3_bucket",
    "aws_instance",
    "aws_iam_role",
    "google_compute_instance",
    "azurerm_resource_group",
]
TEAMS = ["platform", "payments", "data", "identity", "search", "mobile", "security", "sre"]
ENVS = ["prod", "staging", "dev", "sandbox"]
COMPONENTS = [
    "networking",
    "eks",
    "rds",
    "iam",
    "dns",
    "s3",
    "vpc",
    "kafka",
    "redis",
    "cdn",
    "monitoring",
    "vault",
]
PEOPLE = [("jdoe", "Jane Doe"), ("asmith", "Alex Smith"), ("mgarcia", "Maria Garcia"), ("kchen", "Kai Chen"),
          ("ookafor", "Obi Okafor"), ("lnovak", "Lena Novak"), ("rpatel", "Ravi Patel"), ("tkim", "Tae Kim")]  # fmt: skip

TASK_COMMANDS = ["terraform state list", "terraform output -json", "terraform import aws_s3_bucket.logs logs",
                 "ls -la", "terraform force-unlock -force 1234"]  # fmt: skip

# Secret material in a managed resource's attribute values (a "user_data" Spacelift does not know is
# secret, so it is not sanitized): the integration reads values only for the cloud-id allowlist and must
# hand none of the rest to Ocean, Port or its logs.
RESOURCE_SECRET_MARK = "SANDBOX-RESOURCE-SECRET"

# Secret material the integration must never fetch: tests scan everything that reaches Port for it.
SECRET_MARK = "SANDBOX-SECRET"


@dataclass(frozen=True)
class Profile:
    spaces: int
    stacks: int
    runs_per_stack: int
    policies: int
    users: int
    worker_pools: int
    contexts: int
    blueprints: int
    modules: int
    templates: int = 0


PROFILES: dict[str, Profile] = {
    # every feature at least once, for fast tests
    "small": Profile(spaces=6, stacks=12, runs_per_stack=6, policies=14, users=6, worker_pools=3, contexts=5,
                     blueprints=3, modules=4, templates=3),  # fmt: skip
    "medium": Profile(spaces=20, stacks=100, runs_per_stack=10, policies=40, users=60, worker_pools=8, contexts=30,
                      blueprints=10, modules=25, templates=10),  # fmt: skip
    "large": Profile(spaces=200, stacks=2000, runs_per_stack=20, policies=300, users=1000, worker_pools=100,
                     contexts=300, blueprints=50, modules=200, templates=50),  # fmt: skip
    # twice large in every kind, to see how memory and time grow with the account
    "large2x": Profile(spaces=400, stacks=4000, runs_per_stack=20, policies=600, users=2000, worker_pools=200,
                       contexts=600, blueprints=100, modules=400, templates=100),  # fmt: skip
}


def profile_named(name: str, **overrides: int) -> Profile:
    try:
        base = PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}") from None
    return replace(base, **overrides) if overrides else base


def ulid(rng: random.Random, timestamp: float) -> str:
    """26 Crockford characters: 10 for milliseconds, 16 random — sortable like Spacelift's ids."""
    ms = int(timestamp * 1000)
    head = "".join(CROCKFORD[(ms >> (5 * i)) & 31] for i in reversed(range(10)))
    return head + "".join(rng.choice(CROCKFORD) for _ in range(16))


class SpaceliftError(Exception):
    """An error the GraphQL layer reports in ``errors[].message``."""


class Account:
    """One Spacelift account; ``now`` fixes the timeline so a seed always gives the same account."""

    def __init__(
        self,
        seed: int = 1,
        profile: Profile | str = "small",
        *,
        now: int | None = None,
        base_url: str = "http://127.0.0.1:5050",
        runs_page_size: int = 10,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.seed = seed
        self.profile = profile_named(profile) if isinstance(profile, str) else profile
        self.now = now if now is not None else int(clock()) // 3600 * 3600
        self.base_url = base_url.rstrip("/")
        self.account_name = "sandbox"
        self.runs_page_size = runs_page_size
        self.clock = clock
        self.run_step_seconds = 2.0  # how long a triggered run stays in each state
        self.rng = random.Random(seed)
        self.spaces: dict[str, Obj] = {}
        self.stacks: dict[str, Obj] = {}
        self.policies: dict[str, Obj] = {}
        self.users: dict[str, Obj] = {}
        self.worker_pools: dict[str, Obj] = {}
        self.contexts: dict[str, Obj] = {}
        self.blueprints: dict[str, Obj] = {}
        self.templates: dict[str, Obj] = {}
        self.template_deployments: dict[str, Obj] = {}
        self.modules: dict[str, Obj] = {}
        self._tracked: dict[str, list[Obj]] = {}  # stack.runs: TRACKED and DESTROY runs
        self._proposed: dict[str, list[Obj]] = {}  # stack.proposedRuns
        self._tasks: dict[str, list[Obj]] = {}  # stack.tasks: TASK runs, which stack.runs does not list
        self._live_runs: list[tuple[str, Obj]] = []  # (stack id, run) moved by the state machine
        self.state_listeners: list[Callable[[Obj, Obj], None]] = []  # (stack, run) on every transition
        self._generate()

    # --- generation -------------------------------------------------------------------------------

    def _rng_for(self, *parts: object) -> random.Random:
        digest = hashlib.sha256(":".join(map(str, (self.seed, *parts))).encode()).digest()
        return random.Random(int.from_bytes(digest[:8], "big"))

    def _generate(self) -> None:
        p = self.profile
        self._gen_spaces(p.spaces)
        self._gen_worker_pools(p.worker_pools)
        self._gen_policies(p.policies)
        self._gen_contexts(p.contexts)
        self._gen_stacks(p.stacks)
        self._gen_users(p.users)
        self._gen_blueprints(p.blueprints)
        self._gen_templates(p.templates)
        self._gen_modules(p.modules)

    def _space_ref(self, rng: random.Random) -> Obj:
        return rng.choice(list(self.spaces.values()))

    def _gen_spaces(self, count: int) -> None:
        rng = self.rng
        root: Obj = {"id": "root", "name": "root", "description": "The root space", "parentSpace": None,
                "inheritEntities": False, "labels": [], "accessLevel": "ADMIN"}  # fmt: skip
        self.spaces["root"] = root
        if count > 1:
            self.spaces["legacy"] = {"id": "legacy", "name": "legacy", "description": "Pre-spaces entities",
                                     "parentSpace": "root", "inheritEntities": True, "labels": ["legacy"],
                                     "accessLevel": "ADMIN"}  # fmt: skip
        for i in range(max(0, count - 2)):
            parent = rng.choice([s for s in self.spaces.values() if s["id"] != "legacy"])
            name = f"{TEAMS[i % len(TEAMS)]}-{ENVS[(i // len(TEAMS)) % len(ENVS)]}" + (
                f"-{i}" if i >= len(TEAMS) * len(ENVS) else ""
            )
            space_id = f"{name}-{ulid(rng, self.now - 86400 * 300)}"
            self.spaces[space_id] = {
                "id": space_id, "name": name, "description": f"Space for {name}" if i % 3 else None,
                "parentSpace": parent["id"], "inheritEntities": i % 2 == 0,
                "labels": [f"team:{TEAMS[i % len(TEAMS)]}"], "accessLevel": ACCESS_LEVELS[i % 3],
            }  # fmt: skip

    def _gen_worker_pools(self, count: int) -> None:
        rng = self.rng
        for i in range(count):
            pool_id = ulid(rng, self.now - 86400 * 200)
            workers = [
                {"id": ulid(rng, self.now - 3600), "busy": j % 2 == 0, "drained": j == 3,
                 "metadata": '{"asg": "sandbox"}'}
                for j in range(1 + i % 4)
            ]  # fmt: skip
            space = self._space_ref(rng)
            self.worker_pools[pool_id] = {
                "id": pool_id, "name": f"pool-{TEAMS[i % len(TEAMS)]}-{i}",
                "description": f"Private workers for {TEAMS[i % len(TEAMS)]}" if i % 2 == 0 else None,
                "labels": ["private", f"team:{TEAMS[i % len(TEAMS)]}"], "space": space["id"],
                "spaceDetails": space, "createdAt": self.now - 86400 * 200, "updatedAt": self.now - 86400,
                "deleted": False, "workersCount": len(workers), "busyWorkers": sum(w["busy"] for w in workers),
                "pendingRuns": i % 5, "managedByK8sController": i % 3 == 0, "driftDetectionRunLimit": None,
                "workers": workers,
            }  # fmt: skip

    def _gen_policies(self, count: int) -> None:
        rng = self.rng
        for i in range(count):
            ptype = POLICY_TYPES[i % len(POLICY_TYPES)]
            slug = f"{ptype.lower().replace('_', '-')}-{i}"
            space = self._space_ref(rng)
            self.policies[slug] = {
                "id": slug, "name": f"{ptype.title().replace('_', ' ')} policy {i}",
                "description": f"Guards {ptype.lower()} decisions" if i % 2 == 0 else None,
                "body": f"package spacelift\n\n# {ptype} rule {i}\ndeny[\"no\"] {{ false }}\n",
                "type": ptype, "labels": [f"team:{TEAMS[i % len(TEAMS)]}"] + (["autoattach:*"] if i == 0 else []),
                "space": space["id"], "spaceDetails": space, "engineType": "REGO_V1" if i % 2 else "REGO_V0",
                "createdAt": self.now - 86400 * (100 + i), "updatedAt": self.now - 86400 * (i % 30),
                "attachedStacks": [],
            }  # fmt: skip

    def _gen_contexts(self, count: int) -> None:
        rng = self.rng
        for i in range(count):
            ctx_id = f"{TEAMS[i % len(TEAMS)]}-{ENVS[i % len(ENVS)]}-ctx-{i}"
            space = self._space_ref(rng)
            config = [
                {"id": "AWS_REGION", "type": "ENVIRONMENT_VARIABLE", "value": "eu-west-1", "checksum": "c1",
                 "description": None, "writeOnly": False, "runtime": False},
                {"id": "DB_PASSWORD", "type": "ENVIRONMENT_VARIABLE", "value": f"{SECRET_MARK}-ctx-{i}",
                 "checksum": "c2", "description": "database password", "writeOnly": True, "runtime": False},
            ]  # fmt: skip
            self.contexts[ctx_id] = {
                "id": ctx_id, "name": ctx_id.replace("-", " "), "description": f"Shared settings {i}" if i % 2 else None,
                "labels": [f"env:{ENVS[i % len(ENVS)]}"] + (["autoattach:shared"] if i == 0 else []),
                "space": space["id"], "spaceDetails": space, "createdAt": self.now - 86400 * (50 + i),
                "updatedAt": self.now - 86400 * (i % 10), "hasAttachedStacks": False, "config": config,
                "attachedStacks": [],
            }  # fmt: skip

    def _gen_stacks(self, count: int) -> None:
        rng = self.rng
        pools = list(self.worker_pools.values())
        policies = list(self.policies.values())
        contexts = list(self.contexts.values())
        for i in range(count):
            comp, env = COMPONENTS[i % len(COMPONENTS)], ENVS[(i // len(COMPONENTS)) % len(ENVS)]
            stack_id = f"{comp}-{env}" + (f"-{i}" if i >= len(COMPONENTS) * len(ENVS) else "")
            space = self._space_ref(rng)
            vendor = VENDORS[i % len(VENDORS)]
            provider = VCS_PROVIDERS[i % len(VCS_PROVIDERS)]
            pool = pools[i % len(pools)] if pools and i % 2 == 1 else None
            person = PEOPLE[i % len(PEOPLE)]
            repo = f"acme/infra-{TEAMS[i % len(TEAMS)]}"
            locked = i % 9 == 4
            stack: Obj = {
                "id": stack_id, "name": f"{comp.upper() if len(comp) <= 3 else comp.title()} ({env})",
                "description": f"{comp} for {env}" if i % 4 else None,
                "labels": [f"team:{TEAMS[i % len(TEAMS)]}", f"env:{env}"] + (["critical"] if i % 5 == 0 else [])
                          + (["feature:disable_resource_sanitization"] if i % 11 == 10 else []),
                "space": space["id"], "spaceDetails": space, "createdAt": self.now - 86400 * (400 - i % 300),
                "administrative": i % 10 == 2, "autodeploy": i % 3 == 0, "autoretry": i % 6 == 0,
                "branch": "main", "repository": repo, "namespace": "acme",
                "projectRoot": f"stacks/{comp}/{env}" if i % 3 else None,
                "repositoryURL": f"https://github.com/{repo}", "apiHost": "https://github.com",
                "provider": provider, "vcsIntegration": None, "isDisabled": i % 17 == 16, "deleted": False,
                "deleting": False, "protectFromDeletion": i % 5 == 0,
                "lockedBy": person[0] if locked else None, "lockedAt": self.now - 3600 if locked else None,
                "lockNote": "maintenance window" if locked else None, "blocked": False, "blocker": None,
                "isDrifted": i % 7 == 3, "entityCount": 0, "needsApproval": i % 8 == 7,
                "managesStateFile": i % 4 != 1, "localPreviewEnabled": i % 2 == 0, "starred": i % 6 == 1,
                "canWrite": True, "runnerImage": None, "stateSetBy": None, "trackedCommitSetBy": None,
                "vendorConfig": self._vendor_config(vendor, i),
                "terraformVersion": "1.5.7" if vendor == "StackConfigVendorTerraform" else None,
                "effectiveTerraformVersion": "1.5.7" if vendor in VENDORS[:3] else None,
                "workerPool": pool,
                "attachedPolicies": [], "attachedContexts": [], "dependsOn": [], "isDependedOnBy": [],
                "outputs": [
                    {"id": "vpc_id", "value": f"vpc-{i:04x}", "sensitive": False, "description": None},
                    {"id": "db_password", "value": f"{SECRET_MARK}-output-{i}", "sensitive": True,
                     "description": "generated password"},
                ],
            }  # fmt: skip
            for policy in rng.sample(policies, k=min(len(policies), rng.randint(0, 3))) if policies else []:
                self._attach_policy(stack, policy)
            for priority, ctx in enumerate(rng.sample(contexts, k=min(len(contexts), rng.randint(0, 2)))):
                self._attach_context(stack, ctx, priority)
            earlier = list(self.stacks.values())
            for upstream in rng.sample(earlier, k=min(len(earlier), rng.randint(0, 2))) if i % 3 == 2 else []:
                self._add_dependency(stack, upstream)
            self._bind_runs(stack, has_runs=i != count - 1 or count < 2, index=i)
            self.stacks[stack_id] = stack
        for stack in self.stacks.values():
            self._refresh_stack_state(stack)
            stack["entities"] = self._entities(self._rng_for("entities", stack["id"]), stack)
            stack["entityCount"] = len(stack["entities"])

    def _vendor_config(self, vendor: str, i: int) -> Obj:
        configs: dict[str, Obj] = {
            "StackConfigVendorTerraform": {"version": "1.5.7", "workspace": None, "useSmartSanitization": i % 2 == 0,
                                           "externalStateAccessEnabled": False, "workflowTool": "TERRAFORM_FOSS"},
            "StackConfigVendorOpenTofu": {"version": "1.8.2", "workspace": None},
            "StackConfigVendorTerragrunt": {"terraformVersion": "1.5.7", "terragruntVersion": "0.67.0"},
            "StackConfigVendorPulumi": {"loginURL": "s3://pulumi-state", "stackName": f"stack-{i}"},
            "StackConfigVendorCloudFormation": {"region": "eu-west-1", "stackName": f"cfn-{i}"},
            "StackConfigVendorKubernetes": {"namespace": "default", "kubectlVersion": "1.30.0"},
            "StackConfigVendorAnsible": {"playbook": "site.yml"},
        }  # fmt: skip
        return {"__typename": vendor, **configs[vendor]}

    def _entities(self, rng: random.Random, stack: Obj) -> list[Obj]:
        """The resources a stack manages, shaped as spacectl reads them (``internal/cmd/stack/resources.go``):
        a vendor union per IaC tool; Terraform's attribute ``values`` is a JSON string, sanitized as Spacelift
        documents (every string hashed to 8 hex characters, or only sensitive ones with smart sanitization,
        or none with the ``feature:disable_resource_sanitization`` label); ``drifted`` a unix time or null;
        ``creator``/``updater`` the runs that created and last changed it."""
        vendor = stack["vendorConfig"]["__typename"]
        runs = [r for r in self.tracked_runs(stack["id"]) if r["type"] == "TRACKED"]
        count = rng.randint(0, 8) if runs else 0
        entities = []
        for n in range(count):
            kind = rng.choice(RESOURCE_TYPES)
            name = f"{kind.split('_', 1)[1]}_{n}"
            module = "" if n % 3 else f"module.{stack['id'].split('-')[0]}"
            address = f"{module + '.' if module else ''}{kind}.{name}"
            creator = runs[-1] if len(runs) > 1 and n % 4 == 1 else runs[min(len(runs) - 1, n % 3)]
            entity: Obj = {
                "id": address, "address": address, "name": name, "type": kind, "parent": module or None,
                "creator": creator, "updater": runs[0] if n % 2 else creator, "thirdPartyMetadata": None,
                "drifted": self.now - 3600 * (n + 1) if stack["isDrifted"] and n < 2 else None,
                "vendor": self._entity_vendor(stack, vendor, kind, name, module, n),
            }  # fmt: skip
            entities.append(entity)
        return entities

    def _entity_vendor(self, stack: Obj, vendor: str, kind: str, name: str, module: str, n: int) -> Obj:
        provider = kind.split("_", 1)[0]
        cloud_id = {"aws": f"arn:aws:s3:::{stack['id']}-{name}", "google": f"projects/acme/{name}",
                    "azurerm": f"/subscriptions/0000/resourceGroups/{name}"}[provider]  # fmt: skip
        if vendor == "StackConfigVendorPulumi":
            return {"__typename": "EntityVendorPulumi", "pulumi": {
                "__typename": "PulumiResource", "urn": f"urn:pulumi:{stack['id']}::acme::{kind}::{name}",
                "id": cloud_id, "provider": provider, "parent": module, "outputs": json.dumps(
                    {"id": cloud_id, "password": RESOURCE_SECRET_MARK})}}  # fmt: skip
        if vendor == "StackConfigVendorCloudFormation":
            return {"__typename": "EntityVendorCloudFormation", "cloudFormation": {
                "__typename": "CloudFormationResource", "logicalResourceId": name, "physicalResourceId": cloud_id,
                "template": json.dumps({"Type": kind, "Properties": {"Secret": RESOURCE_SECRET_MARK}})}}  # fmt: skip
        if vendor in ("StackConfigVendorKubernetes", "StackConfigVendorAnsible"):
            field, member = (
                ("kubernetes", "KubernetesResource")
                if "Kubernetes" in vendor
                else ("ansible", "AnsibleResource")
            )
            return {"__typename": f"EntityVendor{field.title()}", field: {
                "__typename": member, "data": json.dumps({"name": name, "token": RESOURCE_SECRET_MARK})}}  # fmt: skip
        values: dict[str, Any] = {"id": name if provider == "aws" else cloud_id, "tags": {"team": stack["labels"][0]},
                                  "user_data": f"#!/bin/sh\nexport TOKEN={RESOURCE_SECRET_MARK}-{n}",
                                  "password": f"{RESOURCE_SECRET_MARK}-sensitive", "size": 10 + n}  # fmt: skip
        if provider == "aws":
            values["arn"] = cloud_id
        elif provider == "google":
            values["self_link"] = f"https://www.googleapis.com/compute/v1/{cloud_id}"
        sanitized = self._sanitized(stack, values, sensitive={"password"})
        return {"__typename": "EntityVendorTerraform", "terraform": {
            "__typename": "TerraformResource", "address": f"{module + '.' if module else ''}{kind}.{name}",
            "mode": "managed", "module": module, "tainted": n == 5,
            "provider": f'provider["registry.terraform.io/hashicorp/{provider}"]', "values": json.dumps(sanitized)}}  # fmt: skip

    @staticmethod
    def _sanitized(stack: Obj, values: dict[str, Any], sensitive: set[str]) -> dict[str, Any]:
        """Spacelift's resource sanitization: strings become the first 8 hex characters of their sha256."""
        if "feature:disable_resource_sanitization" in stack["labels"]:
            return values
        smart = bool(stack["vendorConfig"].get("useSmartSanitization"))

        def clean(key: str, value: Any) -> Any:
            if isinstance(value, dict):
                return {k: clean(k, v) for k, v in value.items()}
            if isinstance(value, str) and (not smart or key in sensitive):
                return hashlib.sha256(value.encode()).hexdigest()[:8]
            return value

        return {k: clean(k, v) for k, v in values.items()}

    def _attach_policy(self, stack: Obj, policy: Obj) -> None:
        attachment_id = f"{policy['id']}@{stack['id']}"
        stack["attachedPolicies"].append({"id": attachment_id, "policyId": policy["id"], "policyName": policy["name"],
                                          "policyType": policy["type"], "isAutoattached": False})  # fmt: skip
        policy["attachedStacks"].append(
            {"id": attachment_id, "stackId": stack["id"], "isAutoattached": False}
        )

    def _attach_context(self, stack: Obj, ctx: Obj, priority: int) -> None:
        attachment_id = f"{ctx['id']}@{stack['id']}"
        stack["attachedContexts"].append({"id": attachment_id, "contextId": ctx["id"], "contextName": ctx["name"],
                                          "priority": priority, "isAutoattached": False, "config": ctx["config"]})  # fmt: skip
        ctx["attachedStacks"].append({"id": attachment_id, "stackId": stack["id"], "isAutoattached": False,
                                      "priority": priority})  # fmt: skip
        ctx["hasAttachedStacks"] = True

    def _add_dependency(self, stack: Obj, upstream: Obj) -> None:
        dep = {"id": f"{stack['id']}->{upstream['id']}", "stack": {"id": stack["id"], "name": stack["name"]},
               "dependsOnStack": {"id": upstream["id"], "name": upstream["name"]}}  # fmt: skip
        stack["dependsOn"].append(dep)
        upstream["isDependedOnBy"].append(dep)

    def _gen_users(self, count: int) -> None:
        rng = self.rng
        spaces = list(self.spaces)
        for i in range(count):
            login, name = PEOPLE[i % len(PEOPLE)]
            username = login if i < len(PEOPLE) else f"{login}{i}"
            user_id = ulid(rng, self.now - 86400 * 300)
            rules = [{"space": s, "spaceAccessLevel": ACCESS_LEVELS[(i + n) % 3]}
                     for n, s in enumerate(rng.sample(spaces, k=min(len(spaces), 1 + i % 3)))]  # fmt: skip
            self.users[user_id] = {
                "id": user_id, "username": username,
                "invitationEmail": f"{username}@acme.example" if i % 4 else None,
                "loginMethod": ["GITHUB", "SAML", "GOOGLE", "GITLAB"][i % 4], "status": ["ACTIVE", "PENDING", "INACTIVE"][i % 3],
                "lastLoginTime": self.now - 3600 * (i % 200) if i % 3 != 1 else None,
                "spaceCount": len(rules), "groupCount": i % 3, "accessRules": rules,
            }  # fmt: skip

    def _gen_blueprints(self, count: int) -> None:
        rng = self.rng
        for i in range(count):
            bp_id = f"blueprint-{TEAMS[i % len(TEAMS)]}-{i}"
            space = self._space_ref(rng)
            self.blueprints[bp_id] = {
                "id": bp_id, "name": f"{TEAMS[i % len(TEAMS)].title()} service stack", "description": "Golden path",
                "state": "PUBLISHED" if i % 3 else "DRAFT", "labels": ["golden-path"], "space": space,
                "createdAt": self.now - 86400 * 60, "updatedAt": self.now - 86400 * (i % 20),
                "rawTemplate": "inputs:\n  - id: name\n", "inputs": [
                    {"id": "name", "name": "Stack name", "default": None, "description": "Name of the new stack",
                     "options": [], "type": "SHORT_TEXT"},
                    {"id": "env", "name": "Environment", "default": "dev", "description": None,
                     "options": ENVS, "type": "SELECT"},
                ],
            }  # fmt: skip

    def _gen_templates(self, count: int) -> None:
        """Templates (Spacelift's successor to blueprints) with versions; a version's inputs are declared
        in its YAML body, so the sandbox keeps them aside (``_inputs``) to validate deployments."""
        rng = self.rng
        for i in range(count):
            team = TEAMS[i % len(TEAMS)]
            template_id = f"{team}-service-{i}"
            space = self._space_ref(rng)
            versions = []
            for n in range(1 + i % 3):
                state = "DRAFT" if (i % 4 == 0 or n == i % 3) and n > 0 else "PUBLISHED"
                if i % 5 == 1:
                    state = "DRAFT"  # a template with nothing published yet
                versions.append({
                    "id": ulid(rng, self.now - 86400 * (30 - n)), "ulid": None, "name": f"{team} service",
                    "instructions": "Fill in the stack name" if n == 0 else None, "state": state,
                    "labels": [], "version": f"1.{n}.0", "createdAt": self.now - 86400 * (30 - n),
                    "updatedAt": self.now - 86400 * (20 - n), "space": space,
                    "publishedAt": self.now - 86400 * (20 - n) if state == "PUBLISHED" else None,
                    "rawTemplate": "inputs:\n  - id: name\n    name: Stack name\n",
                    "_inputs": [{"id": "name", "required": True}, {"id": "env", "required": False}],
                })  # fmt: skip
            for version in versions:
                version["ulid"] = version["id"]
            template: Obj = {
                "id": template_id, "ulid": ulid(rng, self.now - 86400 * 40), "name": f"{team.title()} service",
                "description": f"Golden path for {team} services" if i % 2 == 0 else None,
                "labels": ["golden-path", f"team:{team}"], "createdAt": self.now - 86400 * 40,
                "updatedAt": self.now - 86400 * (i % 20), "deploymentsCount": i % 4, "space": space,
                "canDelete": i % 4 == 0, "_versions": versions,
            }  # fmt: skip
            published = [v for v in versions if v["state"] == "PUBLISHED"]
            template["latestVersion"] = versions[-1]
            template["templateVersion"] = lambda info, id, t=template: next(
                (v for v in t["_versions"] if v["id"] == id), None
            )
            template["templateVersionByNumber"] = lambda info, versionNumber, t=template: next(
                (v for v in t["_versions"] if v["version"] == versionNumber), None
            )
            template["_published"] = bool(published)
            self.templates[template_id] = template

    def deploy_template(self, version_id: str, inputs: Obj) -> Obj:
        """``templateDeploymentCreate``: ``version_id`` is a template *version* id (provider PR #780)."""
        found = [(t, v) for t in self.templates.values() for v in t["_versions"] if v["id"] == version_id]
        if not found:
            raise SpaceliftError(f"template version {version_id} not found")
        template, version = found[0]
        if version["state"] != "PUBLISHED":
            raise SpaceliftError(
                f"template version {version['version']} of {template['id']} is {version['state']}; "
                "only a published version can be deployed"
            )
        values = {pair["id"]: pair["value"] for pair in inputs.get("inputs") or []}
        missing = [i["id"] for i in version["_inputs"] if i["required"] and not values.get(i["id"])]
        if missing:
            raise SpaceliftError(f"missing template inputs: {', '.join(missing)}")
        space = self.spaces.get(inputs["space"])
        if space is None:
            raise SpaceliftError(f"space {inputs['space']} not found")
        stack = self._new_stack(values["name"], space, "from-template")
        deployment_id = ulid(self._rng_for("deployment", version_id, stack["id"]), self.clock())
        deployment = {
            "id": deployment_id, "name": inputs["name"], "description": inputs.get("description"),
            "createdAt": int(self.clock()), "state": "FINISHED", "space": space, "template": template,
            "templateVersion": version, "stacks": [stack],
            "inputs": [{"id": k, "value": v, "secret": False,
                        "checksum": hashlib.sha256(v.encode()).hexdigest()} for k, v in values.items()],
        }  # fmt: skip
        self.template_deployments[deployment_id] = deployment
        template["deploymentsCount"] = (template["deploymentsCount"] or 0) + 1
        return deployment

    def _gen_modules(self, count: int) -> None:
        rng = self.rng
        for i in range(count):
            comp = COMPONENTS[i % len(COMPONENTS)]
            provider = ["aws", "google", "azurerm", "kubernetes"][i % 4]
            mod_id = f"terraform-{provider}-{comp}" + (f"-{i}" if i >= len(COMPONENTS) else "")
            space = self._space_ref(rng)
            self.modules[mod_id] = {
                "id": mod_id, "name": comp, "description": f"Reusable {comp} module" if i % 2 else None,
                "labels": [f"team:{TEAMS[i % len(TEAMS)]}"], "space": space["id"], "spaceDetails": space,
                "administrative": False, "branch": "main", "repository": f"terraform-{provider}-{comp}",
                "namespace": "acme", "provider": VCS_PROVIDERS[i % len(VCS_PROVIDERS)], "projectRoot": None,
                "terraformProvider": provider, "public": i % 5 == 0, "isDisabled": False,
                "createdAt": self.now - 86400 * 90,
                "current": {"id": ulid(rng, self.now - 86400), "number": f"1.{i % 7}.{i % 3}", "state": "ACTIVE",
                            "yanked": False} if i % 6 else None,
                "workerPool": None,
            }  # fmt: skip

    # --- runs -------------------------------------------------------------------------------------

    def _bind_runs(self, stack: Obj, has_runs: bool, index: int) -> None:
        stack_id = stack["id"]
        stack["_has_runs"] = has_runs
        stack["_index"] = index
        stack["runs"] = lambda info, before=None: self._page(self.tracked_runs(stack_id), before)
        stack["proposedRuns"] = lambda info, before=None: self._page(self.proposed_runs(stack_id), before)
        stack["tasks"] = lambda info, before=None: self._page(self.task_runs(stack_id), before)
        stack["run"] = lambda info, id: self.find_run(stack_id, id)

    def _page(self, runs: list[Obj], before: str | None) -> list[Obj]:
        self.advance_runs()
        start = 0
        if before is not None:
            ids = [r["id"] for r in runs]
            if before not in ids:
                return []
            start = ids.index(before) + 1
        return runs[start : start + self.runs_page_size]

    def tracked_runs(self, stack_id: str) -> list[Obj]:
        if stack_id not in self._tracked:
            self._generate_runs(stack_id)
        return self._tracked[stack_id]

    def proposed_runs(self, stack_id: str) -> list[Obj]:
        if stack_id not in self._proposed:
            self._generate_runs(stack_id)
        return self._proposed[stack_id]

    def task_runs(self, stack_id: str) -> list[Obj]:
        if stack_id not in self._tasks:
            self._generate_runs(stack_id)
        return self._tasks[stack_id]

    def all_runs(self, stack_id: str) -> list[Obj]:
        """Every run of the stack, whichever list Spacelift shows it in (``stack.run(id)`` finds them all)."""
        return self.tracked_runs(stack_id) + self.proposed_runs(stack_id) + self.task_runs(stack_id)

    def find_run(self, stack_id: str, run_id: str) -> Obj | None:
        self.advance_runs()
        for run in self.all_runs(stack_id):
            if run["id"] == run_id:
                return run
        return None

    def _generate_runs(self, stack_id: str) -> None:
        stack = self.stacks.get(stack_id)
        if stack is None or not stack.get("_has_runs", True):
            self._tracked[stack_id], self._proposed[stack_id], self._tasks[stack_id] = [], [], []
            return
        rng = self._rng_for("runs", stack_id)
        index = stack["_index"]
        count = self.profile.runs_per_stack
        tracked: list[Obj] = []
        proposed: list[Obj] = []
        tasks: list[Obj] = []
        created = self.now - rng.randint(600, 86400)
        for j in range(count):
            if j == 0:
                run_type, state = "TRACKED", RUN_STATES[index % len(RUN_STATES)]
            else:
                run_type = rng.choices(["TRACKED", "TASK", "DESTROY"], weights=[8, 1, 1])[0]
                state = rng.choices(["FINISHED", "FAILED", "DISCARDED", "CANCELED", "STOPPED", "SKIPPED"],
                                    weights=[12, 3, 2, 1, 1, 1])[0]  # fmt: skip
            run = self._make_run(rng, stack, run_type, state, created, most_recent=j == 0)
            (tasks if run_type == "TASK" else tracked).append(run)
            created -= rng.randint(3600 * 6, 3600 * 48)
        created = self.now - rng.randint(300, 7200)
        for j in range(max(1, count // 2)):
            state = (
                RUN_STATES[(index + 11) % len(RUN_STATES)] if j == 0 else rng.choice(["FINISHED", "FAILED"])
            )
            run = self._make_run(rng, stack, "PROPOSED", state, created, most_recent=j == 0)
            run["driftDetection"] = j % 3 == 1
            proposed.append(run)
            created -= rng.randint(3600 * 2, 3600 * 30)
        self._tracked[stack_id], self._proposed[stack_id], self._tasks[stack_id] = tracked, proposed, tasks

    def _make_run(
        self, rng: random.Random, stack: Obj, run_type: str, state: str, created: int, most_recent: bool
    ) -> Obj:
        login, name = rng.choice(PEOPLE)
        sha = "".join(rng.choice("0123456789abcdef") for _ in range(40))
        terminal = state in TERMINAL_STATES
        duration = rng.randint(40, 1800)
        planned = state not in {"QUEUED", "PREPARING", "INITIALIZING", "PLANNING", "FAILED", "CANCELED", "READY",
                                "PENDING", "SKIPPED"}  # fmt: skip
        trigger = rng.choice([login, f"api::{ulid(rng, created)}", None])
        run: Obj = {
            "id": ulid(rng, created), "type": run_type, "state": state,
            "title": rng.choice(["Bump instance size", "Add bucket policy", "Rotate keys", "Upgrade provider",
                                 "Trigger from Port"]),
            "branch": stack["branch"] if run_type != "PROPOSED" else f"feature/{login}-{rng.randint(1, 99)}",
            "commit": {"hash": sha, "message": f"Update {stack['id']}", "authorName": name, "authorLogin": login,
                       "timestamp": created - 120, "url": f"{stack['repositoryURL']}/commit/{sha}", "tag": None},
            "createdAt": created, "updatedAt": created + duration if terminal else created + duration // 4,
            "triggeredBy": trigger, "driftDetection": False, "finished": terminal,
            "delta": {"addCount": rng.randint(0, 9), "changeCount": rng.randint(0, 9), "deleteCount": rng.randint(0, 3),
                      "resources": rng.randint(10, 400)} if planned else None,
            "needsApproval": state == "PENDING_REVIEW", "expired": False, "isMostRecent": most_recent,
            "canRetry": state == "FAILED", "canConfirm": state == "UNCONFIRMED", "comments": [],
            "command": rng.choice(TASK_COMMANDS) if run_type == "TASK" else None,
        }  # fmt: skip
        run["history"] = self._history(run, terminal, duration)
        return run

    def _history(self, run: Obj, terminal: bool, duration: int) -> list[Obj]:
        path = ["QUEUED", "PREPARING", "INITIALIZING", "PLANNING"]
        if run["state"] not in path:
            path.append(run["state"])
        else:
            path = path[: path.index(run["state"]) + 1]
        step = max(1, duration // len(path))
        return [
            {"state": s, "stateVersion": n + 1, "timestamp": run["createdAt"] + n * step,
             "terminal": terminal and n == len(path) - 1, "hasLogs": n > 0, "note": None, "username": None}
            for n, s in enumerate(path)
        ]  # fmt: skip

    def _refresh_stack_state(self, stack: Obj) -> None:
        tracked = [r for r in self.tracked_runs(stack["id"]) if r["type"] == "TRACKED"]
        latest = tracked[0] if tracked else None
        stack["state"] = latest["state"] if latest else "NONE"
        stack["stateSetAt"] = latest["updatedAt"] if latest else None
        stack["stateIsTerminal"] = latest["state"] in TERMINAL_STATES if latest else None
        stack["trackedCommit"] = latest["commit"] if latest else None
        stack["trackedBranchHead"] = latest["commit"] if latest else None
        stack["lastApplyAt"] = latest["updatedAt"] if latest and latest["state"] == "FINISHED" else None

    # --- mutations and the run state machine --------------------------------------------------------

    def stack_or_error(self, stack_id: str) -> Obj:
        stack = self.stacks.get(stack_id)
        if stack is None:
            raise SpaceliftError(f"stack {stack_id} not found")
        return stack

    def trigger_run(self, stack_id: str, commit_sha: str | None, run_type: str | None, actor: str) -> Obj:
        stack = self.stack_or_error(stack_id)
        if stack["isDisabled"]:
            raise SpaceliftError(f"stack {stack_id} is disabled")
        if stack["lockedBy"] and stack["lockedBy"] != actor:
            raise SpaceliftError(f"stack {stack_id} is locked by {stack['lockedBy']}")
        run_type = run_type or "TRACKED"
        rng = self._rng_for("trigger", stack_id, self.clock())
        now = int(self.clock())
        run = self._make_run(rng, stack, run_type, "QUEUED", now, most_recent=True)
        run.update({"triggeredBy": actor, "delta": None, "finished": False, "history": [], "title": "Triggered run",
                    "_plan": self._plan_for(stack, run_type), "_step": 0, "_since": self.clock(), "_version": 0})  # fmt: skip
        if commit_sha:
            run["commit"] = {
                **run["commit"],
                "hash": commit_sha,
                "url": f"{stack['repositoryURL']}/commit/{commit_sha}",
            }
        runs = self.proposed_runs(stack_id) if run_type == "PROPOSED" else self.tracked_runs(stack_id)
        for other in runs:
            other["isMostRecent"] = False
        runs.insert(0, run)
        self._live_runs.append((stack_id, run))
        self._transition(stack, run, "QUEUED")
        return run

    def create_task(self, stack_id: str, command: str, actor: str) -> Obj:
        """``taskCreate``: a TASK run, listed under ``stack.tasks`` and moved by the clock like any run."""
        stack = self.stack_or_error(stack_id)
        if stack["lockedBy"] and stack["lockedBy"] != actor:
            raise SpaceliftError(f"stack {stack_id} is locked by {stack['lockedBy']}")
        if not command.strip():
            raise SpaceliftError("command must not be empty")
        rng = self._rng_for("task", stack_id, self.clock())
        run = self._make_run(rng, stack, "TASK", "QUEUED", int(self.clock()), most_recent=False)
        run.update({"triggeredBy": actor, "delta": None, "finished": False, "history": [], "title": None,
                    "command": command, "_plan": ["QUEUED", "PREPARING", "PERFORMING", "FINISHED"], "_step": 0,
                    "_since": self.clock(), "_version": 0})  # fmt: skip
        self.task_runs(stack_id).insert(0, run)
        self._live_runs.append((stack_id, run))
        self._transition(stack, run, "QUEUED")
        return run

    def _plan_for(self, stack: Obj, run_type: str) -> list[str]:
        plan = ["QUEUED", "PREPARING", "INITIALIZING", "PLANNING"]
        if run_type == "PROPOSED":
            return [*plan, "FINISHED"]
        if stack["autodeploy"]:
            return [*plan, "APPLYING", "FINISHED"]
        return [*plan, "UNCONFIRMED"]  # waits for runConfirm / runDiscard

    def _transition(self, stack: Obj, run: Obj, state: str, note: str | None = None) -> None:
        run["_version"] = run.get("_version", 0) + 1
        run["state"] = state
        run["updatedAt"] = int(self.clock())
        run["finished"] = state in TERMINAL_STATES
        run["canConfirm"] = state == "UNCONFIRMED"
        if state in {"UNCONFIRMED", "APPLYING", "FINISHED"} and run["delta"] is None:
            run["delta"] = {"addCount": 1, "changeCount": 2, "deleteCount": 0, "resources": 12}
        run["history"].append({"state": state, "stateVersion": run["_version"], "timestamp": run["updatedAt"],
                               "terminal": run["finished"], "hasLogs": True, "note": note, "username": None})  # fmt: skip
        if run["type"] == "TRACKED":
            self._refresh_stack_state(stack)
        if run["type"] == "TRACKED" and state == "FINISHED":
            # an applied run is the last to have changed the resources it changed, and they match the code again
            for entity in stack["entities"][: run["delta"]["changeCount"] + run["delta"]["addCount"]]:
                entity.update({"updater": run, "drifted": None})
        for listener in self.state_listeners:
            listener(stack, run)

    def advance_runs(self) -> None:
        """Move triggered runs along their plan according to the (speedable) clock."""
        now = self.clock()
        for stack_id, run in list(self._live_runs):
            plan = run["_plan"]
            while run["_step"] < len(plan) - 1 and now - run["_since"] >= self.run_step_seconds:
                run["_step"] += 1
                run["_since"] += self.run_step_seconds
                self._transition(self.stacks[stack_id], run, plan[run["_step"]])
            if run["state"] in TERMINAL_STATES or run["state"] == "UNCONFIRMED":
                self._live_runs.remove((stack_id, run))

    def _run_or_blocker(self, stack_id: str, run_id: str | None) -> tuple[Obj, Obj]:
        stack = self.stack_or_error(stack_id)
        self.advance_runs()
        if run_id is None:
            pending = [r for r in self.tracked_runs(stack_id) if r["state"] == "UNCONFIRMED"]
            if not pending:
                raise SpaceliftError(f"no run is awaiting confirmation on stack {stack_id}")
            return stack, pending[0]
        run = self.find_run(stack_id, run_id)
        if run is None:
            raise SpaceliftError(f"run {run_id} not found on stack {stack_id}")
        return stack, run

    def confirm_run(self, stack_id: str, run_id: str | None, note: str | None) -> Obj:
        stack, run = self._run_or_blocker(stack_id, run_id)
        if run["state"] != "UNCONFIRMED":
            raise SpaceliftError(f"run {run['id']} is {run['state']}, not in a confirmable state")
        self._transition(stack, run, "CONFIRMED", note)
        run.update({"_plan": ["CONFIRMED", "APPLYING", "FINISHED"], "_step": 0, "_since": self.clock()})
        self._live_runs.append((stack_id, run))
        return run

    def discard_run(self, stack_id: str, run_id: str | None, note: str | None) -> Obj:
        stack, run = self._run_or_blocker(stack_id, run_id)
        if run["state"] != "UNCONFIRMED":
            raise SpaceliftError(
                f"run {run['id']} is {run['state']}, it can only be discarded while UNCONFIRMED"
            )
        self._transition(stack, run, "DISCARDED", note)
        return run

    def cancel_run(self, stack_id: str, run_id: str, note: str | None) -> Obj:
        stack, run = self._run_or_blocker(stack_id, run_id)
        if run["state"] not in {"QUEUED", "READY", "PENDING"}:
            raise SpaceliftError(
                f"run {run_id} is {run['state']}; only a run that has not started can be canceled"
            )
        self._transition(stack, run, "CANCELED", note)
        self._forget_live(run)
        return run

    def stop_run(self, stack_id: str, run_id: str, note: str | None) -> Obj:
        stack, run = self._run_or_blocker(stack_id, run_id)
        if run["state"] in TERMINAL_STATES:
            raise SpaceliftError(f"run {run_id} has already ended ({run['state']})")
        self._transition(stack, run, "STOPPED", note)
        self._forget_live(run)
        return run

    def _forget_live(self, run: Obj) -> None:
        self._live_runs = [(s, r) for s, r in self._live_runs if r is not run]

    def lock_stack(self, stack_id: str, note: str | None, actor: str) -> Obj:
        stack = self.stack_or_error(stack_id)
        if stack["lockedBy"] and stack["lockedBy"] != actor:
            raise SpaceliftError(f"stack {stack_id} is already locked by {stack['lockedBy']}")
        stack.update({"lockedBy": actor, "lockedAt": int(self.clock()), "lockNote": note})
        return stack

    def unlock_stack(self, stack_id: str, actor: str) -> Obj:
        stack = self.stack_or_error(stack_id)
        if stack["lockedBy"] and stack["lockedBy"] != actor:
            raise SpaceliftError(
                f"stack {stack_id} is locked by {stack['lockedBy']}; only they can unlock it"
            )
        stack.update({"lockedBy": None, "lockedAt": None, "lockNote": None})
        return stack

    def create_stack_from_blueprint(self, blueprint_id: str, inputs: dict[str, str]) -> Obj:
        blueprint = self.blueprints.get(blueprint_id)
        if blueprint is None:
            raise SpaceliftError(f"blueprint {blueprint_id} not found")
        if blueprint["state"] != "PUBLISHED":
            raise SpaceliftError(
                f"blueprint {blueprint_id} is {blueprint['state']}; only published blueprints can create stacks"
            )
        missing = [i["id"] for i in blueprint["inputs"] if i["default"] is None and not inputs.get(i["id"])]
        if missing:
            raise SpaceliftError(f"missing blueprint inputs: {', '.join(missing)}")
        return self._new_stack(inputs["name"], blueprint["space"], "from-blueprint")

    def _new_stack(self, name: str, space: Obj, label: str) -> Obj:
        """A stack created from a blueprint or template: like the first stack, without runs yet."""
        stack_id = name.lower().replace(" ", "-")
        if stack_id in self.stacks:
            raise SpaceliftError(f"stack {stack_id} already exists")
        model = next(iter(self.stacks.values()))
        stack = {**model, "id": stack_id, "name": name, "labels": [label], "space": space["id"],
                 "spaceDetails": space, "lockedBy": None, "lockedAt": None, "lockNote": None,
                 "attachedPolicies": [], "attachedContexts": [], "dependsOn": [], "isDependedOnBy": [],
                 "entities": [], "entityCount": 0, "createdAt": int(self.clock())}  # fmt: skip
        self._bind_runs(stack, has_runs=False, index=len(self.stacks))
        self.stacks[stack_id] = stack
        self._refresh_stack_state(stack)
        return stack

    def delete_stack(self, stack_id: str) -> None:
        """Control-plane helper for reconciliation tests."""
        stack = self.stacks.pop(stack_id)
        for policy in self.policies.values():
            policy["attachedStacks"] = [a for a in policy["attachedStacks"] if a["stackId"] != stack_id]
        for ctx in self.contexts.values():
            ctx["attachedStacks"] = [a for a in ctx["attachedStacks"] if a["stackId"] != stack_id]
        for other in self.stacks.values():
            other["dependsOn"] = [d for d in other["dependsOn"] if d["dependsOnStack"]["id"] != stack_id]
            other["isDependedOnBy"] = [d for d in other["isDependedOnBy"] if d["stack"]["id"] != stack_id]
        del stack

    def web_url(self, *parts: str) -> str:
        return "/".join([self.base_url, *parts])

    def summary(self) -> dict[str, int]:
        """Counts per kind, as the integration should land them in Port (tracked runs only)."""
        return {
            "spaces": len(self.spaces), "stacks": len(self.stacks), "policies": len(self.policies),
            # the private pools, and Spacelift's public pool, which lands as a worker-pool entity too
            "users": len(self.users), "worker_pools": len(self.worker_pools) + 1, "contexts": len(self.contexts),
            "blueprints": len(self.blueprints), "modules": len(self.modules), "templates": len(self.templates),
            "resources": sum(len(s["entities"]) for s in self.stacks.values()),
        }  # fmt: skip
