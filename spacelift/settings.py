"""The one place that turns configuration into typed settings.

Ocean hands us ``ocean.integration_config`` (from ``OCEAN__INTEGRATION__CONFIG__*``); users who already
export spacectl's variables (``SPACELIFT_API_KEY_ENDPOINT`` …) or the short names should not have to
rename them, so those are read as fallbacks. Every problem is collected and reported at once, one line
each, naming the setting and how to fix it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from dotenv import dotenv_values

from spacelift.client.errors import SpaceliftNotConfiguredError
from spacelift.client.retry_policy import DEFAULT_MAX_RETRIES
from spacelift.query_plan import DEFAULT_STACKS_PER_RUN_QUERY, QueryPlan

OCEAN_PREFIX = "OCEAN__INTEGRATION__CONFIG__"

# setting (snake_case, as Ocean exposes it) -> fallback environment variables, in order
ENV_FALLBACKS: dict[str, tuple[str, ...]] = {
    "spacelift_api_endpoint": ("SPACELIFT_API_KEY_ENDPOINT", "SPACELIFT_API_ENDPOINT"),
    "spacelift_api_key_id": ("SPACELIFT_API_KEY_ID",),
    "spacelift_api_key_secret": ("SPACELIFT_API_KEY_SECRET",),
    "spacelift_api_token": ("SPACELIFT_API_TOKEN",),
    "spacelift_account_name": ("SPACELIFT_ACCOUNT_NAME",),
    "spacelift_max_retries": ("SPACELIFT_MAX_RETRIES",),
    "spacelift_webhook_secret": ("SPACELIFT_WEBHOOK_SECRET",),
    "spacelift_max_concurrent_requests": ("SPACELIFT_MAX_CONCURRENT_REQUESTS",),
    "spacelift_page_size": ("SPACELIFT_PAGE_SIZE",),
    "spacelift_run_poll_seconds": ("SPACELIFT_RUN_POLL_SECONDS",),
    # the Terraform provider's name for the same cap
    "spacelift_max_requests_per_second": ("SPACELIFT_MAX_REQUESTS_PER_SECOND",),
    "spacelift_unpaginated_lists": ("SPACELIFT_UNPAGINATED_LISTS",),
    "spacelift_stacks_per_run_query": ("SPACELIFT_STACKS_PER_RUN_QUERY",),
}

DEFAULT_MAX_CONCURRENT_REQUESTS = 10
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class SpaceliftSettings:
    """Validated settings; secrets are excluded from ``repr`` so they never reach a log line."""

    api_endpoint: str  # account base URL, no trailing slash, no /graphql
    account_name: str
    api_key_id: str | None = None
    api_key_secret: str | None = field(default=None, repr=False)
    api_token: str | None = field(default=None, repr=False)
    max_retries: int = DEFAULT_MAX_RETRIES
    webhook_secret: str | None = field(default=None, repr=False)
    max_concurrent_requests: int = DEFAULT_MAX_CONCURRENT_REQUESTS
    page_size: int = DEFAULT_PAGE_SIZE
    run_poll_seconds: int | None = None  # None: 10 s, or 60 s when webhooks (OCEAN__BASE_URL) are configured
    max_requests_per_second: int | None = None  # None: no cap (the throttle gate still reacts to 429s)
    unpaginated_lists: bool = True
    stacks_per_run_query: int = DEFAULT_STACKS_PER_RUN_QUERY

    @property
    def query_plan(self) -> QueryPlan:
        return QueryPlan(self.page_size, self.unpaginated_lists, self.stacks_per_run_query)

    @property
    def graphql_url(self) -> str:
        return f"{self.api_endpoint}/graphql"

    @property
    def secrets(self) -> list[str]:
        return [s for s in (self.api_key_secret, self.api_token, self.webhook_secret) if s]


def _pick(name: str, config: Mapping[str, Any], environ: Mapping[str, str], has_default: bool) -> Any:
    """Value from Ocean's config, else from the fallback env vars.

    For settings whose spec has a default, Ocean always reports a value; a fallback env var then wins
    unless the user set the ``OCEAN__…`` variable explicitly.
    """
    value = config.get(name)
    explicit = f"{OCEAN_PREFIX}{name.upper()}" in {k.upper() for k in environ}
    if value not in (None, "") and (not has_default or explicit):
        return value
    for env_name in ENV_FALLBACKS.get(name, ()):
        if environ.get(env_name, "").strip():
            return environ[env_name].strip()
    return value if value not in (None, "") else None


def merged_environment(env_file: Path | None = None) -> dict[str, str]:
    """The process environment over ``.env`` (the environment wins), as Ocean reads them."""
    env_file = env_file or Path(".env")
    from_file = (
        {k: v for k, v in dotenv_values(env_file).items() if v is not None} if env_file.exists() else {}
    )
    return {**from_file, **os.environ}


def normalize_endpoint(raw: str) -> str:
    """Accept the account URL with or without ``/graphql`` and trailing slashes."""
    endpoint = raw.strip().rstrip("/")
    if endpoint.endswith("/graphql"):
        endpoint = endpoint[: -len("/graphql")]
    return endpoint.rstrip("/")


def account_name_from_endpoint(endpoint: str) -> str:
    """``https://acme.app.spacelift.io`` → ``acme``; any other host → its first label."""
    host = urlparse(endpoint).hostname or ""
    return host.split(".")[0] if host else ""


# a value copied from .env.example or the docs without filling it in
_PLACEHOLDER = re.compile(r"<[^<>]*>|^(your[-_ ].*|changeme|change-me|xxx+|todo|\.\.\.)$", re.IGNORECASE)
# RFC 2606 / 6761 names that are never a real account
_EXAMPLE_HOSTS = re.compile(r"(^|\.)(example\.(com|org|net)|[^.]+\.example|[^.]+\.invalid|[^.]+\.test)$")


def placeholder_problem(label: str, value: object, secret: bool = False) -> str | None:
    """Why ``value`` is a placeholder (``<your Port client id>``, ``changeme``), or None; a secret's value
    is never repeated."""
    if isinstance(value, str) and _PLACEHOLDER.search(value.strip()):
        shown = "" if secret else f" ({value.strip()[:60]!r})"
        return f"{label} is still a placeholder{shown}: put the real value in .env or the environment"
    return None


def example_host_problem(label: str, url: str) -> str | None:
    host = urlparse(url).hostname or ""
    if _EXAMPLE_HOSTS.search(host):
        return f"{label}={url!r} is an example address: use your Spacelift account URL, e.g. https://<account>.app.spacelift.io"
    return None


def _bool_setting(name: str, raw: Any, default: bool, problems: list[str]) -> bool:
    if raw is None or isinstance(raw, bool):
        return default if raw is None else raw
    text = str(raw).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    problems.append(f"{name}={raw!r} is not true or false")
    return default


def _int_setting(
    name: str,
    raw: Any,
    default: int,
    low: int,
    high: int,
    problems: list[str],
) -> int:
    if raw is None:
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        problems.append(f"{name}={raw!r} is not a whole number: set it to a value from {low} to {high}")
        return default
    if not low <= value <= high:
        problems.append(f"{name}={value} is out of range: set it to a value from {low} to {high}")
        return default
    return value


def load_settings(config: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> SpaceliftSettings:
    """Build settings or raise ``SpaceliftNotConfiguredError`` listing every problem."""
    env = merged_environment() if environ is None else environ
    problems: list[str] = []

    endpoint_raw = _pick("spacelift_api_endpoint", config, env, has_default=False)
    endpoint = ""
    endpoint_placeholder = placeholder_problem("spaceliftApiEndpoint", endpoint_raw)
    if endpoint_placeholder:
        problems.append(endpoint_placeholder)
    elif not endpoint_raw:
        problems.append(
            "spaceliftApiEndpoint is not set: set OCEAN__INTEGRATION__CONFIG__SPACELIFT_API_ENDPOINT "
            "(or SPACELIFT_API_KEY_ENDPOINT) to your account URL, e.g. https://acme.app.spacelift.io"
        )
    else:
        endpoint = normalize_endpoint(str(endpoint_raw))
        parsed = urlparse(endpoint)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            problems.append(
                f"spaceliftApiEndpoint={str(endpoint_raw)[:200]!r} is not a URL: use your account URL, "
                "e.g. https://acme.app.spacelift.io"
            )
            endpoint = ""
        elif example := example_host_problem("spaceliftApiEndpoint", endpoint):
            problems.append(example)
            endpoint = ""

    key_id = _pick("spacelift_api_key_id", config, env, has_default=False)
    key_secret = _pick("spacelift_api_key_secret", config, env, has_default=False)
    token = _pick("spacelift_api_token", config, env, has_default=False)
    for label, value, secret in (("spaceliftApiKeyId", key_id, False), ("spaceliftApiKeySecret", key_secret, True),
                                 ("spaceliftApiToken", token, True)):  # fmt: skip
        if problem := placeholder_problem(label, value, secret):
            problems.append(problem)
    if not token:
        if not key_id and not key_secret:
            problems.append(
                "no Spacelift credentials: set spaceliftApiKeyId and spaceliftApiKeySecret "
                "(OCEAN__INTEGRATION__CONFIG__SPACELIFT_API_KEY_ID/_SECRET, or SPACELIFT_API_KEY_ID/"
                "SPACELIFT_API_KEY_SECRET), or a ready token in SPACELIFT_API_TOKEN"
            )
        elif not key_id:
            problems.append(
                "spaceliftApiKeyId is not set but a key secret is: set the API key's ID "
                "(OCEAN__INTEGRATION__CONFIG__SPACELIFT_API_KEY_ID or SPACELIFT_API_KEY_ID)"
            )
        elif not key_secret:
            problems.append(
                f"spaceliftApiKeySecret is not set for API key {key_id}: set "
                "OCEAN__INTEGRATION__CONFIG__SPACELIFT_API_KEY_SECRET or SPACELIFT_API_KEY_SECRET"
            )

    max_retries = _int_setting(
        "spaceliftMaxRetries",
        _pick("spacelift_max_retries", config, env, has_default=True),
        DEFAULT_MAX_RETRIES,
        0,
        10,
        problems,
    )
    concurrency = _int_setting(
        "spaceliftMaxConcurrentRequests",
        _pick("spacelift_max_concurrent_requests", config, env, has_default=True),
        DEFAULT_MAX_CONCURRENT_REQUESTS,
        1,
        100,
        problems,
    )
    page_size = _int_setting(
        "spaceliftPageSize",
        _pick("spacelift_page_size", config, env, has_default=True),
        DEFAULT_PAGE_SIZE,
        1,
        MAX_PAGE_SIZE,
        problems,
    )

    poll_raw = _pick("spacelift_run_poll_seconds", config, env, has_default=False)
    run_poll_seconds = (
        _int_setting("spaceliftRunPollSeconds", poll_raw, 0, 1, 3600, problems)
        if poll_raw is not None
        else None
    )

    unpaginated = _bool_setting(
        "spaceliftUnpaginatedLists",
        _pick("spacelift_unpaginated_lists", config, env, has_default=True),
        True,
        problems,
    )
    per_run_query = _int_setting(
        "spaceliftStacksPerRunQuery",
        _pick("spacelift_stacks_per_run_query", config, env, has_default=True),
        DEFAULT_STACKS_PER_RUN_QUERY,
        1,
        100,
        problems,
    )
    rps_raw = _pick("spacelift_max_requests_per_second", config, env, has_default=False)
    max_rps = _int_setting("spaceliftMaxRequestsPerSecond", rps_raw, 0, 0, 1000, problems) or None

    if problems:
        raise SpaceliftNotConfiguredError(problems)

    account = _pick("spacelift_account_name", config, env, has_default=False)
    return SpaceliftSettings(
        api_endpoint=endpoint,
        account_name=str(account) if account else account_name_from_endpoint(endpoint),
        api_key_id=str(key_id) if key_id else None,
        api_key_secret=str(key_secret) if key_secret else None,
        api_token=str(token) if token else None,
        max_retries=max_retries,
        webhook_secret=_pick("spacelift_webhook_secret", config, env, has_default=False),
        max_concurrent_requests=concurrency,
        page_size=page_size,
        run_poll_seconds=run_poll_seconds,
        max_requests_per_second=max_rps,
        unpaginated_lists=unpaginated,
        stacks_per_run_query=per_run_query,
    )
