"""Spacelift GraphQL transport: auth, retries, rate limits, errors, pagination."""

from spacelift.client.errors import (
    SpaceliftAuthError,
    SpaceliftError,
    SpaceliftForbiddenError,
    SpaceliftNotConfiguredError,
    SpaceliftPermanentError,
    SpaceliftQueryTooLargeError,
    SpaceliftRateLimitedError,
    SpaceliftTemporaryError,
)
from spacelift.client.graphql_client import SpaceliftClient
from spacelift.client.pagination import list_all, run_pages_of_stacks, search_pages

__all__ = [
    "SpaceliftAuthError",
    "SpaceliftClient",
    "SpaceliftError",
    "SpaceliftForbiddenError",
    "SpaceliftNotConfiguredError",
    "SpaceliftPermanentError",
    "SpaceliftQueryTooLargeError",
    "SpaceliftRateLimitedError",
    "SpaceliftTemporaryError",
    "list_all",
    "run_pages_of_stacks",
    "search_pages",
]
