"""Every enum value Spacelift is known to return (reference §2.3), and what we do with new ones.

Port rejects an entity whose enum property holds a value the blueprint does not list. Spacelift adds
states over time, so enum-typed properties are fed through ``port_enum``: a known value passes, an
unknown one becomes ``OTHER`` (listed in every blueprint enum) and is logged once — the entity still
lands, and the exact value stays in the raw data.
"""

from __future__ import annotations

from loguru import logger

OTHER = "OTHER"

RUN_STATES = (
    "QUEUED", "CANCELED", "INITIALIZING", "PLANNING", "FAILED", "FINISHED", "UNCONFIRMED", "DISCARDED",
    "CONFIRMED", "APPLYING", "PERFORMING", "STOPPED", "DESTROYING", "PREPARING", "PREPARING_APPLY", "SKIPPED",
    "REPLAN_REQUESTED", "PENDING", "READY", "PREPARING_REPLAN", "PENDING_REVIEW",
)  # fmt: skip
TERMINAL_RUN_STATES = frozenset({"CANCELED", "FAILED", "FINISHED", "DISCARDED", "STOPPED", "SKIPPED"})
STACK_STATES = ("NONE", *RUN_STATES)
RUN_TYPES = ("PROPOSED", "TRACKED", "TASK", "TESTING", "DESTROY", "PARSE")
POLICY_TYPES = (
    "ACCESS", "APPROVAL", "GIT_PUSH", "INITIALIZATION", "INTENT", "LOGIN", "PLAN", "TASK", "TRIGGER",
    "NOTIFICATION", "STACK_ACCESS", "TASK_RUN", "TERRAFORM_PLAN",
)  # fmt: skip
BLUEPRINT_STATES = ("DRAFT", "PUBLISHED")
TEMPLATE_VERSION_STATES = ("DRAFT", "PUBLISHED")  # terraform-provider-spacelift resource_template_version.go

ENUMS: dict[str, tuple[str, ...]] = {
    "runState": RUN_STATES,
    "stackState": STACK_STATES,
    "runType": RUN_TYPES,
    "policyType": POLICY_TYPES,
    "blueprintState": BLUEPRINT_STATES,
    "templateVersionState": TEMPLATE_VERSION_STATES,
}

_reported: set[tuple[str, str]] = set()


def port_enum(value: object, enum: str) -> str | None:
    """``value`` if Spacelift's ``enum`` knows it, ``OTHER`` if not, None for no value."""
    if value is None:
        return None
    text = str(value)
    if text in ENUMS[enum]:
        return text
    if (enum, text) not in _reported:
        _reported.add((enum, text))
        logger.warning(
            f"Spacelift returned {enum} {text!r}, which this integration does not know yet; it is stored "
            f"as {OTHER} in Port (the raw value stays in the entity's raw data). Please report it."
        )
    return OTHER
