"""``python -m spacelift.preflight [--port N]``: what ``make run`` checks before ``ocean sail``, so a wrong or
missing setting is one clear line each and exit 2, not a traceback or Ocean retrying its Port login forever.

Reads the environment and ``.env`` as Ocean does. Checks, in order: every setting is present and not a
placeholder copied from ``.env.example``; the port ``ocean sail`` will listen on is free; Port accepts the
client id and secret, and Spacelift the API key (one cheap request each, see ``spacelift.credentials``).
"""

from __future__ import annotations

import argparse
import socket
import sys
from collections.abc import Mapping

from spacelift.client.errors import SpaceliftNotConfiguredError
from spacelift.credentials import check_port, check_spacelift, checked
from spacelift.settings import OCEAN_PREFIX, load_settings, merged_environment, placeholder_problem

PORT_SETTINGS = {
    "OCEAN__PORT__CLIENT_ID": ("Port client ID", False),
    "OCEAN__PORT__CLIENT_SECRET": ("Port client secret", True),
}
DEFAULT_PORT_API = "https://api.getport.io"


def integration_config_from(env: Mapping[str, str]) -> dict[str, str]:
    """``OCEAN__INTEGRATION__CONFIG__SPACELIFT_API_KEY_ID`` → ``spacelift_api_key_id``."""
    return {k[len(OCEAN_PREFIX) :].lower(): v for k, v in env.items() if k.upper().startswith(OCEAN_PREFIX)}


def find_problems(env: Mapping[str, str]) -> list[str]:
    """What is missing or a placeholder, without asking anyone."""
    upper = {k.upper(): v for k, v in env.items()}
    problems: list[str] = []
    for name, (label, secret) in PORT_SETTINGS.items():
        value = upper.get(name, "").strip()
        if not value:
            problems.append(
                f"{name} is not set: create {label} credentials in Port (Settings → Credentials) and export "
                "it or put it in .env"
            )
        elif placeholder := placeholder_problem(name, value, secret):
            problems.append(placeholder + " (Port → Settings → Credentials)")
    try:
        load_settings(integration_config_from(env), env)
    except SpaceliftNotConfiguredError as error:
        problems.extend(error.problems)
    return problems


def port_in_use_problem(port: int) -> str | None:
    """``ocean sail`` binds 0.0.0.0:<port>; taken, it would stop mid-start with exit 3."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("0.0.0.0", port))
        except OSError:
            return f"port {port} is already in use, so ocean sail could not listen on it: run make run PORT=8081 (any free port)"
    return None


def credential_problems(env: Mapping[str, str]) -> list[str]:
    """One request to Port and one to Spacelift; a credential either service refuses is a problem, and so
    is a service that cannot be reached (nothing would work)."""
    upper = {k.upper(): v for k, v in env.items()}
    settings = load_settings(integration_config_from(env), env)
    port = checked(
        lambda: check_port(
            upper.get("OCEAN__PORT__BASE_URL") or DEFAULT_PORT_API,
            upper["OCEAN__PORT__CLIENT_ID"].strip(),
            upper["OCEAN__PORT__CLIENT_SECRET"].strip(),
        )
    )
    spacelift = checked(lambda: check_spacelift(settings))
    return [verdict.message for verdict in (port, spacelift) if verdict.outcome != "ok"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spacelift.preflight", description=__doc__)
    parser.add_argument("--port", type=int, help="the port ocean sail will listen on (checked to be free)")
    parser.add_argument("--offline", action="store_true", help="skip the credential requests")
    args = parser.parse_args(argv)
    env = merged_environment()
    problems = find_problems(env)
    if args.port is not None and (busy := port_in_use_problem(args.port)):
        problems.append(busy)
    if not problems and not args.offline:
        problems = credential_problems(env)
    for problem in problems:
        print(f"configuration error: {problem}", file=sys.stderr)
    if problems:
        print("see README.md → Configuration, or copy .env.example to .env", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
