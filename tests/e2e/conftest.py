"""Every end-to-end test also checks that no stand-in saw a request it does not know."""

from collections.abc import Iterator

import pytest

from sandbox.demo import STAGES


@pytest.fixture(autouse=True)
def no_unknown_requests() -> Iterator[None]:
    yield
    unknown = [request for stage in STAGES for request in stage.unknown_requests()]
    assert unknown == [], f"requests no stand-in serves (add the route, or fix the caller): {unknown}"
