"""GraphQL documents, one ``.graphql`` file per operation, loaded once at import.

Shared selections live in ``fragments/<Name>.graphql`` (one fragment per file, named like the file);
``document()`` appends exactly the fragments an operation spreads, since GraphQL rejects unused ones.
Keeping documents as files lets a test validate every one against the sandbox's Spacelift schema.
"""

from __future__ import annotations

import re
from pathlib import Path

_HERE = Path(__file__).parent
_SPREAD = re.compile(r"\.\.\.\s*([A-Z]\w*)")

FRAGMENTS: dict[str, str] = {
    path.stem: path.read_text() for path in sorted((_HERE / "fragments").glob("*.graphql"))
}
OPERATIONS: dict[str, str] = {path.stem: path.read_text() for path in sorted(_HERE.glob("*.graphql"))}


def _with_fragments(text: str) -> str:
    needed: list[str] = []
    pending = _SPREAD.findall(text)
    while pending:
        name = pending.pop()
        if name in needed:
            continue
        if name not in FRAGMENTS:
            raise KeyError(f"fragment {name} is spread but there is no fragments/{name}.graphql")
        needed.append(name)
        pending.extend(_SPREAD.findall(FRAGMENTS[name]))
    return "\n".join([text, *(FRAGMENTS[n] for n in sorted(needed))])


DOCUMENTS: dict[str, str] = {name: _with_fragments(text) for name, text in OPERATIONS.items()}


def document(name: str) -> str:
    """The full text of ``<name>.graphql`` with its fragments; a KeyError names the missing file."""
    try:
        return DOCUMENTS[name]
    except KeyError:
        raise KeyError(f"no GraphQL document {name}.graphql in {_HERE}") from None


def stack_runs_batch_document(field: str, stacks: int) -> str:
    """``stack(id) { <field>(before:) }`` for ``stacks`` stacks in one operation, aliased ``s0``, ``s1``, …

    It spreads the ``RunFields`` fragment, like ``search_stack_runs.graphql``: one definition of a run,
    and selects ``viewer`` so a null stack or an empty page can be told from an expired session.
    """
    names = {"runs": "StackRunsBatch", "proposedRuns": "StackProposedRunsBatch", "tasks": "StackTasksBatch"}
    if field not in names or stacks < 1:
        raise ValueError(f"cannot batch {field!r} for {stacks} stacks")
    name = names[field]
    params = ", ".join(f"$s{n}: ID!, $b{n}: ID" for n in range(stacks))
    selections = "\n".join(
        f"  s{n}: stack(id: $s{n}) {{\n    {field}(before: $b{n}) {{\n      ...RunFields\n    }}\n  }}"
        for n in range(stacks)
    )
    return _with_fragments(f"query {name}({params}) {{\n  viewer {{\n    id\n  }}\n{selections}\n}}\n")


def stack_entities_batch_document(stacks: int) -> str:
    """``stack(id) { entities }`` for ``stacks`` stacks in one operation, aliased ``s0``, ``s1``, …"""
    if stacks < 1:
        raise ValueError(f"cannot batch entities for {stacks} stacks")
    params = ", ".join(f"$s{n}: ID!" for n in range(stacks))
    selections = "\n".join(
        f"  s{n}: stack(id: $s{n}) {{\n    id\n    entities {{\n      ...ManagedEntityFields\n    }}\n  }}"
        for n in range(stacks)
    )
    return _with_fragments(
        f"query StackEntitiesBatch({params}) {{\n  viewer {{\n    id\n  }}\n{selections}\n}}\n"
    )
