"""Typed port-app-config: one resource config per kind, selectors with titles and descriptions."""

from typing import Any, Literal

from port_ocean.core.handlers.port_app_config.api import APIPortAppConfig
from port_ocean.core.handlers.port_app_config.models import PortAppConfig, ResourceConfig, Selector
from port_ocean.core.integrations.base import BaseIntegration
from pydantic.v1 import Field

from spacelift import resync_outcome
from spacelift.startup import before_ocean_reads_its_configuration

before_ocean_reads_its_configuration()  # Ocean reads its configuration right after importing this module


class ObjectKind:
    SPACE = "space"
    STACK = "stack"
    DEPLOYMENT = "deployment"
    POLICY = "policy"
    USER = "user"
    WORKER_POOL = "worker-pool"
    CONTEXT = "context"
    BLUEPRINT = "blueprint"
    TEMPLATE = "template"
    MODULE = "module"
    RESOURCE = "resource"


class StackSelector(Selector):
    labels: list[str] = Field(
        default_factory=list,
        title="Labels",
        description="Only stacks with at least one of these labels (filtered by Spacelift). Empty: all stacks.",
    )
    spaces: list[str] = Field(
        default_factory=list,
        title="Spaces",
        description="Only stacks in these space IDs (e.g. root, legacy, platform-01HX…). Empty: every space.",
    )


class DeploymentSelector(Selector):
    run_types: list[Literal["TRACKED", "TASK", "DESTROY", "PROPOSED"]] = Field(
        default_factory=lambda: ["TRACKED"],
        alias="runTypes",
        title="Run types",
        description="Which runs become deployments: TRACKED (default), TASK, DESTROY, PROPOSED (incl. drift detection).",
    )
    max_runs_per_stack: int = Field(
        default=10,
        alias="maxRunsPerStack",
        ge=1,
        le=500,
        title="Max runs per stack",
        description="Newest runs kept per stack (1–500).",
    )
    lookback_days: int = Field(
        default=30,
        alias="lookbackDays",
        ge=1,
        le=3650,
        title="Lookback days",
        description="Only runs created in the last N days (1–3650).",
    )


class ResourceSelector(Selector):
    resource_types: list[str] = Field(
        default_factory=list,
        alias="resourceTypes",
        title="Resource types",
        description="Only these resource types; glob patterns such as aws_* or google_compute_*. Empty: every type.",
    )
    drifted_only: bool = Field(
        default=False,
        alias="driftedOnly",
        title="Drifted only",
        description="Only resources Spacelift's drift detection found drifted.",
    )
    cloud_id_attributes: list[str] = Field(
        default_factory=lambda: ["arn", "self_link", "id"],
        alias="cloudIdAttributes",
        title="Cloud id attributes",
        description="Terraform attributes whose value is the provider's own id, in order: the first found wins "
        "(an ARN or self link before a plain id). Only these "
        "are read; every other attribute value is dropped before Port sees anything.",
    )


class SpaceResourceConfig(ResourceConfig):
    kind: Literal["space"] = Field(title="Spacelift space", description="Spacelift spaces (the space tree).")


class StackResourceConfig(ResourceConfig):
    kind: Literal["stack"] = Field(title="Spacelift stack", description="Spacelift stacks.")
    selector: StackSelector = Field(title="Stack selector", description="Which stacks to sync.")


class DeploymentResourceConfig(ResourceConfig):
    kind: Literal["deployment"] = Field(title="Spacelift run", description="Spacelift runs, as deployments.")
    selector: DeploymentSelector = Field(title="Run selector", description="Which runs to sync.")


class PolicyResourceConfig(ResourceConfig):
    kind: Literal["policy"] = Field(title="Spacelift policy", description="Spacelift policies.")


class UserResourceConfig(ResourceConfig):
    kind: Literal["user"] = Field(title="Spacelift user", description="Spacelift managed users.")


class WorkerPoolResourceConfig(ResourceConfig):
    kind: Literal["worker-pool"] = Field(title="Spacelift worker pool", description="Private worker pools.")


class ContextResourceConfig(ResourceConfig):
    kind: Literal["context"] = Field(
        title="Spacelift context", description="Contexts (metadata only, never values)."
    )


class BlueprintResourceConfig(ResourceConfig):
    kind: Literal["blueprint"] = Field(
        title="Spacelift blueprint",
        description="Stack blueprints (Spacelift's deprecated API; see template).",
    )


class TemplateResourceConfig(ResourceConfig):
    kind: Literal["template"] = Field(
        title="Spacelift template", description="Templates, Spacelift's successor to blueprints."
    )


class ModuleResourceConfig(ResourceConfig):
    kind: Literal["module"] = Field(
        title="Spacelift module", description="Terraform modules in the private registry."
    )


class ResourceResourceConfig(ResourceConfig):
    kind: Literal["resource"] = Field(
        title="Spacelift managed resource",
        description="Resources stacks manage (Spacelift's Resources view).",
    )
    selector: ResourceSelector = Field(title="Resource selector", description="Which resources to sync.")


class SpaceliftPortAppConfig(PortAppConfig):
    resources: list[
        SpaceResourceConfig
        | StackResourceConfig
        | DeploymentResourceConfig
        | PolicyResourceConfig
        | UserResourceConfig
        | WorkerPoolResourceConfig
        | ContextResourceConfig
        | BlueprintResourceConfig
        | TemplateResourceConfig
        | ModuleResourceConfig
        | ResourceResourceConfig
    ] = Field(
        default_factory=list, title="Resources", description="What to sync from Spacelift and how to map it."
    )  # type: ignore[assignment]


class SpaceliftIntegration(BaseIntegration):
    class AppConfigHandlerClass(APIPortAppConfig):
        CONFIG_CLASS = SpaceliftPortAppConfig

    async def sync_raw_all(self, *args: Any, **kwargs: Any) -> bool:
        """Ocean's resync, with its outcome reported: one ERROR line when anything failed, exit 1 in ONCE mode.

        Every resync path (ONCE, scheduled, polling, Port's resync button) goes through this method.
        """
        return await resync_outcome.reported(super().sync_raw_all(*args, **kwargs), self.context.port_client)
