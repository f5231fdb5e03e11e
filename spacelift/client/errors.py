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


def api_key_not_accepted(key_id: str | None) -> str:
    """What to tell a person whose key id or secret Spacelift does not accept (``apiKeyUser`` is null)."""
    return (
        f"Spacelift did not accept API key {key_id} with the configured secret (apiKeyUser returned null): the "
        "key ID is unknown or the secret does not belong to it; check spaceliftApiKeyId/spaceliftApiKeySecret "
        "(Spacelift → Organization settings → API keys)"
    )


class SpaceliftError(Exception):
    """Base class; ``status`` is the HTTP status when there was a response."""

    retryable = False

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    def after_attempts(self, attempts: int, seconds: float) -> SpaceliftError:
        """The same error, saying that retrying did not help (for the final, logged failure)."""
        self.args = (f"{self.args[0]} (gave up after {attempts} attempts in {seconds:.1f}s)",)
        return self


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


class SpaceliftForbiddenError(SpaceliftPermanentError):
    """``unauthorized`` while the session is alive (``viewer`` answers): the key may not read this.

    Spacelift words an expired session and a missing permission the same way; spacectl tells them apart
    by asking ``viewer``, and so do we (see ``SpaceliftClient``).
    """


class SpaceliftQueryTooLargeError(SpaceliftPermanentError):
    """Spacelift refused the query itself (length, depth or selection-set size), not its data.

    The only permanent error worth answering with smaller queries; the wording comes from Spacelift's
    GraphQL server (spacelift-io/graphql-go: ``exceeds the maximum allowed``, ``exceeds max depth``,
    ``syntax error: invalid query`` for repeated fields).
    """

    MARKERS = ("exceeds the maximum allowed", "exceeds max depth", "syntax error: invalid query")

    @classmethod
    def describes(cls, message: str) -> bool:
        lowered = message.lower()
        return any(marker in lowered for marker in cls.MARKERS)
