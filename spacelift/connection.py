"""The one Spacelift connection per integration instance (settings, client, exporters), built from Ocean's
configuration on first use. Resync handlers, webhook processors and probes all get it here."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx
from port_ocean.context.ocean import ocean
from port_ocean.helpers.async_client import OceanAsyncClient
from port_ocean.helpers.retry import RetryTransport
from port_ocean.log.sensetive import sensitive_log_filter

from spacelift.client.graphql_client import SpaceliftClient
from spacelift.exporters import Exporters
from spacelift.settings import SpaceliftSettings, load_settings


@dataclass(frozen=True)
class Connection:
    settings: SpaceliftSettings
    client: SpaceliftClient
    exporters: Exporters


_connection: Connection | None = None
_owner: tuple[int, int] | None = None


def settings_from_ocean() -> SpaceliftSettings:
    settings = load_settings(ocean.integration_config)
    sensitive_log_filter.hide_sensitive_strings(*settings.secrets)
    return settings


class PassThroughTransport(RetryTransport):
    """Ocean's transport slot, minus retrying and logging.

    ``SpaceliftClient`` retries and logs every GraphQL POST itself (Spacelift reports throttling and dead
    sessions inside HTTP-200 bodies, which ``RetryTransport`` cannot see). Left in place, Ocean's
    ``RetryTransport`` would log an ERROR with a traceback for every dropped connection our loop then
    recovers from, so requests go straight to the wrapped transport.
    """

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        transport: httpx.AsyncBaseTransport = self._wrapped_transport  # type: ignore[assignment]
        return await transport.handle_async_request(request)


def build_client(settings: SpaceliftSettings) -> SpaceliftClient:
    # OceanAsyncClient brings Ocean's TLS settings (OCEAN__SSL__THIRD_PARTY__*) and the SaaS IP blocker.
    http = OceanAsyncClient(PassThroughTransport, timeout=ocean.config.client_timeout)
    return SpaceliftClient(
        settings.graphql_url,
        http,
        api_key_id=settings.api_key_id,
        api_key_secret=settings.api_key_secret,
        api_token=settings.api_token,
        max_retries=settings.max_retries,
        max_concurrent_requests=settings.max_concurrent_requests,
        max_requests_per_second=settings.max_requests_per_second,
    )


def get_connection() -> Connection:
    """The process-wide client, built on first use so the JWT is kept between resyncs.

    It is rebuilt when the Ocean app or the event loop changes (tests start several of each); an httpx
    client must not outlive its loop.
    """
    global _connection, _owner
    owner = (id(ocean.app), id(asyncio.get_running_loop()))
    if _connection is None or _owner != owner:
        settings = settings_from_ocean()
        client = build_client(settings)
        _connection = Connection(
            settings, client, Exporters.for_client(client, settings.api_endpoint, settings.query_plan)
        )
        _owner = owner
    return _connection


def get_exporters() -> Exporters:
    return get_connection().exporters
