"""GraphQL documents, one ``.graphql`` file per operation, loaded once at import.

Keeping them as files lets a test validate every document against the sandbox's Spacelift schema.
"""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).parent

DOCUMENTS: dict[str, str] = {path.stem: path.read_text() for path in sorted(_HERE.glob("*.graphql"))}


def document(name: str) -> str:
    """The text of ``<name>.graphql``; a KeyError names the missing file."""
    try:
        return DOCUMENTS[name]
    except KeyError:
        raise KeyError(f"no GraphQL document {name}.graphql in {_HERE}") from None
