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


class AuditTrailEvent(_Lenient):
    """An audit-trail delivery: ``action`` is ``<resource>.<…>.<verb>``, e.g. ``stack.create``.

    Bodies differ by action (docs ``integrations/audit-trail.md``): ``stack.create`` carries ``data.ID``,
    ``audit_trail_webhook.set`` only ``data.args``, ``audit_trail_webhook.delete`` an empty ``data``; the
    docs give no catalogue of actions. So only the envelope is checked here; ``resource_id`` is asked for
    by the processor of a resource it handles.
    """

    action: str = Field(min_length=1)
    actor: str | None = None
    data: dict[str, Any] | None = None

    @staticmethod
    def looks_like(payload: Any) -> bool:
        return isinstance(payload, dict) and "action" in payload and ("actor" in payload or "data" in payload)

    @property
    def resource(self) -> str:
        return self.action.split(".", 1)[0].lower()

    @property
    def verb(self) -> str:
        return self.action.rsplit(".", 1)[-1].lower()

    @property
    def resource_id(self) -> str | None:
        """``data.ID`` (documented spelling) or ``data.id``; None when the delivery carries none."""
        value = (self.data or {}).get("ID", (self.data or {}).get("id"))
        return str(value) if isinstance(value, str | int) and str(value) else None


def describe(error: ValidationError) -> str:
    """``run.id: Field required; stateVersion: …`` — short enough for one log line."""
    parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()[:5]]
    return "; ".join(parts)
