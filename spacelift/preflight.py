"""``python -m spacelift.preflight``: check settings before ``ocean sail`` so a missing or malformed
setting is one clear line, not a traceback. Reads the environment and ``.env`` as Ocean does."""

from __future__ import annotations

import sys
from collections.abc import Mapping

from spacelift.client.errors import SpaceliftNotConfiguredError
from spacelift.settings import OCEAN_PREFIX, load_settings, merged_environment

PORT_SETTINGS = {
    "OCEAN__PORT__CLIENT_ID": "Port client ID",
    "OCEAN__PORT__CLIENT_SECRET": "Port client secret",
}


def integration_config_from(env: Mapping[str, str]) -> dict[str, str]:
    """``OCEAN__INTEGRATION__CONFIG__SPACELIFT_API_KEY_ID`` → ``spacelift_api_key_id``."""
    return {k[len(OCEAN_PREFIX) :].lower(): v for k, v in env.items() if k.upper().startswith(OCEAN_PREFIX)}


def find_problems(env: Mapping[str, str]) -> list[str]:
    upper = {k.upper(): v for k, v in env.items()}
    problems = [
        f"{name} is not set: create {label} credentials in Port (Settings → Credentials) and export it or put it in .env"
        for name, label in PORT_SETTINGS.items()
        if not upper.get(name, "").strip()
    ]
    try:
        load_settings(integration_config_from(env), env)
    except SpaceliftNotConfiguredError as error:
        problems.extend(error.problems)
    return problems


def main() -> int:
    problems = find_problems(merged_environment())
    for problem in problems:
        print(f"configuration error: {problem}", file=sys.stderr)
    if problems:
        print("see README.md → Configuration, or copy .env.example to .env", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
