"""``ocean probe``: does the key work, and which kinds can it read? One cheap request per kind."""

from __future__ import annotations

from port_ocean.core.probe import ProbeCheckStatus, ProbeContext

from integration import ObjectKind
from spacelift.client import SpaceliftError, list_all, search_pages
from spacelift.connection import get_connection
from spacelift.graphql import document

# kind -> (document, connection or list field, is it a search connection?)
CHEAP_READS: dict[str, tuple[str, str, bool]] = {
    ObjectKind.SPACE: ("list_spaces", "spaces", False),
    ObjectKind.STACK: ("search_stacks", "searchStacks", True),
    ObjectKind.DEPLOYMENT: ("search_stack_runs", "searchStacks", True),
    ObjectKind.POLICY: ("search_policies", "searchPolicies", True),
    ObjectKind.USER: ("list_managed_users", "managedUsers", False),
    ObjectKind.WORKER_POOL: ("search_worker_pools", "searchWorkerPools", True),
    ObjectKind.CONTEXT: ("search_contexts", "searchContexts", True),
    ObjectKind.BLUEPRINT: ("search_blueprints", "searchBlueprints", True),
    ObjectKind.TEMPLATE: ("search_templates", "searchTemplates", True),
    ObjectKind.RESOURCE: ("search_stacks_with_resources", "searchStacks", True),
    ObjectKind.MODULE: ("search_modules", "searchModules", True),
}


async def read_one_page(kind: str) -> int:
    """How many items the first (one-item) page of ``kind`` holds; raises a SpaceliftError."""
    client = get_connection().client
    doc_name, field, searchable = CHEAP_READS[kind]
    if not searchable:
        return len(await list_all(client, document(doc_name), field))
    variables = (
        {"withRuns": True, "withProposed": False, "withTasks": False}
        if kind == ObjectKind.DEPLOYMENT
        else None
    )
    async for page in search_pages(client, document(doc_name), field, page_size=1, variables=variables):
        return len(page)
    return 0


async def probe_spacelift(context: ProbeContext) -> ProbeContext:
    try:
        connection = get_connection()
        await connection.client.execute(document("viewer"))
    except Exception as error:  # configuration or authentication: nothing else can be checked
        await context.fail(f"cannot reach Spacelift: {error}")
        return context
    for check in await context.setup_unscoped_checks():
        try:
            found = await read_one_page(check.kind)
            check.status = ProbeCheckStatus.SUCCESS
            check.message = "readable" if found else "readable (none found)"
        except SpaceliftError as error:
            check.status = ProbeCheckStatus.FAILURE
            check.message = str(error)
    await context.update_progress()
    return context
