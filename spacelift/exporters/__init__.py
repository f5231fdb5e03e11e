"""One exporter per kind: fetch + enrich, no Port logic. ``Exporters`` builds them all for one client."""

from __future__ import annotations

from dataclasses import dataclass

from spacelift.client import SpaceliftClient
from spacelift.exporters.blueprint import BlueprintExporter
from spacelift.exporters.context import ContextExporter
from spacelift.exporters.deployment import DeploymentExporter
from spacelift.exporters.enrich import Links
from spacelift.exporters.module import ModuleExporter
from spacelift.exporters.policy import PolicyExporter
from spacelift.exporters.resource import ResourceExporter
from spacelift.exporters.space import SpaceExporter
from spacelift.exporters.stack import StackExporter
from spacelift.exporters.template import TemplateExporter
from spacelift.exporters.user import UserExporter
from spacelift.exporters.worker_pool import WorkerPoolExporter
from spacelift.query_plan import QueryPlan


@dataclass(frozen=True)
class Exporters:
    space: SpaceExporter
    stack: StackExporter
    deployment: DeploymentExporter
    policy: PolicyExporter
    user: UserExporter
    worker_pool: WorkerPoolExporter
    context: ContextExporter
    blueprint: BlueprintExporter
    template: TemplateExporter
    module: ModuleExporter
    resource: ResourceExporter

    @classmethod
    def for_client(cls, client: SpaceliftClient, web_url: str, plan: QueryPlan) -> Exporters:
        links = Links(web_url)
        args = (client, links, plan)
        return cls(
            space=SpaceExporter(*args),
            stack=StackExporter(*args),
            deployment=DeploymentExporter(*args),
            policy=PolicyExporter(*args),
            user=UserExporter(*args),
            worker_pool=WorkerPoolExporter(*args),
            context=ContextExporter(*args),
            blueprint=BlueprintExporter(*args),
            template=TemplateExporter(*args),
            module=ModuleExporter(*args),
            resource=ResourceExporter(*args),
        )
