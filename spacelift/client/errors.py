"""One error hierarchy for everything that can go wrong talking to Spacelift.

The retry loop decides by class: ``SpaceliftTemporaryError`` and ``SpaceliftRateLimitedError`` are
retried, everything else is not. Messages carry the HTTP status and at most ``MAX_BODY_CHARS`` of the
response body, and never a secret (callers pass their secrets to ``redact``).
"""

from __future__ import annotations

from collections.abc import Iterable

MAX_BODY_CHARS = 500


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[REDACTED]")
    return text


def describe_body(body: str, secrets: Iterable[str] = ()) -> str:
    body = redact(body, secrets)
    if len(body) > MAX_BODY_CHARS:
        return body[:MAX_BODY_CHARS] + f"… ({len(body) - MAX_BODY_CHARS} more characters)"
    return body


class SpaceliftError(Exception):
    """Base class; ``status`` is the HTTP status when there was a response."""

    retryable = False

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class SpaceliftNotConfiguredError(SpaceliftError):
    """Settings are missing or malformed; ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("Spacelift integration is not configured: " + "; ".join(problems))


class SpaceliftAuthError(SpaceliftError):
    """Credentials were rejected, or re-authenticating did not help."""


class SpaceliftRateLimitedError(SpaceliftError):
    """HTTP 429 or a ``rate limit exceeded`` GraphQL error; ``retry_after`` in seconds if the server said."""

    retryable = True

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, status)
        self.retry_after = retry_after


class SpaceliftTemporaryError(SpaceliftError):
    """5xx, timeouts, dropped connections, unreadable bodies: worth another try."""

    retryable = True


class SpaceliftPermanentError(SpaceliftError):
    """Other 4xx and GraphQL validation/execution errors: retrying would give the same answer."""
