"""Shared fixtures. Tests never read the developer's own Spacelift variables."""

import os
from collections.abc import Iterator

import pytest

from sandbox.spacelift import SandboxSpacelift, running_sandbox

for _name in list(os.environ):
    if _name.startswith("SPACELIFT_") and _name != "SPACELIFT_PYTHON":
        del os.environ[_name]


@pytest.fixture
def spacelift_sandbox() -> Iterator[tuple[SandboxSpacelift, str]]:
    """A sandbox Spacelift (``small`` profile) on a free loopback port, always stopped: (sandbox, url)."""
    with running_sandbox("small") as (sandbox, server):
        yield sandbox, server.url
