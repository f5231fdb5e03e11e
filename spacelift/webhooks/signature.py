"""Spacelift's webhook signatures: GitHub-style HMACs of the raw body with the webhook secret.

``X-Signature-256: sha256=<hex>`` is checked when present; ``X-Signature: sha1=<hex>`` only when the
sha256 header is absent (older deliveries). Comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

ALGORITHMS = {"x-signature-256": ("sha256", hashlib.sha256), "x-signature": ("sha1", hashlib.sha1)}


def signature_problem(body: bytes, headers: Mapping[str, str], secret: str) -> str | None:
    """None when the body is signed with ``secret``; otherwise why not (for one log line)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    for header, (prefix, digest) in ALGORITHMS.items():
        given = lowered.get(header)
        if given is None:
            continue
        expected = f"{prefix}=" + hmac.new(secret.encode(), body, digest).hexdigest()
        if hmac.compare_digest(given.strip().encode(), expected.encode()):
            return None
        return f"{header} does not match the body signed with spaceliftWebhookSecret"
    return "no X-Signature-256 or X-Signature header (is the webhook's secret set in Spacelift?)"
