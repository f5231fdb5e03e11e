"""Which Spacelift access each kind needs, so a refusal can say what to grant (and the README can list it).

From Spacelift's docs (spaces/access-control.md permission table, integrations/api.md): a key sees the
objects of the spaces it has a role in (and the spaces below them); viewing users needs Space Admin;
actions need Writer on the stack's space.
"""

from __future__ import annotations

READER = "Reader (read access) on the spaces to sync, or admin on root for the whole account"

NEEDED_BY_KIND: dict[str, str] = {
    "space": READER,
    "stack": READER,
    "deployment": READER,
    "policy": READER,
    "worker-pool": READER,
    "context": READER,
    "blueprint": READER,
    "template": READER,
    "module": READER,
    "resource": READER,
    "user": "Space Admin (Spacelift shows users only to admins; admin on root shows every user)",
}


def needed_for(kind: str) -> str:
    return NEEDED_BY_KIND.get(kind, READER)
