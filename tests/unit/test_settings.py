"""Configuration: spec names, spacectl fallbacks, one clear line per problem, secrets kept out of repr."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from dotenv import dotenv_values

from spacelift.client.errors import SpaceliftNotConfiguredError
from spacelift.preflight import credential_problems, find_problems, port_in_use_problem
from spacelift.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
GOOD = {
    "spacelift_api_endpoint": "https://acme.app.spacelift.io/graphql/",
    "spacelift_api_key_id": "01KEY",
    "spacelift_api_key_secret": "very-secret",
}


def test_spec_names_are_read_and_endpoint_normalised() -> None:
    settings = load_settings(GOOD, environ={})
    assert settings.api_endpoint == "https://acme.app.spacelift.io"
    assert settings.graphql_url == "https://acme.app.spacelift.io/graphql"
    assert settings.account_name == "acme"
    assert (settings.max_retries, settings.page_size, settings.max_concurrent_requests) == (6, 50, 10)
    assert settings.max_requests_per_second is None
    assert "very-secret" not in repr(settings)


def test_spacectl_variables_work_without_renaming() -> None:
    env = {
        "SPACELIFT_API_KEY_ENDPOINT": "https://corp.app.spacelift.io",
        "SPACELIFT_API_KEY_ID": "01SPACECTL",
        "SPACELIFT_API_KEY_SECRET": "shh",
        "SPACELIFT_MAX_RETRIES": "5",
        "SPACELIFT_ACCOUNT_NAME": "corp-eu",
    }
    # Ocean reports the spec defaults even when nothing was set explicitly.
    settings = load_settings({"spacelift_max_retries": 2}, environ=env)
    assert (settings.api_endpoint, settings.api_key_id, settings.api_key_secret) == (
        "https://corp.app.spacelift.io",
        "01SPACECTL",
        "shh",
    )
    assert settings.max_retries == 5
    assert settings.account_name == "corp-eu"


def test_explicit_ocean_setting_beats_the_short_name() -> None:
    env = {"SPACELIFT_MAX_RETRIES": "5", "OCEAN__INTEGRATION__CONFIG__SPACELIFT_MAX_RETRIES": "1"}
    assert load_settings({**GOOD, "spacelift_max_retries": 1}, environ=env).max_retries == 1


def test_short_endpoint_name_and_ready_token() -> None:
    settings = load_settings(
        {}, environ={"SPACELIFT_API_ENDPOINT": "http://127.0.0.1:5050", "SPACELIFT_API_TOKEN": "tok"}
    )
    assert settings.api_token == "tok" and settings.api_key_id is None
    assert settings.account_name == "127"


@pytest.mark.parametrize(
    "config, expected",
    [
        ({}, ["spaceliftApiEndpoint is not set", "no Spacelift credentials"]),
        ({**GOOD, "spacelift_api_endpoint": "acme.app.spacelift.io"}, ["is not a URL"]),
        ({**GOOD, "spacelift_api_key_secret": ""}, ["spaceliftApiKeySecret is not set for API key 01KEY"]),
        ({**GOOD, "spacelift_api_key_id": ""}, ["spaceliftApiKeyId is not set"]),
        ({**GOOD, "spacelift_max_retries": "many"}, ["spaceliftMaxRetries='many' is not a whole number"]),
        ({**GOOD, "spacelift_page_size": 500}, ["spaceliftPageSize=500 is out of range"]),
        ({**GOOD, "spacelift_run_poll_seconds": 0}, ["spaceliftRunPollSeconds=0 is out of range"]),
    ],
)
def test_every_problem_is_one_clear_line(config, expected) -> None:
    with pytest.raises(SpaceliftNotConfiguredError) as caught:
        load_settings(config, environ={})
    assert len(caught.value.problems) == len(expected)
    for problem, fragment in zip(caught.value.problems, expected, strict=True):
        assert fragment in problem
    assert "very-secret" not in str(caught.value)


def test_preflight_reports_port_and_spacelift_problems() -> None:
    problems = find_problems({"OCEAN__INTEGRATION__CONFIG__SPACELIFT_API_ENDPOINT": "not a url"})
    assert [p.split(" ")[0] for p in problems[:2]] == ["OCEAN__PORT__CLIENT_ID", "OCEAN__PORT__CLIENT_SECRET"]
    assert any("is not a URL" in p for p in problems)
    assert any("no Spacelift credentials" in p for p in problems)


def test_preflight_command_exits_non_zero_without_traceback(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "spacelift.preflight", "--offline"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("configuration error:")]
    assert len(lines) == 4  # Port id, Port secret, endpoint, credentials


def test_dotenv_counts_as_explicit_like_the_environment(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / ".env").write_text(
        "OCEAN__INTEGRATION__CONFIG__SPACELIFT_MAX_RETRIES=1\nSPACELIFT_API_KEY_ID=from-dotenv\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SPACELIFT_MAX_RETRIES", "5")
    settings = load_settings({**GOOD, "spacelift_api_key_id": "", "spacelift_max_retries": 1})
    assert settings.max_retries == 1  # the .env OCEAN__ variable was set on purpose
    assert settings.api_key_id == "from-dotenv"


def test_the_example_env_file_as_copied_is_refused_line_by_line() -> None:
    """``cp .env.example .env && make run`` must say what to fill in, not try to log in with placeholders."""
    example = dotenv_values(ROOT / ".env.example")
    problems = find_problems({k: v for k, v in example.items() if v is not None})
    joined = "\n".join(problems)
    assert "OCEAN__PORT__CLIENT_ID is still a placeholder" in joined
    assert "OCEAN__PORT__CLIENT_SECRET is still a placeholder" in joined
    assert "spaceliftApiEndpoint is still a placeholder" in joined
    assert (
        "spaceliftApiKeyId is still a placeholder" in joined
        and "spaceliftApiKeySecret is still a placeholder" in joined
    )
    assert "<API key secret>" not in joined  # a secret's value, even a placeholder, is never repeated


def test_example_hosts_are_refused() -> None:
    for host in ("https://acme.example.com", "https://x.test", "https://spacelift.invalid"):
        with pytest.raises(SpaceliftNotConfiguredError, match="is an example address"):
            load_settings({**GOOD, "spacelift_api_endpoint": host}, environ={})


def test_a_busy_port_is_named_with_the_fix() -> None:
    with socket.socket() as holder:
        holder.bind(("0.0.0.0", 0))
        holder.listen()
        busy = holder.getsockname()[1]
        assert f"port {busy} is already in use" in (port_in_use_problem(busy) or "")
        assert "make run PORT=" in (port_in_use_problem(busy) or "")
    assert port_in_use_problem(busy) is None


def test_credentials_are_each_checked_with_one_request_and_named_when_refused() -> None:
    from sandbox.port.server import SandboxPort
    from sandbox.serving import serving
    from sandbox.spacelift import DEFAULT_KEY_ID, DEFAULT_KEY_SECRET, running_sandbox

    port = SandboxPort()
    with serving(port.app) as port_server, running_sandbox("small") as (sandbox, spacelift):
        good = {
            "OCEAN__PORT__CLIENT_ID": port.client_id, "OCEAN__PORT__CLIENT_SECRET": port.client_secret,
            "OCEAN__PORT__BASE_URL": port_server.url,
            "OCEAN__INTEGRATION__CONFIG__SPACELIFT_API_ENDPOINT": spacelift.url,
            "OCEAN__INTEGRATION__CONFIG__SPACELIFT_API_KEY_ID": DEFAULT_KEY_ID,
            "OCEAN__INTEGRATION__CONFIG__SPACELIFT_API_KEY_SECRET": DEFAULT_KEY_SECRET,
        }  # fmt: skip
        assert credential_problems(good) == []
        assert (
            sandbox.by_operation["SpaceliftApiKeyUser"] == 1 and port.calls["POST /v1/auth/access_token"] == 1
        )
        wrong_port = credential_problems({**good, "OCEAN__PORT__CLIENT_SECRET": "nope"})
        assert len(wrong_port) == 1 and "Port rejected OCEAN__PORT__CLIENT_ID" in wrong_port[0]
        wrong_key = credential_problems(
            {**good, "OCEAN__INTEGRATION__CONFIG__SPACELIFT_API_KEY_SECRET": "nope"}
        )
        assert len(wrong_key) == 1 and "did not accept API key" in wrong_key[0] and "nope" not in wrong_key[0]
        wrong_host = credential_problems({**good, "OCEAN__PORT__BASE_URL": spacelift.url})
        assert "is not Port's API" in wrong_host[0]
        assert all("nope" not in problem for problem in wrong_port + wrong_key)


def test_a_required_setting_given_only_by_spacectl_s_variable_reaches_ocean() -> None:
    from spacelift.startup import fill_required_from_fallbacks

    added = fill_required_from_fallbacks({"SPACELIFT_API_KEY_ENDPOINT": "https://acme.app.spacelift.io"})
    assert added == {"OCEAN__INTEGRATION__CONFIG__SPACELIFT_API_ENDPOINT": "https://acme.app.spacelift.io"}
    explicit = {"OCEAN__INTEGRATION__CONFIG__SPACELIFT_API_ENDPOINT": "https://mine.app.spacelift.io",
                "SPACELIFT_API_KEY_ENDPOINT": "https://acme.app.spacelift.io"}  # fmt: skip
    assert fill_required_from_fallbacks(explicit) == {}


def test_empty_url_and_integer_settings_are_named_before_ocean_chokes_on_them() -> None:
    from spacelift.startup import empty_typed_settings

    problems = empty_typed_settings(
        {"OCEAN__INTEGRATION__CONFIG__SPACELIFT_MAX_RETRIES": "", "OCEAN__INTEGRATION__CONFIG__SPACELIFT_API_ENDPOINT": " ",
         "OCEAN__INTEGRATION__CONFIG__SPACELIFT_ACCOUNT_NAME": ""},
        ROOT / ".port/spec.yaml",
    )  # fmt: skip
    assert len(problems) == 2 and any("spaceliftMaxRetries a value" in p for p in problems)
    assert not any("ACCOUNT_NAME" in p for p in problems)  # a string may be empty
