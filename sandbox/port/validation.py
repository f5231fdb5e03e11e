"""Entity validation against a Port blueprint: types, enums, formats, required properties, relations.

Port rejects an entity whose properties do not match its blueprint's JSON schema; this checks the same
rules so tests and the local Port stand-in catch a bad default mapping before users do.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
IDENTIFIER = re.compile(r"^[A-Za-z0-9@_.+:\\/=-]+$")  # Port's entity identifier pattern


def _format_ok(fmt: str, value: str) -> bool:
    if fmt == "date-time":
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return False
        return parsed.tzinfo is not None
    if fmt == "url":
        parsed_url = urlparse(value)
        return parsed_url.scheme in ("http", "https") and bool(parsed_url.netloc)
    if fmt == "email":
        return bool(EMAIL.match(value))
    return True


def property_errors(name: str, schema: dict[str, Any], value: Any) -> list[str]:
    if value is None:
        return []
    expected = schema.get("type", "string")
    types = JSON_TYPES.get(expected, (object,))
    if isinstance(value, bool) and expected == "number" or not isinstance(value, types):
        return [f"property {name!r}: expected {expected}, got {type(value).__name__} {str(value)[:80]!r}"]
    errors = []
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"property {name!r}: {value!r} is not one of the blueprint's enum values")
    if isinstance(value, str) and "format" in schema and not _format_ok(schema["format"], value):
        errors.append(f"property {name!r}: {value!r} is not a valid {schema['format']}")
    if isinstance(value, list) and "items" in schema:
        item_type = JSON_TYPES.get(schema["items"].get("type", "string"), (object,))
        bad = [v for v in value if not isinstance(v, item_type)]
        if bad:
            errors.append(f"property {name!r}: items {bad[:3]!r} are not {schema['items'].get('type')}")
    return errors


def entity_errors(entity: dict[str, Any], blueprint: dict[str, Any]) -> list[str]:
    """Everything Port would reject about ``entity`` (relations are checked by ``relation_errors``)."""
    errors: list[str] = []
    if not isinstance(entity.get("identifier"), str) or not entity["identifier"]:
        errors.append("identifier must be a non-empty string")
    elif not IDENTIFIER.match(entity["identifier"]):
        errors.append(f"identifier {entity['identifier'][:80]!r} must match {IDENTIFIER.pattern}")
    schema = blueprint.get("schema", {})
    properties = schema.get("properties", {})
    values = entity.get("properties") or {}
    for name in values:
        if name not in properties:
            errors.append(f"property {name!r} is not in blueprint {blueprint['identifier']}")
    for name, prop in properties.items():
        errors += property_errors(name, prop, values.get(name))
    for name in schema.get("required", []):
        if values.get(name) is None:
            errors.append(f"required property {name!r} is missing")
    relations = blueprint.get("relations", {})
    for name, target in (entity.get("relations") or {}).items():
        if name not in relations:
            errors.append(f"relation {name!r} is not in blueprint {blueprint['identifier']}")
            continue
        many = relations[name].get("many", False)
        if target is not None and many != isinstance(target, list):
            errors.append(
                f"relation {name!r}: expected {'a list' if many else 'one identifier'}, got {target!r}"
            )
    for name, relation in relations.items():
        if relation.get("required") and not (entity.get("relations") or {}).get(name):
            errors.append(f"required relation {name!r} is missing")
    return errors


def relation_errors(
    entity: dict[str, Any], blueprint: dict[str, Any], existing: dict[str, set[str]]
) -> list[str]:
    """Relation targets that do not exist; ``existing`` maps blueprint → identifiers."""
    errors = []
    for name, target in (entity.get("relations") or {}).items():
        relation = blueprint.get("relations", {}).get(name)
        if relation is None or target is None:
            continue
        for identifier in target if isinstance(target, list) else [target]:
            if identifier not in existing.get(relation["target"], set()):
                errors.append(f"relation {name!r} → {relation['target']} {identifier!r} does not exist")
    return errors
