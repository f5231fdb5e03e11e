"""Configuration: spec names, spacectl fallbacks, one clear line per problem, secrets kept out of repr."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from spacelift.client.errors import SpaceliftNotConfiguredError
from spacelift.preflight import find_problems
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
        [sys.executable, "-m", "spacelift.preflight"],
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
