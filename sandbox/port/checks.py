"""Request-body checks for the Port stand-in: refuse what Port would refuse, in Port's error shape
(``{"ok": false, "error": "<code>", "message": "…"}``; 422 ``invalid_request`` for a body that does not
match the endpoint's schema, as Port's own schema validation does)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, NoReturn

from starlette.requests import Request
from starlette.responses import JSONResponse


class Refused(Exception):
    """Port's answer to a request it will not serve."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message

    def response(self) -> JSONResponse:
        return JSONResponse(
            {"ok": False, "error": self.error, "message": self.message}, status_code=self.status
        )


def refuse(message: str, status: int = 422, error: str = "invalid_request") -> NoReturn:
    raise Refused(status, error, message)


def not_found(what: str) -> NoReturn:
    raise Refused(404, "not_found", f"{what} was not found")


async def json_object(request: Request, max_bytes: int | None = None) -> dict[str, Any]:
    """The request's JSON body, which must be an object (and, with ``max_bytes``, no larger)."""
    raw = await request.body()
    if max_bytes is not None and len(raw) > max_bytes:
        refuse(f"request body is {len(raw)} bytes, more than {max_bytes}", 413, "payload_too_large")
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        refuse("request body is not valid JSON")
    if not isinstance(body, dict):
        refuse(f"request body must be a JSON object, got {type(body).__name__}")
    return body


def only_keys(body: dict[str, Any], allowed: set[str], what: str = "body") -> None:
    extra = sorted(set(body) - allowed)
    if extra:
        refuse(f"{what} must NOT have additional properties: {', '.join(map(repr, extra))}")


def require(body: dict[str, Any], key: str, types: type | tuple[type, ...], what: str = "body") -> Any:
    if key not in body:
        refuse(f"{what} must have required property {key!r}")
    return check_type(body[key], types, f"{what}.{key}")


def optional(body: dict[str, Any], key: str, types: type | tuple[type, ...], what: str = "body") -> Any:
    if body.get(key) is None:
        return None
    return check_type(body[key], types, f"{what}.{key}")


def check_type(value: Any, types: type | tuple[type, ...], what: str) -> Any:
    wanted = types if isinstance(types, tuple) else (types,)
    # bool is an int in Python, never in JSON schema
    if isinstance(value, bool) and bool not in wanted or not isinstance(value, wanted):
        names = " or ".join(t.__name__ for t in wanted)
        refuse(f"{what} must be {names}, got {type(value).__name__} {str(value)[:60]!r}")
    if isinstance(value, str) and not value and str in wanted:
        refuse(f"{what} must not be empty")
    return value


def string_list(value: Any, what: str) -> list[str]:
    check_type(value, list, what)
    for index, item in enumerate(value):
        check_type(item, str, f"{what}[{index}]")
    return list(value)


def one_of(value: Any, allowed: set[str], what: str) -> str:
    if value not in allowed:
        refuse(f"{what} must be one of {sorted(allowed)}, got {value!r}")
    return str(value)


def iso_time(value: Any, what: str) -> datetime:
    check_type(value, str, what)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        refuse(f"{what} must be an ISO 8601 date-time, got {value!r}")
    if parsed.tzinfo is None:
        refuse(f"{what} must carry a time zone, got {value!r}")
    return parsed
