"""The Spacelift GraphQL client: auth, classification of failures, retries, bounded concurrency.

Transport is whatever ``httpx.AsyncClient`` it is given: in production Ocean's ``OceanAsyncClient``
(Ocean's TLS settings and SaaS IP blocker apply) with a transport that neither retries nor logs
(``spacelift.connection``), in tests a plain client under respx. The retry loop below is the only one.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlparse

import httpx
from loguru import logger

from spacelift.client.auth import ApiKeyTokenSource, StaticTokenSource, TokenSource
from spacelift.client.errors import (
    SpaceliftAuthError,
    SpaceliftError,
    SpaceliftForbiddenError,
    SpaceliftPermanentError,
    SpaceliftQueryTooLargeError,
    SpaceliftRateLimitedError,
    SpaceliftTemporaryError,
    api_key_not_accepted,
    describe_body,
)
from spacelift.client.retry_policy import DEFAULT_MAX_RETRIES, BackoffPolicy, parse_retry_after
from spacelift.client.throttle import ThrottleGate
from spacelift.graphql import document

_OPERATION = re.compile(r"^\s*(query|mutation)\s+(\w+)", re.MULTILINE)
WITHHELD_NOTE_SECONDS = 3600.0


class _SessionRejected(Exception):
    """Internal: the session is dead (HTTP 401, or ``viewer`` answered null)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Unauthorized(Exception):
    """Internal: an ``unauthorized`` error with no ``viewer`` in the answer to say which kind it is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def operation_of(doc: str) -> tuple[str, str]:
    """``("query"|"mutation", name)``; anonymous documents are called ``anonymous``."""
    match = _OPERATION.search(doc)
    return (match.group(1), match.group(2)) if match else ("query", "anonymous")


class SpaceliftClient:
    """Runs GraphQL documents against one Spacelift account.

    Sessions: a dead session (HTTP 401, or a ``viewer`` that answers null — Spacelift's expired-token
    answer is HTTP 200 with null ``viewer`` and empty lists) is renewed once and the request re-sent.
    ``unauthorized`` is ambiguous in Spacelift (expired session, or no access to what was asked), so, like
    spacectl, we ask ``viewer``: alive means "no access" (``SpaceliftForbiddenError``), dead means log in
    again. Listing documents select ``viewer { id }`` themselves, so every page proves its own session.
    """

    def __init__(
        self,
        graphql_url: str,
        http: httpx.AsyncClient,
        *,
        api_key_id: str | None = None,
        api_key_secret: str | None = None,
        api_token: str | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_concurrent_requests: int = 10,
        max_requests_per_second: float | None = None,
        backoff: BackoffPolicy | None = None,
    ) -> None:
        self.graphql_url = graphql_url
        self.host = urlparse(graphql_url).netloc
        self._http = http
        self._max_retries = max_retries
        self._backoff = backoff or BackoffPolicy()
        self._limiter = asyncio.Semaphore(max_concurrent_requests)
        self.gate = ThrottleGate(max_requests_per_second)
        self._withheld_said: dict[str, float] = {}
        self._secrets = [s for s in (api_key_secret, api_token) if s]
        self.tokens: TokenSource
        if api_token:
            self.tokens = StaticTokenSource(api_token)
            self._credential = "SPACELIFT_API_TOKEN"
        elif api_key_id and api_key_secret:
            self.tokens = ApiKeyTokenSource(api_key_id, api_key_secret, self._exchange_api_key)
            self._credential = f"API key {api_key_id}"
        else:
            raise ValueError("SpaceliftClient needs an API key id and secret, or a token")

    def seconds_until_unthrottled(self) -> float:
        """How long Spacelift's last throttling answer asks us to wait (0 when not throttled)."""
        return self.gate.seconds_closed()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def execute(self, doc: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run ``doc`` and return its ``data``; raise a ``SpaceliftError`` subclass on failure."""
        kind, name = operation_of(doc)
        renewed = False
        while True:
            token = await self.tokens.get_token()
            try:
                return await self._with_retries(doc, variables, kind, name, token)
            except _Unauthorized as refused:
                if await self._session_alive(token):
                    raise SpaceliftForbiddenError(self._forbidden(kind, name, refused.message)) from None
                reason = f"{refused.message}, and viewer says the session has ended"
            except _SessionRejected as rejected:
                reason = rejected.reason
            if renewed or not self.tokens.can_refresh:
                raise SpaceliftAuthError(
                    f"Spacelift rejected {self._credential} for {name} ({reason}): " + self._auth_hint()
                ) from None
            logger.warning(
                f"Spacelift session ended ({reason}) during {name}; logging in again and re-reading"
            )
            renewed = True
            await self.tokens.invalidate(token)

    async def _session_alive(self, token: str) -> bool:
        """spacectl's check: does ``viewer`` answer with this token?"""
        try:
            await self._with_retries(document("viewer"), None, "query", "SpaceliftViewer", token)
        except (_SessionRejected, _Unauthorized):
            return False
        return True

    def _forbidden(self, kind: str, name: str, message: str) -> str:
        access = "write" if kind == "mutation" else "read"
        return (
            f"Spacelift refused {name} to {self._credential} ({message}) although the session is valid: "
            f"the key lacks the permission for it; give it {access} access to the spaces concerned "
            "(or admin, for account-wide data)"
        )

    def _auth_hint(self) -> str:
        if isinstance(self.tokens, StaticTokenSource):
            return "the token may have expired; create a new one or configure an API key instead"
        return "check spaceliftApiKeyId/spaceliftApiKeySecret"

    async def _with_retries(
        self,
        doc: str,
        variables: dict[str, Any] | None,
        kind: str,
        name: str,
        token: str | None,
    ) -> dict[str, Any]:
        started = time.monotonic()
        attempt = 0
        while True:
            await self.gate.wait()
            try:
                return await self._send(doc, variables, kind, name, token)
            except SpaceliftError as error:
                if not error.retryable:
                    raise
                attempt += 1
                elapsed = time.monotonic() - started
                delay = self._backoff.delay(attempt, getattr(error, "retry_after", None))
                if attempt > self._max_retries or elapsed + delay > self._backoff.request_budget_seconds:
                    raise error.after_attempts(attempt, elapsed) from None
                logger.warning(
                    f"Spacelift {name}: {error}; retry {attempt}/{self._max_retries} in {delay:.1f}s"
                )
                if isinstance(error, SpaceliftRateLimitedError):
                    self.gate.close_for(delay)  # every request of this client waits, not only this one
                else:
                    await asyncio.sleep(delay)

    async def _send(
        self,
        doc: str,
        variables: dict[str, Any] | None,
        kind: str,
        name: str,
        token: str | None,
    ) -> dict[str, Any]:
        headers = {
            "Content-Type": "application/json",
            f"Spacelift-GraphQL-{kind.capitalize()}": name,
        }
        if token:
            headers["Authorization"] = f"Bearer {token}"
        body = {"query": doc, "variables": variables or {}, "operationName": name}
        started = time.monotonic()
        async with self._limiter:
            try:
                response = await self._http.post(self.graphql_url, json=body, headers=headers)
            except httpx.TimeoutException as exc:
                raise SpaceliftTemporaryError(
                    f"Spacelift {name} timed out after {time.monotonic() - started:.1f}s ({type(exc).__name__})"
                ) from None
            except httpx.TransportError as exc:
                raise SpaceliftTemporaryError(
                    f"Spacelift {name} connection failed: {type(exc).__name__}: {exc}"
                ) from None
        elapsed_ms = (time.monotonic() - started) * 1000
        logger.debug(
            f"Spacelift {name} host={self.host} status={response.status_code} duration_ms={elapsed_ms:.0f}"
        )
        return self._interpret(response, kind, name)

    def _interpret(self, response: httpx.Response, kind: str, name: str) -> dict[str, Any]:
        status = response.status_code
        text = response.text
        where = f"Spacelift {name} returned HTTP {status}"
        if status == 401:
            raise _SessionRejected("HTTP 401")
        if status == 429:
            raise SpaceliftRateLimitedError(
                f"{where}: {describe_body(text, self._secrets)}",
                status,
                parse_retry_after(response.headers.get("Retry-After")),
            )
        if status >= 500 and status != 501:
            raise SpaceliftTemporaryError(f"{where}: {describe_body(text, self._secrets)}", status)
        payload: Any
        try:
            payload = json.loads(text)
        except ValueError:
            if status >= 400:
                raise SpaceliftPermanentError(
                    f"{where}: {describe_body(text, self._secrets)}", status
                ) from None
            raise SpaceliftTemporaryError(
                f"{where} with a body that is not JSON: {describe_body(text, self._secrets)}", status
            ) from None
        if not isinstance(payload, dict):
            raise SpaceliftTemporaryError(
                f"{where} with unexpected JSON (not an object): {describe_body(text, self._secrets)}", status
            )
        errors = payload.get("errors") or []
        messages = [str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors]
        lowered = [m.lower() for m in messages]
        data = payload.get("data")
        if any("rate limit" in m for m in lowered):
            raise SpaceliftRateLimitedError(
                f"{where}: {'; '.join(messages)[:500]}",
                status,
                parse_retry_after(response.headers.get("Retry-After")),
            )
        unauthorized = [m for m, low in zip(messages, lowered, strict=True) if "unauthorized" in low]
        if unauthorized:
            if not (isinstance(data, dict) and data.get("viewer")):
                raise _Unauthorized(unauthorized[0])
            # this very answer proves the session alive: "no access", to all of it or to some items
            withheld = _withheld_paths(kind, data, errors)
            if withheld is None:
                raise SpaceliftForbiddenError(self._forbidden(kind, name, unauthorized[0]), status)
            self._note_withheld(name, withheld)
            _mark_withheld(data, errors)
            messages = [m for m in messages if "unauthorized" not in m.lower()]
            lowered = [m.lower() for m in messages]
            errors = messages
        if any(SpaceliftQueryTooLargeError.describes(m) for m in messages):
            raise SpaceliftQueryTooLargeError(
                f"Spacelift refused {name} as too large: {describe_body('; '.join(messages), self._secrets)}",
                status,
            )
        if status >= 400:
            raise SpaceliftPermanentError(f"{where}: {describe_body(text, self._secrets)}", status)
        if errors and (kind == "mutation" or not _only_not_found(lowered)):
            raise SpaceliftPermanentError(
                f"Spacelift {name} failed: {describe_body('; '.join(messages), self._secrets)}", status
            )
        if not isinstance(data, dict):
            raise SpaceliftTemporaryError(
                f"{where} without data: {describe_body(text, self._secrets)}", status
            )
        if "viewer" in data and data["viewer"] is None:
            raise _SessionRejected("viewer is null: the session has expired")
        return data

    def _note_withheld(self, name: str, paths: list[str]) -> None:
        """Items the key may not read are left out of an answer that is otherwise used; said once an hour."""
        now = time.monotonic()
        if now - self._withheld_said.get(name, -WITHHELD_NOTE_SECONDS) < WITHHELD_NOTE_SECONDS:
            logger.debug(f"Spacelift withheld {len(paths)} item(s) of {name}: {', '.join(paths[:5])}")
            return
        self._withheld_said[name] = now
        logger.warning(
            f"Spacelift withheld {len(paths)} item(s) of {name} from {self._credential} (unauthorized: "
            f"{', '.join(paths[:3])}): the key may not read them, the rest of the answer is used; give the "
            "key read access to the spaces they live in to sync them"
        )

    async def _exchange_api_key(self, key_id: str, key_secret: str) -> tuple[str, int]:
        doc = document("api_key_user")
        try:
            data = await self._with_retries(
                doc, {"id": key_id, "secret": key_secret}, "mutation", "SpaceliftApiKeyUser", None
            )
        except (_SessionRejected, _Unauthorized) as rejected:
            raise SpaceliftAuthError(
                f"Spacelift rejected API key {key_id} ({rejected}): check spaceliftApiKeyId/spaceliftApiKeySecret"
            ) from None
        user = data.get("apiKeyUser")
        if not user or not user.get("jwt"):
            raise SpaceliftAuthError(api_key_not_accepted(key_id))
        valid_until = user.get("validUntil")
        if not isinstance(valid_until, int):
            valid_until = int(time.time()) + 3600  # sources disagree on lifetime; assume the shortest seen
        jwt = str(user["jwt"])
        self._secrets.append(jwt)
        _hide_in_logs(jwt)
        logger.info(f"Authenticated to Spacelift at {self.host} with API key {key_id}")
        return jwt, valid_until


def _withheld_paths(kind: str, data: dict[str, Any], errors: list[Any]) -> list[str] | None:
    """Where ``unauthorized`` errors point, when they refuse only some items of an answer that carries the
    rest (a nested field, or some aliases of a batch); None when the whole answer was refused."""
    if kind == "mutation":
        return None
    paths: list[str] = []
    refused_roots: set[str] = set()
    for error in errors:
        if not isinstance(error, dict) or "unauthorized" not in str(error.get("message", "")).lower():
            continue
        path = error.get("path")
        if not isinstance(path, list) or not path:
            return None
        if len(path) == 1:
            refused_roots.add(str(path[0]))
        paths.append(".".join(str(p) for p in path))
    answered = {k for k, v in data.items() if k != "viewer" and v is not None and k not in refused_roots}
    return paths if answered else None


WITHHELD = "__withheld"


def _mark_withheld(data: dict[str, Any], errors: list[Any]) -> None:
    """Note on each object the fields Spacelift withheld from it (``__withheld: ["workerPool"]``), so a
    null that means "not allowed to see" is not read as a null that means "none"."""
    for error in errors:
        path = error.get("path") if isinstance(error, dict) else None
        if not isinstance(path, list) or len(path) < 2:
            continue
        parent: Any = data
        for step in path[:-1]:
            parent = parent[step] if isinstance(parent, dict | list) and _has(parent, step) else None
        if isinstance(parent, dict):
            parent.setdefault(WITHHELD, []).append(str(path[-1]))


def _has(container: dict[str, Any] | list[Any], step: Any) -> bool:
    if isinstance(container, dict):
        return step in container
    return isinstance(step, int) and 0 <= step < len(container)


def _only_not_found(messages: Iterable[str]) -> bool:
    """Spacelift reports some absent entities as ``… not found`` errors beside partial data; for a
    query that is an answer (the field is null), for a mutation it is a failure."""
    return all("not found" in m for m in messages)


def _hide_in_logs(*secrets: str) -> None:
    """Register runtime secrets (a fresh JWT) with Ocean's log mask, when Ocean is present."""
    try:
        from port_ocean.log.sensetive import sensitive_log_filter
    except ImportError:  # pragma: no cover - Ocean is a hard dependency, kept defensive for scripts
        return
    sensitive_log_filter.hide_sensitive_strings(*secrets)
