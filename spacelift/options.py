"""Small typed options that exporters understand, translated from the user's selectors.

Exporters never read Ocean's event context; handlers build these with ``from_resource_config``.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class StackOptions:
    labels: tuple[str, ...] = ()
    spaces: tuple[str, ...] = ()

    @classmethod
    def from_resource_config(cls, config: Any) -> StackOptions:
        selector = config.selector
        return cls(labels=tuple(selector.labels), spaces=tuple(selector.spaces))

    def search_input(self) -> dict[str, Any]:
        """Labels are filtered by Spacelift (``label`` predicate); spaces by us, as no stack predicate is known."""
        if not self.labels:
            return {}
        return {"predicates": [{"field": "label", "constraint": {"stringMatches": list(self.labels)}}]}

    def wants(self, stack: dict[str, Any]) -> bool:
        """The client-side part of the selection (labels were already filtered by Spacelift)."""
        return not self.spaces or stack.get("space") in self.spaces

    def selects(self, stack: dict[str, Any]) -> bool:
        """The whole selection, for a stack fetched on its own (live events)."""
        labels_ok = not self.labels or bool(set(self.labels) & set(stack.get("labels") or []))
        return labels_ok and self.wants(stack)


@dataclass(frozen=True)
class RunOptions:
    run_types: frozenset[str] = field(default_factory=lambda: frozenset({"TRACKED"}))
    max_runs_per_stack: int = 10
    lookback_days: int = 30
    since: float | None = None  # incremental: only runs created or updated at/after this unix time

    @classmethod
    def from_resource_config(cls, config: Any) -> RunOptions:
        selector = config.selector
        return cls(
            run_types=frozenset(selector.run_types),
            max_runs_per_stack=selector.max_runs_per_stack,
            lookback_days=selector.lookback_days,
        )

    def lists(self) -> tuple[str, ...]:
        """The stack fields the wanted runs are listed in: ``runs`` holds TRACKED and DESTROY runs,
        ``proposedRuns`` PROPOSED ones (drift detection included), ``tasks`` TASK runs (spacectl
        ``stack task list``)."""
        wanted = {"runs": {"TRACKED", "DESTROY"}, "proposedRuns": {"PROPOSED"}, "tasks": {"TASK"}}
        return tuple(field for field, types in wanted.items() if types & self.run_types)


@dataclass(frozen=True)
class ResourceOptions:
    resource_types: tuple[str, ...] = ()  # glob patterns (aws_*); empty: every type
    drifted_only: bool = False
    cloud_id_attributes: tuple[str, ...] = ("arn", "self_link", "id")

    @classmethod
    def from_resource_config(cls, config: Any) -> ResourceOptions:
        selector = config.selector
        return cls(
            resource_types=tuple(selector.resource_types),
            drifted_only=selector.drifted_only,
            cloud_id_attributes=tuple(selector.cloud_id_attributes),
        )

    def wants(self, entity: dict[str, Any]) -> bool:
        if self.drifted_only and entity.get("drifted") is None:
            return False
        kind = str(entity.get("type") or "")
        return not self.resource_types or any(fnmatch.fnmatchcase(kind, p) for p in self.resource_types)
