"""What has to happen before Ocean reads its configuration, when ``ocean sail`` or ``ocean probe`` starts.

Ocean builds its configuration model from ``.port/spec.yaml`` right after importing ``integration.py``
and before ``main.py``: a required setting that is missing, or a ``url``/``integer`` setting it cannot
parse, stops it there with a pydantic traceback, and it never sees spacectl's variables. So, from
``integration.py`` (the one module Ocean imports first — true of port-ocean 0.55.x):

* a required setting missing from Ocean's variables is filled from its spacectl fallback
  (``SPACELIFT_API_KEY_ENDPOINT`` → ``OCEAN__INTEGRATION__CONFIG__SPACELIFT_API_ENDPOINT``), so the spec can
  mark it required for Port's install form without breaking the variables spacectl users already have;
* the settings are checked as ``spacelift.settings`` checks them, and a problem is one line and exit 2
  instead of Ocean's traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

import humps
import yaml

from spacelift.client.errors import SpaceliftNotConfiguredError
from spacelift.settings import ENV_FALLBACKS, OCEAN_PREFIX, load_settings, merged_environment

# spec settings marked ``required: true`` that have spacectl fallbacks
REQUIRED_WITH_FALLBACK = ("spacelift_api_endpoint",)
COMMANDS = (["sail"], ["probe"])


def fill_required_from_fallbacks(environ: Mapping[str, str]) -> dict[str, str]:
    """The ``OCEAN__…`` variables to add so Ocean finds a required setting given only by its fallback."""
    added: dict[str, str] = {}
    upper = {k.upper(): v for k, v in environ.items()}
    for name in REQUIRED_WITH_FALLBACK:
        ocean_name = f"{OCEAN_PREFIX}{name.upper()}"
        if upper.get(ocean_name, "").strip():
            continue
        for fallback in ENV_FALLBACKS[name]:
            if upper.get(fallback, "").strip():
                added[ocean_name] = upper[fallback].strip()
                break
    return added


def empty_typed_settings(environ: Mapping[str, str], spec: Path = Path(".port/spec.yaml")) -> list[str]:
    """``OCEAN__…=`` (set, but empty) for a ``url`` or ``integer`` setting: Ocean cannot parse "" as either."""
    if not spec.exists():
        return []
    configurations = (yaml.safe_load(spec.read_text()) or {}).get("configurations") or []
    typed = {
        humps.decamelize(c["name"]).upper(): c["name"]
        for c in configurations
        if c.get("type") in ("url", "integer")
    }
    return [
        f"{key} is set but empty: remove it or give {typed[key[len(OCEAN_PREFIX):]]} a value"
        for key, value in environ.items()
        if key.upper().startswith(OCEAN_PREFIX)
        and key.upper()[len(OCEAN_PREFIX) :] in typed
        and not value.strip()
    ]


def configuration_from(environ: Mapping[str, str]) -> dict[str, str]:
    return {
        k[len(OCEAN_PREFIX) :].lower(): v for k, v in environ.items() if k.upper().startswith(OCEAN_PREFIX)
    }


def before_ocean_reads_its_configuration() -> None:
    if sys.argv[1:2] not in COMMANDS:
        return  # imported by tests, schema exports or tools: nothing to prepare
    environ = merged_environment()
    added = fill_required_from_fallbacks(environ)
    os.environ.update(added)
    problems = empty_typed_settings(environ)
    try:
        load_settings(configuration_from({**environ, **added}), {**environ, **added})
    except SpaceliftNotConfiguredError as error:
        problems += error.problems
    for problem in problems:
        print(f"configuration error: {problem}", file=sys.stderr, flush=True)
    if problems:
        raise SystemExit(2)
