"""Whether a resync really succeeded, said once and plainly.

Ocean 0.55.4 keeps the entities of a kind whose handler raised and skips the delete phase, but it
reports the outcome only as the boolean ``sync_raw_all`` returns: ``ocean sail`` in ONCE mode exits 0
either way (a Kubernetes CronJob then reports success), and entities Port refuses are only logged, per
batch. This module collects what went wrong during one resync — kinds that failed and why, entities
Port rejected in the end — logs one ERROR summary line when anything did, and in ONCE mode makes the
process exit 1.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from typing import Any

import httpx
from loguru import logger
from port_ocean.context.event import EventType, event
from port_ocean.context.ocean import ocean
from port_ocean.exceptions.context import EventContextNotFoundError
from port_ocean.exceptions.core import OceanAbortException
from port_ocean.utils.signal import signal_handler

from spacelift.client.errors import SpaceliftError, SpaceliftForbiddenError
from spacelift.permissions import needed_for

EXIT_RESYNC_FAILED = 1
_ENTITY_WRITE = re.compile(r"/blueprints/(?P<blueprint>[^/]+)/entities(?P<bulk>/bulk)?$")


class KindFailed(OceanAbortException):
    """A kind's listing failed: Ocean keeps that kind's entities. Raised as Ocean's abort exception so
    Ocean records the failure without logging a traceback for an error we already explained."""


@dataclass
class ResyncReport:
    kinds_started: list[str] = field(default_factory=list)
    failed_kinds: dict[str, str] = field(default_factory=dict)  # kind -> why
    rejected: dict[tuple[str, str], str] = field(default_factory=dict)  # (blueprint, id) -> Port's words

    def kind_failed(self, kind: str, error: BaseException) -> str:
        reason = str(error) or type(error).__name__
        if reason in self.failed_kinds.values():
            logger.debug(f"Spacelift kind {kind} failed for the same reason: {reason}")
        else:
            logger.warning(f"Spacelift kind {kind} failed: {reason}. Port keeps its existing {kind} entities")
        self.failed_kinds[kind] = reason
        return reason

    def summary(self, ocean_succeeded: bool) -> str | None:
        """The one ERROR line, or None when the resync was clean."""
        parts: list[str] = []
        if self.failed_kinds:
            by_reason: dict[str, list[str]] = {}
            for kind, reason in self.failed_kinds.items():
                by_reason.setdefault(reason, []).append(kind)
            described = "; ".join(f"{', '.join(kinds)}: {reason}" for reason, kinds in by_reason.items())
            parts.append(
                f"{len(self.failed_kinds)} of {len(self.kinds_started)} kinds failed and kept their "
                f"entities in Port ({described})"
            )
        if self.rejected:
            samples = "; ".join(
                f"{bp} {ident}: {why}" for (bp, ident), why in list(self.rejected.items())[:3]
            )
            parts.append(f"Port rejected {len(self.rejected)} entities ({samples})")
        if not parts and not ocean_succeeded:
            parts.append("Ocean reported the resync as failed (see its errors above); nothing was deleted")
        return "Spacelift resync failed: " + " · ".join(parts) if parts else None


_current = ResyncReport()
_exit_registered = False


def current() -> ResyncReport:
    return _current


async def reported_pages(
    kind: str, pages: AsyncIterator[list[dict[str, Any]]]
) -> AsyncIterator[list[dict[str, Any]]]:
    """A resync handler's pages, with a failure recorded for the summary."""
    _current.kinds_started.append(kind)
    try:
        async for page in pages:
            yield page
    except SpaceliftForbiddenError as error:
        described = f"{error}. The {kind} kind needs {needed_for(kind)}"
        raise KindFailed(_current.kind_failed(kind, SpaceliftForbiddenError(described))) from None
    except SpaceliftError as error:
        raise KindFailed(_current.kind_failed(kind, error)) from None
    except Exception as error:  # a bug: recorded, and Ocean logs its traceback
        _current.kind_failed(kind, error)
        raise


async def reported(resync: Awaitable[bool], port_client: Any) -> bool:
    """Run one resync (Ocean's ``sync_raw_all``) and report its outcome; False when anything failed."""
    global _current
    _current = report = ResyncReport()
    _watch_port_answers(port_client)
    succeeded = False
    try:
        succeeded = await resync
    finally:
        line = report.summary(succeeded)
        if line:
            logger.error(line)
            _exit_nonzero_when_once()
        else:
            logger.info(f"Spacelift resync completed: {len(report.kinds_started)} kinds, nothing failed")
    return succeeded and not report.rejected


def _exit_nonzero_when_once() -> None:
    global _exit_registered
    if _exit_registered or ocean.event_listener_type != "ONCE":
        return
    _exit_registered = True
    signal_handler.register(_exit_resync_failed, priority=-1000)


async def _exit_resync_failed() -> None:
    """Ocean's ONCE listener ends the process with exit code 0 whatever the outcome and offers no hook to
    change it, so this shutdown handler, registered to run after all of Ocean's (its log shipping is
    flushed at priority -899/-900), flushes our logs and ends the process with ``EXIT_RESYNC_FAILED``."""
    await logger.complete()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(EXIT_RESYNC_FAILED)


# --- what Port said to entity writes ------------------------------------------------------------------


def _in_resync() -> bool:
    try:
        return bool(event.event_type == EventType.RESYNC)
    except EventContextNotFoundError:
        return False


def record_port_answer(url: str, body: Any, response: httpx.Response) -> None:
    """Remember which entities Port refused in the end; a later accepted write of the same entity (Ocean
    retries bulk failures one by one) clears it."""
    match = _ENTITY_WRITE.search(httpx.URL(url).path)
    if not match or not _in_resync() or not isinstance(body, dict):
        return
    blueprint = match.group("blueprint")
    if not match.group("bulk"):
        key = (blueprint, str(body.get("identifier")))
        if response.is_error:
            _current.rejected[key] = f"HTTP {response.status_code}: {response.text[:200]}"
        else:
            _current.rejected.pop(key, None)
        return
    sent = [str((e or {}).get("identifier")) for e in body.get("entities") or []]
    if response.status_code == 413:
        return  # Ocean re-sends these one by one
    if response.is_error:
        for identifier in sent:
            _current.rejected[(blueprint, identifier)] = f"HTTP {response.status_code}: {response.text[:200]}"
        return
    answer = response.json()
    for ok in answer.get("entities") or []:
        if isinstance(ok.get("index"), int) and ok["index"] < len(sent):
            _current.rejected.pop((blueprint, sent[ok["index"]]), None)
    for bad in answer.get("errors") or []:
        if isinstance(bad.get("index"), int) and bad["index"] < len(sent):
            why = str(bad.get("message") or bad.get("error") or "rejected")[:200]
            _current.rejected[(blueprint, sent[bad["index"]])] = why


class _PortAnswers:
    """Ocean's Port HTTP client with Port's answers to entity writes passed to ``record_port_answer``.

    Ocean keeps what Port said about each entity to itself (a failed single upsert even returns the
    entity as if written), so we look at the answers on the way back; everything else is delegated.
    """

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def post(self, url: Any, *args: Any, **kwargs: Any) -> httpx.Response:
        response: httpx.Response = await self._inner.post(url, *args, **kwargs)
        try:
            record_port_answer(str(url), kwargs.get("json"), response)
        except Exception as error:  # seeing Port's answer must never break Ocean's write
            logger.debug(f"Could not read Port's answer to {url}: {error}")
        return response


def _watch_port_answers(port_client: Any) -> None:
    if port_client is not None and not isinstance(port_client.client, _PortAnswers):
        port_client.client = _PortAnswers(port_client.client)
