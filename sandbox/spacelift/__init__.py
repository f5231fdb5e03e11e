"""A faithful local Spacelift GraphQL API: schema-validated queries, seeded accounts, faults, webhooks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sandbox.serving import BackgroundServer, serving
from sandbox.spacelift.account import Account, Profile, profile_named
from sandbox.spacelift.faults import Faults
from sandbox.spacelift.server import DEFAULT_KEY_ID, DEFAULT_KEY_SECRET, SandboxSettings, SandboxSpacelift

__all__ = [
    "DEFAULT_KEY_ID",
    "DEFAULT_KEY_SECRET",
    "Account",
    "Faults",
    "Profile",
    "SandboxSettings",
    "SandboxSpacelift",
    "profile_named",
    "running_sandbox",
]


@contextmanager
def running_sandbox(
    profile: str | Profile = "small",
    seed: int = 1,
    settings: SandboxSettings | None = None,
    faults: Faults | None = None,
    **account_kwargs: Any,
) -> Iterator[tuple[SandboxSpacelift, BackgroundServer]]:
    """Start a sandbox on a free loopback port; the account's links point at it."""
    account = Account(seed, profile, **account_kwargs)
    sandbox = SandboxSpacelift(account, settings, faults)
    with serving(sandbox.app) as server:
        account.base_url = server.url
        yield sandbox, server
