"""Shared helpers: a SpaceliftClient pointed at a running sandbox."""

from __future__ import annotations

import httpx

from sandbox.spacelift import DEFAULT_KEY_ID, DEFAULT_KEY_SECRET
from spacelift.client import SpaceliftClient
from spacelift.client.retry_policy import BackoffPolicy

FAST = BackoffPolicy(base_delay=0.01, max_delay=0.05, max_retry_after=0.05, jitter_ratio=0.0)


def client_for(url: str, max_retries: int = 2, **kwargs: object) -> SpaceliftClient:
    kwargs.setdefault("api_key_id", DEFAULT_KEY_ID)
    kwargs.setdefault("api_key_secret", DEFAULT_KEY_SECRET)
    return SpaceliftClient(
        f"{url}/graphql", httpx.AsyncClient(timeout=10, verify=False), max_retries=max_retries, backoff=FAST, **kwargs  # type: ignore[arg-type]
    )
