"""Every action executor, registered in one place (Ocean skips them with the ONCE listener)."""

from __future__ import annotations

from port_ocean.context.ocean import ocean

from spacelift.actions.base import SpaceliftActionExecutor
from spacelift.actions.run_actions import (
    CancelRunExecutor,
    ConfirmRunExecutor,
    DiscardRunExecutor,
    RunTaskExecutor,
    TriggerRunExecutor,
)
from spacelift.actions.stack_actions import (
    CreateStackFromBlueprintExecutor,
    CreateStackFromTemplateExecutor,
    LockStackExecutor,
    UnlockStackExecutor,
)

EXECUTORS: list[type[SpaceliftActionExecutor]] = [
    TriggerRunExecutor,
    ConfirmRunExecutor,
    DiscardRunExecutor,
    CancelRunExecutor,
    LockStackExecutor,
    UnlockStackExecutor,
    CreateStackFromBlueprintExecutor,
    CreateStackFromTemplateExecutor,
    RunTaskExecutor,
]


def register_actions() -> None:
    for executor in EXECUTORS:
        ocean.register_action_executor(executor())
