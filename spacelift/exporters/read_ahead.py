"""Fetch the next pages while Ocean works on the current one.

Ocean maps and upserts a batch a resync handler yields before it asks for the next one
(``sync_raw.py``), so a plain generator leaves Spacelift idle while Port is written and Port idle while
Spacelift answers. ``read_ahead`` keeps a background task ``depth`` pages ahead (memory: ``depth`` pages);
an error reaches the consumer at the page where it happened, after every page before it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TypeVar

T = TypeVar("T")
_END = object()


async def read_ahead(pages: AsyncIterator[T], depth: int) -> AsyncIterator[T]:
    if depth <= 0:
        async for page in pages:
            yield page
        return
    queue: asyncio.Queue[object] = asyncio.Queue(maxsize=depth)

    async def produce() -> None:
        try:
            async for page in pages:
                await queue.put(page)
        except Exception as error:  # handed to the consumer, in order
            await queue.put(_Failed(error))
            return
        await queue.put(_END)

    producer = asyncio.create_task(produce())
    try:
        while (item := await queue.get()) is not _END:
            if isinstance(item, _Failed):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        producer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await producer
        closer = getattr(pages, "aclose", None)
        if closer is not None:
            await closer()


class _Failed:
    def __init__(self, error: Exception) -> None:
        self.error = error


async def rebatch(pages: AsyncIterator[list[T]], min_items: int) -> AsyncIterator[list[T]]:
    """Pages joined into batches of at least ``min_items`` (the last one may be smaller).

    Ocean writes one yielded batch at a time, and forks a JQ worker pool for each: a few large batches
    are mapped and upserted with more requests in flight, and fewer forks, than many small ones.
    """
    batch: list[T] = []
    async for page in pages:
        batch.extend(page)
        if len(batch) >= min_items:
            yield batch
            batch = []
    if batch:
        yield batch
