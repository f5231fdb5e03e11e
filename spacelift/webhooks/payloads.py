"""The webhook bodies we act on, validated before anything touches Spacelift or Port."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

RUN_STATE_EVENT = "run_state_changed_event"


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow")


class RunRef(_Lenient):
    id: str = Field(min_length=1)
    type: str | None = None


class StackRef(_Lenient):
    id: str = Field(min_length=1)


class RunStateEvent(_Lenient):
    """Spacelift's default run-state payload (documented fields + ``event_type`` seen in deliveries)."""

    state: str
    state_version: int = Field(alias="stateVersion", ge=0)
    run: RunRef
    stack: StackRef
    event_type: str | None = None

    @staticmethod
    def looks_like(payload: Any) -> bool:
        return isinstance(payload, dict) and (
            payload.get("event_type") == RUN_STATE_EVENT or {"run", "stack", "state"} <= payload.keys()
        )


class AuditData(_Lenient):
    id: str = Field(alias="ID", min_length=1)


class AuditTrailEvent(_Lenient):
    """An audit-trail delivery: ``action`` is ``<resource>.<verb>``, e.g. ``stack.delete``."""

    action: str = Field(pattern=r"^[a-z_\-]+\.[a-z_\-]+$")
    actor: str
    data: AuditData

    @staticmethod
    def looks_like(payload: Any) -> bool:
        return isinstance(payload, dict) and {"action", "actor", "data"} <= payload.keys()

    @property
    def resource(self) -> str:
        return self.action.split(".", 1)[0]

    @property
    def verb(self) -> str:
        return self.action.split(".", 1)[1]


def describe(error: ValidationError) -> str:
    """``run.id: Field required; stateVersion: …`` — short enough for one log line."""
    parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()[:5]]
    return "; ".join(parts)
