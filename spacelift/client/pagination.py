"""The two ways Spacelift pages lists, as async generators of pages.

* ``search_pages``: ``search*(input: SearchInput!)`` connections, forward cursors
  (``first``/``after``, ``pageInfo { hasNextPage endCursor }``).
* ``run_pages_of_stacks``: ``stack(id) { runs(before: ID) }``, newest first; the next page is asked for
  with the last run's id and a history ends at an empty page. Many stacks are walked at once, several
  per request (GraphQL aliases), so deep histories cost no request per stack.

An expired session can answer with an *empty* page instead of an error (spacectl #364), so an empty
first page is double-checked with ``viewer`` and re-asked once if that forced a re-login.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from itertools import batched
from typing import Any

from loguru import logger

from spacelift.client.errors import SpaceliftPermanentError, SpaceliftTemporaryError
from spacelift.client.graphql_client import SpaceliftClient
from spacelift.graphql import document, stack_runs_batch_document

Page = list[dict[str, Any]]


def dig(data: dict[str, Any], path: str) -> Any:
    """``dig(data, "stack.runs")``; a missing step gives None."""
    node: Any = data
    for step in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(step)
    return node


async def _session_was_renewed(client: SpaceliftClient) -> bool:
    generation = client.auth_generation
    await client.execute(document("viewer"))
    return client.auth_generation != generation


async def list_all(client: SpaceliftClient, doc: str, field: str) -> list[dict[str, Any]]:
    """An unpaginated root list (``spaces``, ``managedUsers``); an empty answer is double-checked."""
    items: list[dict[str, Any]] = []
    for _ in range(2):
        data = await client.execute(doc)
        answer = data.get(field)
        if not isinstance(answer, list):
            raise SpaceliftTemporaryError(
                f"Spacelift answered without a {field} list: the response is incomplete"
            )
        items = answer
        if items or not await _session_was_renewed(client):
            break
    return items


async def search_pages(
    client: SpaceliftClient,
    doc: str,
    connection: str,
    *,
    page_size: int,
    variables: dict[str, Any] | None = None,
    search_input: dict[str, Any] | None = None,
) -> AsyncIterator[Page]:
    """Yield the nodes of a ``search*`` connection page by page.

    ``connection`` is the path to the connection in ``data`` (e.g. ``searchStacks``); the document
    must take ``$input: SearchInput!``.
    """
    after: str | None = None
    first_page = True
    seen_cursors: set[str] = set()
    while True:
        payload = {**(search_input or {}), "first": page_size, "after": after}
        data = await client.execute(doc, {**(variables or {}), "input": payload})
        conn = dig(data, connection)
        if not isinstance(conn, dict):
            raise SpaceliftTemporaryError(
                f"Spacelift answered without {connection}: the response is incomplete"
            )
        nodes = [edge["node"] for edge in conn.get("edges") or [] if edge and edge.get("node") is not None]
        if first_page and not nodes and await _session_was_renewed(client):
            first_page = False
            continue
        first_page = False
        if nodes:
            yield nodes
        info = conn.get("pageInfo") or {}
        cursor = info.get("endCursor")
        if not info.get("hasNextPage") or not cursor:
            return
        if cursor in seen_cursors:  # a server bug must not become an endless resync
            raise SpaceliftTemporaryError(f"Spacelift repeated cursor {cursor!r} while paging {connection}")
        seen_cursors.add(cursor)
        after = cursor


async def run_pages_of_stacks(
    client: SpaceliftClient,
    field: str,
    befores: dict[str, str | None],
    keep_going: Callable[[str, Page], bool],
    *,
    stacks_per_request: int = 10,
) -> None:
    """Walk ``stack(id) { <field>(before:) }`` for many stacks, ``stacks_per_request`` per request.

    ``befores`` maps stack id → the last run id seen (None: start at the newest run);
    ``keep_going(stack_id, page)`` consumes each page and says whether that stack needs an older one. A batched request Spacelift refuses as too large
    (a permanent error) is retried one stack per request, and the rest of the walk stays unbatched.
    """
    size = stacks_per_request
    pending: dict[str, str | None] = dict(befores)
    while pending:
        chunks = list(batched(pending.items(), size))
        try:
            answers = await asyncio.gather(*(_next_pages(client, field, dict(chunk)) for chunk in chunks))
        except SpaceliftPermanentError as error:
            if size == 1:
                raise
            logger.warning(
                f"Spacelift refused {size} stacks' runs in one request ({error}); asking one stack at a time"
            )
            size = 1
            continue
        pending = {}
        for answer in answers:
            for stack_id, page in answer.items():
                if page and keep_going(stack_id, page) and page[-1].get("id") != befores.get(stack_id):
                    pending[stack_id] = page[-1]["id"]
        befores = pending


async def _next_pages(client: SpaceliftClient, field: str, befores: dict[str, str | None]) -> dict[str, Page]:
    ids = list(befores)
    variables: dict[str, Any] = {}
    for n, stack_id in enumerate(ids):
        variables[f"s{n}"], variables[f"b{n}"] = stack_id, befores[stack_id]
    data = await client.execute(stack_runs_batch_document(field, len(ids)), variables)
    return {stack_id: list((data.get(f"s{n}") or {}).get(field) or []) for n, stack_id in enumerate(ids)}
