"""The two ways Spacelift pages lists, as async generators of pages.

* ``search_pages``: ``search*(input: SearchInput!)`` connections, forward cursors
  (``first``/``after``, ``pageInfo { hasNextPage endCursor }``).
* ``run_pages_of_stacks``: ``stack(id) { runs(before: ID) }``, newest first; the next page is asked for
  with the last run's id and a history ends at an empty page. Many stacks are walked at once, several
  per request (GraphQL aliases), so deep histories cost no request per stack.

A listing ends only when a live session says so. Spacelift answers an expired session with HTTP 200,
empty lists, ``hasNextPage: false`` and a null ``viewer`` (spacectl #364) — on any page, not only the
first. So every listing document selects ``viewer { id }`` next to its data: the client treats a null
``viewer`` as a dead session (logs in again and re-reads that very page) and fails the kind when it
cannot, and an empty or short page is believed only when the same answer shows a live session. It
costs no extra request. ``require_session_check`` refuses a document that forgets the ``viewer``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from itertools import batched
from typing import Any, TypeVar

from loguru import logger

from spacelift.client.errors import (
    SpaceliftForbiddenError,
    SpaceliftPermanentError,
    SpaceliftQueryTooLargeError,
    SpaceliftTemporaryError,
)
from spacelift.client.graphql_client import SpaceliftClient
from spacelift.graphql import document, stack_entities_batch_document, stack_runs_batch_document

Page = list[dict[str, Any]]
Item = TypeVar("Item")
Answer = TypeVar("Answer")


def dig(data: dict[str, Any], path: str) -> Any:
    """``dig(data, "stack.runs")``; a missing step gives None."""
    node: Any = data
    for step in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(step)
    return node


_VIEWER = re.compile(r"[{\s]viewer\s*\{")


def require_session_check(doc: str) -> str:
    """``doc`` unchanged if it selects ``viewer { … }`` at the top level; else a ValueError (a bug)."""
    if not _VIEWER.search(doc):
        raise ValueError("a listing document must select viewer { id } so every page proves its session")
    return doc


async def list_all(client: SpaceliftClient, doc: str, field: str) -> list[dict[str, Any]]:
    """An unpaginated root list (``spaces``, ``managedUsers``)."""
    data = await client.execute(require_session_check(doc))
    answer = data.get(field)
    if not isinstance(answer, list):
        raise SpaceliftTemporaryError(
            f"Spacelift answered without a {field} list: the response is incomplete"
        )
    return answer


async def whole_list_or_pages(
    client: SpaceliftClient,
    *,
    whole: tuple[str, str] | None,
    search: tuple[str, str],
    page_size: int,
    search_input: dict[str, Any] | None = None,
) -> AsyncIterator[Page]:
    """A kind read with one request for its whole unpaginated list (``whole`` = document, field) when given,
    handed on in pages; if Spacelift refuses that query, the ``search`` connection page by page."""
    if whole is not None:
        doc, field = whole
        try:
            items = await list_all(client, doc, field)
        except SpaceliftForbiddenError:
            raise
        except SpaceliftPermanentError as error:
            logger.warning(
                f"Spacelift refused the whole {field} list ({error}); reading it in pages of {page_size}"
            )
        else:
            for start in range(0, len(items), page_size):
                yield items[start : start + page_size]
            return
    async for page in search_pages(
        client, search[0], search[1], page_size=page_size, search_input=search_input
    ):
        yield page


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
    require_session_check(doc)
    after: str | None = None
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
    ``keep_going(stack_id, page)`` consumes each page and says whether that stack needs an older one.
    A stack that comes back ``null`` is asked about on its own: gone means its history is over, there
    means the batch answer was wrong and the page is read again (twice wrong fails the kind). A batch
    Spacelift refuses as too large is retried with half as many stacks per request (down to one), which
    then holds for the rest of the walk; any other error fails the walk at once.
    """
    size = stacks_per_request
    pending: dict[str, str | None] = dict(befores)
    nulls: dict[str, int] = {}
    while pending:
        size, _, answers = await _send_halving_when_too_large(
            list(pending.items()), lambda chunk: _next_pages(client, field, dict(chunk)), size, "runs"
        )
        asked, pending = pending, {}
        for answer in answers:
            for stack_id, page in answer.items():
                if page is None:
                    nulls[stack_id] = nulls.get(stack_id, 0) + 1
                    if await _stack_still_there(client, stack_id, nulls[stack_id]):
                        pending[stack_id] = asked[stack_id]
                    continue
                if page and keep_going(stack_id, page) and page[-1].get("id") != asked.get(stack_id):
                    pending[stack_id] = page[-1]["id"]


async def _stack_still_there(client: SpaceliftClient, stack_id: str, times_null: int) -> bool:
    """A batch answered ``null`` for this stack: is it gone, or was the answer wrong?"""
    try:
        found = (await client.execute(document("stack_exists"), {"id": stack_id})).get("stack")
    except SpaceliftForbiddenError:
        found = None  # the key may not read it: for this integration it is not there
    if found is None:
        logger.info(f"Stack {stack_id} is gone (deleted, or not readable by the key); its history ends here")
        return False
    if times_null > 1:
        raise SpaceliftTemporaryError(
            f"Spacelift keeps answering stack {stack_id}'s runs with null although the stack exists; "
            "the run listing is incomplete, so this kind keeps its entities in Port"
        )
    logger.warning(f"Spacelift answered stack {stack_id}'s runs with null although it exists; reading again")
    return True


async def _next_pages(
    client: SpaceliftClient, field: str, befores: dict[str, str | None]
) -> dict[str, Page | None]:
    """One batched request; a stack that came back ``null`` maps to None (not to an empty history)."""
    ids = list(befores)
    variables: dict[str, Any] = {}
    for n, stack_id in enumerate(ids):
        variables[f"s{n}"], variables[f"b{n}"] = stack_id, befores[stack_id]
    data = await client.execute(stack_runs_batch_document(field, len(ids)), variables)
    pages: dict[str, Page | None] = {}
    for n, stack_id in enumerate(ids):
        stack = data.get(f"s{n}")
        pages[stack_id] = None if stack is None else list(stack.get(field) or [])
    return pages


async def entities_of_stacks(
    client: SpaceliftClient, stack_ids: list[str], *, stacks_per_request: int, requests_at_once: int
) -> AsyncIterator[dict[str, Page]]:
    """``stack(id) { entities }`` for many stacks, ``stacks_per_request`` per request (GraphQL aliases) and
    ``requests_at_once`` requests in flight, answered as ``{stack id: entities}`` per request. A stack answered
    ``null`` is asked about on its own (gone: skipped; there: read again, twice wrong fails); a request refused
    as too large is sent again with half as many stacks, which then holds for the rest of the walk."""
    size = max(1, stacks_per_request)
    pending = list(stack_ids)
    nulls: dict[str, int] = {}
    while pending:
        size, chunks, answers = await _send_halving_when_too_large(
            pending,
            lambda chunk: client.execute(
                stack_entities_batch_document(len(chunk)),
                {f"s{n}": stack_id for n, stack_id in enumerate(chunk)},
            ),
            size,
            "resources",
            most_chunks=requests_at_once,
        )
        pending = pending[sum(len(chunk) for chunk in chunks) :]
        for chunk, data in zip(chunks, answers, strict=True):
            answer: dict[str, Page] = {}
            for n, stack_id in enumerate(chunk):
                stack = data.get(f"s{n}")
                if stack is not None:
                    answer[stack_id] = list(stack.get("entities") or [])
                    continue
                nulls[stack_id] = nulls.get(stack_id, 0) + 1
                if await _stack_still_there(client, stack_id, nulls[stack_id]):
                    pending.append(stack_id)
            yield answer


async def _send_halving_when_too_large(
    items: list[Item],
    send: Callable[[list[Item]], Awaitable[Answer]],
    size: int,
    what: str,
    *,
    most_chunks: int | None = None,
) -> tuple[int, list[list[Item]], list[Answer]]:
    """Send ``items`` in chunks of ``size`` at once (only the first ``most_chunks`` chunks, if given); when
    Spacelift refuses one as too large, send them again with half as many stacks each (down to one). Returns
    the size that worked (it holds for the rest of the walk), the chunks sent and their answers, in order."""
    while True:
        chunks = [list(chunk) for chunk in batched(items, size)]
        chunks = chunks[: max(1, most_chunks)] if most_chunks is not None else chunks
        try:
            return size, chunks, list(await asyncio.gather(*(send(chunk) for chunk in chunks)))
        except SpaceliftQueryTooLargeError as error:
            if size == 1:
                raise
            size = max(1, size // 2)
            logger.warning(f"{error}; asking for {size} stacks' {what} per request from now on")
