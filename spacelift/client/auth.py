"""Where the bearer token comes from: an API key exchanged for a JWT, or a ready token.

Spacelift's JWTs are short-lived (1–10 h depending on the source), so an API-key session re-exchanges
ahead of ``validUntil``. The lock makes the refresh single-flight: fifty requests that find the token
stale cause exactly one ``apiKeyUser`` call. Ocean's ``TTLCache`` is 0.56-only, hence this small class.

A key Spacelift refuses is remembered for ``REJECTION_MEMORY_SECONDS``: the other kinds of the same
resync fail at once with the same one-line reason instead of asking Spacelift (and logging) nine times.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from spacelift.client.errors import SpaceliftAuthError

# (jwt, valid_until unix seconds)
Exchange = Callable[[str, str], Awaitable[tuple[str, int]]]

REFRESH_MARGIN_SECONDS = 60.0
REJECTION_MEMORY_SECONDS = 60.0


class TokenSource(Protocol):
    can_refresh: bool

    async def get_token(self) -> str: ...

    async def invalidate(self, token: str) -> None: ...


class StaticTokenSource:
    """A ready token (``SPACELIFT_API_TOKEN``), used as is; it cannot be renewed."""

    can_refresh = False

    def __init__(self, token: str) -> None:
        self._token = token

    async def get_token(self) -> str:
        return self._token

    async def invalidate(self, token: str) -> None:
        return None


class ApiKeyTokenSource:
    """Exchanges ``(key id, secret)`` for a JWT and renews it ``margin`` seconds before it expires."""

    can_refresh = True

    def __init__(
        self,
        key_id: str,
        key_secret: str,
        exchange: Exchange,
        margin: float = REFRESH_MARGIN_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.key_id = key_id
        self._secret = key_secret
        self._exchange = exchange
        self._margin = margin
        self._clock = clock
        self._token: str | None = None
        self._valid_until = 0.0
        self._lock = asyncio.Lock()
        self.exchanges = 0
        self._rejection: tuple[str, float] | None = None  # (message, until)

    def _fresh(self) -> bool:
        return self._token is not None and self._clock() < self._valid_until - self._margin

    async def get_token(self) -> str:
        if self._fresh():
            assert self._token is not None
            return self._token
        async with self._lock:
            if not self._fresh():  # another caller may have refreshed while we waited
                if self._rejection and self._clock() < self._rejection[1]:
                    raise SpaceliftAuthError(self._rejection[0])
                try:
                    token, valid_until = await self._exchange(self.key_id, self._secret)
                except SpaceliftAuthError as error:
                    self._rejection = (str(error), self._clock() + REJECTION_MEMORY_SECONDS)
                    raise
                self.exchanges += 1
                self._token, self._valid_until = token, float(valid_until)
                self._rejection = None
            assert self._token is not None
            return self._token

    async def invalidate(self, token: str) -> None:
        """Forget ``token`` if it is still the current one (so concurrent rejections refresh once)."""
        async with self._lock:
            if self._token == token:
                self._token = None
                self._valid_until = 0.0
