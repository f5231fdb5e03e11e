"""What counts as a failed resync: failed kinds, and entities Port rejected in the end."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from spacelift import resync_outcome
from spacelift.client import SpaceliftAuthError
from spacelift.resync_outcome import KindFailed, ResyncReport, record_port_answer, reported_pages

BULK = "https://api.getport.io/v1/blueprints/spaceliftStack/entities/bulk?upsert=true"
SINGLE = "https://api.getport.io/v1/blueprints/spaceliftStack/entities?upsert=true"


@pytest.fixture
def report(monkeypatch) -> ResyncReport:
    fresh = ResyncReport()
    monkeypatch.setattr(resync_outcome, "_current", fresh)
    monkeypatch.setattr(resync_outcome, "_in_resync", lambda: True)
    return fresh


def answer(status: int, body: Any) -> httpx.Response:
    return httpx.Response(status, json=body)


def test_a_bulk_rejection_later_accepted_one_by_one_is_not_a_failure(report) -> None:
    sent = {"entities": [{"identifier": "a"}, {"identifier": "b"}, {"identifier": "c"}]}
    bulk = {"entities": [{"index": 0, "identifier": "a"}], "errors": [
        {"index": 1, "message": "state: must be one of FINISHED"}, {"index": 2, "message": "bad"}]}  # fmt: skip
    record_port_answer(BULK, sent, answer(200, bulk))
    assert set(report.rejected) == {("spaceliftStack", "b"), ("spaceliftStack", "c")}
    record_port_answer(SINGLE, {"identifier": "b"}, answer(200, {"ok": True, "entity": {"identifier": "b"}}))
    record_port_answer(SINGLE, {"identifier": "c"}, answer(422, {"ok": False, "message": "still bad"}))
    assert set(report.rejected) == {("spaceliftStack", "c")}
    line = report.summary(ocean_succeeded=True)
    assert line is not None and "Port rejected 1 entities" in line and "spaceliftStack c" in line


def test_a_failed_bulk_request_rejects_its_entities_but_413_is_resent_singly(report) -> None:
    sent = {"entities": [{"identifier": "a"}, {"identifier": "b"}]}
    record_port_answer(BULK, sent, answer(413, {"message": "too large"}))
    assert report.rejected == {}
    record_port_answer(BULK, sent, answer(500, {"message": "boom"}))
    assert set(report.rejected) == {("spaceliftStack", "a"), ("spaceliftStack", "b")}


def test_other_port_calls_and_live_events_are_not_counted(report, monkeypatch) -> None:
    record_port_answer("https://api.getport.io/v1/entities/search", {"entities": []}, answer(500, {}))
    monkeypatch.setattr(resync_outcome, "_in_resync", lambda: False)
    record_port_answer(SINGLE, {"identifier": "x"}, answer(422, {}))
    assert report.rejected == {}


async def test_a_failing_kind_is_recorded_once_and_raised_as_ocean_abort(report) -> None:
    async def pages():
        yield [{"id": 1}]
        raise SpaceliftAuthError("Spacelift did not accept API key K")

    received = []
    with pytest.raises(KindFailed, match="did not accept API key K"):
        async for page in reported_pages("stack", pages()):
            received.append(page)
    assert received == [[{"id": 1}]]

    async def failing():
        raise SpaceliftAuthError("Spacelift did not accept API key K")
        yield []

    with pytest.raises(KindFailed):
        async for _ in reported_pages("user", failing()):
            pass
    line = report.summary(ocean_succeeded=False)
    assert line == (
        "Spacelift resync failed: 2 of 2 kinds failed and kept their entities in Port "
        "(stack, user: Spacelift did not accept API key K)"
    )


def test_a_clean_resync_has_no_summary_but_ocean_failures_do(report) -> None:
    assert report.summary(ocean_succeeded=True) is None
    assert "Ocean reported the resync as failed" in (report.summary(ocean_succeeded=False) or "")
