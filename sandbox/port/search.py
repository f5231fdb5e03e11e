"""The subset of Port's entity search language Ocean uses: ``and``/``or`` combinators over rules on
``$identifier``, ``$blueprint``, ``$datasource``, ``$title`` with ``=``, ``!=``, ``in``, ``contains``."""

from __future__ import annotations

from typing import Any


def _field(entity: dict[str, Any], name: str) -> Any:
    if name.startswith("$"):
        return entity.get(name[1:])
    return (entity.get("properties") or {}).get(name)


def matches(entity: dict[str, Any], query: dict[str, Any]) -> bool:
    if "combinator" in query:
        results = [matches(entity, rule) for rule in query.get("rules", [])]
        return all(results) if query["combinator"] == "and" else any(results)
    value = _field(entity, query["property"])
    operator, wanted = query["operator"], query.get("value")
    if operator == "=":
        return bool(value == wanted)
    if operator == "!=":
        return bool(value != wanted)
    if operator == "in":
        return value in (wanted or [])
    if operator == "contains":
        return isinstance(value, str) and str(wanted) in value
    raise ValueError(f"search operator {operator!r} is not supported by the Port stand-in")
