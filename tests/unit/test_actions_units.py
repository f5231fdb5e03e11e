"""Action building blocks: per-stack turn order and the messages people see when Spacelift refuses."""

from __future__ import annotations

import asyncio

from spacelift.actions.base import explain
from spacelift.actions.run_completion import outcome
from spacelift.actions.stack_turns import StackTurns
from spacelift.client import SpaceliftAuthError, SpaceliftPermanentError


async def test_runs_on_one_stack_execute_in_ticket_order_whatever_the_scheduling() -> None:
    turns = StackTurns()
    done: list[str] = []
    for run_id in ("a", "b", "c"):
        turns.take_ticket("stack:s", run_id)

    async def work(run_id: str, delay: float) -> None:
        await asyncio.sleep(delay)  # c arrives first, a last
        async with turns.turn("stack:s", run_id):
            await asyncio.sleep(0.01)
            done.append(run_id)

    await asyncio.gather(work("c", 0.0), work("b", 0.01), work("a", 0.02))
    assert done == ["a", "b", "c"]


async def test_other_stacks_do_not_wait() -> None:
    turns = StackTurns()
    turns.take_ticket("stack:s", "first")
    turns.take_ticket("stack:t", "other")
    async with turns.turn("stack:t", "other"):
        pass  # would hang if stacks shared a queue


async def test_a_ticket_whose_run_never_executes_stops_blocking() -> None:
    turns = StackTurns(stale_after=0.05)
    turns.take_ticket("stack:s", "ghost")
    turns.take_ticket("stack:s", "real")
    await asyncio.wait_for(_enter(turns, "real"), timeout=3)


async def _enter(turns: StackTurns, run_id: str) -> None:
    async with turns.turn("stack:s", run_id):
        pass


def test_spacelift_refusals_become_specific_messages() -> None:
    locked = explain(
        SpaceliftPermanentError("Spacelift SpaceliftStackLock failed: stack x is already locked by jdoe"),
        "lock stack x",
    )
    assert (
        locked.status_label == "Stack locked" and "locked by jdoe" in str(locked) and "unlock" in str(locked)
    )
    missing = explain(
        SpaceliftPermanentError("Spacelift SpaceliftRunTrigger failed: stack nope not found"),
        "trigger a run on stack nope",
    )
    assert missing.status_label == "Not found" and "stack nope not found" in str(missing)
    state = explain(
        SpaceliftPermanentError(
            "Spacelift SpaceliftRunConfirm failed: run r is FINISHED, not in a confirmable state"
        ),
        "confirm run r",
    )
    assert state.status_label == "Wrong state"
    denied = explain(
        SpaceliftAuthError("Spacelift rejected API key 01K for SpaceliftRunTrigger (unauthorized): check"),
        "trigger a run on stack s",
    )
    assert denied.status_label == "No permission" and "may not trigger a run on stack s" in str(denied)
    other = explain(SpaceliftPermanentError("Spacelift X failed: something new"), "lock stack x")
    assert other.status_label == "Spacelift error" and "something new" in str(other)


def test_run_outcomes() -> None:
    assert outcome("FINISHED") == (True, "finished")
    assert outcome("UNCONFIRMED") == (True, "is waiting for confirmation")
    assert outcome("DISCARDED") == (False, "was discarded")
    assert outcome("APPLYING") is None


def test_only_runs_we_triggered_are_looked_up_in_port(monkeypatch) -> None:
    """Every finished run used to cost two Port reads; now only runs the integration triggered do."""
    from types import SimpleNamespace

    from spacelift.actions import run_completion

    settings = SimpleNamespace(api_key_id="01OURKEY")
    monkeypatch.setattr(run_completion, "get_connection", lambda: SimpleNamespace(settings=settings))
    finished = {"state": "FINISHED", "stateVersion": 5, "stack": {"id": "s"}}
    ours = {**finished, "run": {"id": "r1", "triggeredBy": "api::01OURKEY"}}
    someone_elses = {**finished, "run": {"id": "r2", "triggeredBy": "jdoe"}}
    pushed = {**finished, "run": {"id": "r3", "triggeredBy": None}}
    assert run_completion.RunCompletionProcessor.accepts(ours)
    assert not run_completion.RunCompletionProcessor.accepts(someone_elses)
    assert not run_completion.RunCompletionProcessor.accepts(pushed)
    run_completion.remember_started("r3")  # started by this process (e.g. with a ready token)
    assert run_completion.RunCompletionProcessor.accepts(pushed)
    assert not run_completion.RunCompletionProcessor.accepts({**ours, "state": "PLANNING"})


def test_only_the_shipped_placeholder_installation_is_repointed() -> None:
    from spacelift.actions.ownership import needs_repointing, shipped_actions

    shipped = shipped_actions()
    assert shipped and {a["invocationMethod"]["installationId"] for a in shipped} == {"spacelift"}
    as_shipped = shipped[0]
    assert needs_repointing(as_shipped, "spacelift", "spacelift-prod")
    assert not needs_repointing(as_shipped, "spacelift", "spacelift")  # already ours
    elsewhere = {
        **as_shipped,
        "invocationMethod": {**as_shipped["invocationMethod"], "installationId": "spacelift-dev"},
    }
    assert not needs_repointing(elsewhere, "spacelift", "spacelift-prod")  # someone chose that: left alone
    webhook = {**as_shipped, "invocationMethod": {"type": "WEBHOOK", "url": "https://x"}}
    assert not needs_repointing(webhook, "spacelift", "spacelift-prod")
