"""The Spacelift GraphQL client: auth, classification of failures, retries, bounded concurrency.

Transport is whatever ``httpx.AsyncClient`` it is given: in production Ocean's ``OceanAsyncClient``
(Ocean's TLS settings and SaaS IP blocker apply), in tests a plain client under respx. Ocean's
``RetryTransport`` never retries POST, so the retry loop below is the only one — no double retries.
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
    SpaceliftPermanentError,
    SpaceliftRateLimitedError,
    SpaceliftTemporaryError,
    describe_body,
)
from spacelift.client.retry_policy import BackoffPolicy, parse_retry_after
from spacelift.graphql import document

_OPERATION = re.compile(r"^\s*(query|mutation)\s+(\w+)", re.MULTILINE)


class _TokenRejected(Exception):
    """Internal: the token did not work (HTTP 401, ``unauthorized`` error, or null ``viewer``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def operation_of(doc: str) -> tuple[str, str]:
    """``("query"|"mutation", name)``; anonymous documents are called ``anonymous``."""
    match = _OPERATION.search(doc)
    return (match.group(1), match.group(2)) if match else ("query", "anonymous")


class SpaceliftClient:
    """Runs GraphQL documents against one Spacelift account."""

    def __init__(
        self,
        graphql_url: str,
        http: httpx.AsyncClient,
        *,
        api_key_id: str | None = None,
        api_key_secret: str | None = None,
        api_token: str | None = None,
        max_retries: int = 2,
        max_concurrent_requests: int = 10,
        backoff: BackoffPolicy | None = None,
    ) -> None:
        self.graphql_url = graphql_url
        self.host = urlparse(graphql_url).netloc
        self._http = http
        self._max_retries = max_retries
        self._backoff = backoff or BackoffPolicy()
        self._limiter = asyncio.Semaphore(max_concurrent_requests)
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
        self.throttled_until = 0.0  # monotonic time before which Spacelift asked us to slow down

    @property
    def auth_generation(self) -> int:
        """How many times a token has been issued; lets callers notice a mid-stream re-login."""
        return getattr(self.tokens, "exchanges", 0)

    def seconds_until_unthrottled(self) -> float:
        """How long Spacelift's last throttling answer asks us to wait (0 when not throttled)."""
        return max(0.0, self.throttled_until - time.monotonic())

    async def aclose(self) -> None:
        await self._http.aclose()

    async def execute(self, doc: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run ``doc`` and return its ``data``; raise a ``SpaceliftError`` subclass on failure."""
        kind, name = operation_of(doc)
        reauthenticated = False
        while True:
            token = await self.tokens.get_token()
            try:
                return await self._with_retries(doc, variables, kind, name, token)
            except _TokenRejected as rejected:
                if reauthenticated or not self.tokens.can_refresh:
                    raise SpaceliftAuthError(
                        f"Spacelift rejected {self._credential} for {name} ({rejected.reason}): "
                        + self._auth_hint()
                    ) from None
                logger.info(f"Spacelift token rejected ({rejected.reason}) on {name}; re-authenticating once")
                reauthenticated = True
                await self.tokens.invalidate(token)

    def _auth_hint(self) -> str:
        if isinstance(self.tokens, StaticTokenSource):
            return "the token may have expired; create a new one or configure an API key instead"
        return "check spaceliftApiKeyId/spaceliftApiKeySecret and that the key may read this resource"

    async def _with_retries(
        self,
        doc: str,
        variables: dict[str, Any] | None,
        kind: str,
        name: str,
        token: str | None,
    ) -> dict[str, Any]:
        attempt = 0
        while True:
            try:
                return await self._send(doc, variables, kind, name, token)
            except SpaceliftError as error:
                if not error.retryable or attempt >= self._max_retries:
                    raise
                attempt += 1
                retry_after = getattr(error, "retry_after", None)
                delay = self._backoff.delay(attempt, retry_after)
                if isinstance(error, SpaceliftRateLimitedError):
                    self.throttled_until = max(self.throttled_until, time.monotonic() + delay)
                logger.warning(
                    f"Spacelift {name} failed ({error}); retry {attempt}/{self._max_retries} in {delay:.2f}s"
                )
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
            raise _TokenRejected("HTTP 401")
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
        if any("rate limit" in m for m in lowered):
            raise SpaceliftRateLimitedError(
                f"{where}: {'; '.join(messages)[:500]}",
                status,
                parse_retry_after(response.headers.get("Retry-After")),
            )
        if any("unauthorized" in m for m in lowered):
            raise _TokenRejected("unauthorized")
        if status >= 400:
            raise SpaceliftPermanentError(f"{where}: {describe_body(text, self._secrets)}", status)
        data = payload.get("data")
        if errors and (kind == "mutation" or not _only_not_found(lowered)):
            raise SpaceliftPermanentError(
                f"Spacelift {name} failed: {describe_body('; '.join(messages), self._secrets)}", status
            )
        if not isinstance(data, dict):
            raise SpaceliftTemporaryError(
                f"{where} without data: {describe_body(text, self._secrets)}", status
            )
        if "viewer" in data and data["viewer"] is None:
            raise _TokenRejected("viewer is null, the token has expired")
        return data

    async def _exchange_api_key(self, key_id: str, key_secret: str) -> tuple[str, int]:
        doc = document("api_key_user")
        try:
            data = await self._with_retries(
                doc, {"id": key_id, "secret": key_secret}, "mutation", "SpaceliftApiKeyUser", None
            )
        except _TokenRejected as rejected:
            raise SpaceliftAuthError(
                f"Spacelift rejected API key {key_id} ({rejected.reason}): check spaceliftApiKeyId/Secret"
            ) from None
        user = data.get("apiKeyUser")
        if not user or not user.get("jwt"):
            raise SpaceliftAuthError(
                f"Spacelift knows no API key {key_id} (apiKeyUser is null): check spaceliftApiKeyId/Secret"
            )
        valid_until = user.get("validUntil")
        if not isinstance(valid_until, int):
            valid_until = int(time.time()) + 3600  # sources disagree on lifetime; assume the shortest seen
        jwt = str(user["jwt"])
        self._secrets.append(jwt)
        _hide_in_logs(jwt)
        logger.info(f"Authenticated to Spacelift at {self.host} with API key {key_id}")
        return jwt, valid_until


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
