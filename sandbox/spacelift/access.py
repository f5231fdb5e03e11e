"""What one API key may see and change: Spacelift's space-scoped access, as its docs and clients show it.

Evidence (see /work/notes or the schema comments): a key is given spaces with a reader or writer level,
and admin on ``root`` makes it administrative ([D] integrations/api.md). Lists are filtered to what the
key may see, not refused: ``spaces`` is "all the spaces in the Account accessible for the user" ([B]
List Spaces.bru, schema text) and shows the path from those spaces up to ``root`` ([D]
spaces/creating-a-space.md); search connections give empty edges rather than errors (spacectl #242);
``stack(id)`` of a stack the key cannot read is null ([T] resource_stack.go "does not exist (or you may
not have access to it)"); a refused mutation says ``unauthorized`` (spacectl #65). Roles given on a
space apply to the spaces below it.

Unconfirmed, modelled as the strictest plausible behaviour: ``managedUsers`` for a key that is not an
admin answers ``unauthorized`` (the docs only say viewing users needs Space Admin); a stack whose worker
pool lives in a space the key cannot read answers ``workerPool`` with an ``unauthorized`` error at that
field and null there, the rest of the page intact (graph-gophers' partial results for a nullable field).
"""

from __future__ import annotations

from collections.abc import Iterable

from sandbox.spacelift.account import Account, Obj

LEVELS = ("READ", "WRITE")


class Access:
    def __init__(self, account: Account, grants: dict[str, str]) -> None:
        unknown = {level for level in grants.values() if level not in LEVELS}
        if unknown:
            raise ValueError(f"unknown access levels {sorted(unknown)}; use READ or WRITE")
        self.readable = self._with_descendants(account, grants)
        self.writable = self._with_descendants(
            account, {s: lvl for s, lvl in grants.items() if lvl == "WRITE"}
        )
        self.visible_spaces = set(self.readable)
        for space_id in self.readable:
            parent = account.spaces.get(space_id, {}).get("parentSpace")
            while parent and parent not in self.visible_spaces:
                self.visible_spaces.add(parent)
                parent = account.spaces.get(parent, {}).get("parentSpace")

    @staticmethod
    def _with_descendants(account: Account, grants: Iterable[str]) -> set[str]:
        spaces = set(grants)
        grew = True
        while grew:
            children = {s["id"] for s in account.spaces.values() if s["parentSpace"] in spaces} - spaces
            spaces |= children
            grew = bool(children)
        return spaces

    def can_read(self, space_id: str | None) -> bool:
        return space_id in self.readable

    def can_write(self, space_id: str | None) -> bool:
        return space_id in self.writable


def space_of(obj: Obj) -> str | None:
    """Where an object lives: most types carry the space id, blueprints and templates the space itself."""
    space = obj.get("space")
    return space.get("id") if isinstance(space, dict) else space
