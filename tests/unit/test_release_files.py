"""The files Port's CI for integrations reads are in the shape it expects (so the folder could move into
port-labs/ocean as is): the changelog's headers and sections, the Ocean pin, the version."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PORT_SECTIONS = {"Bug Fixes", "Improvements", "Features", "Deprecations", "Vulnerabilities", "Breaking Changes",
                 "Improved Documentation"}  # fmt: skip
VERSION_HEADER = re.compile(r"^## (\d+\.\d+\.\d+) \((\d{4}-\d{2}-\d{2})\)$")


def test_changelog_uses_port_s_headers_sections_and_spacing() -> None:
    lines = (ROOT / "CHANGELOG.md").read_text().splitlines()
    assert "<!-- towncrier release notes start -->" in lines  # where Port's release bot inserts entries
    versions = [n for n, line in enumerate(lines) if line.startswith("## ")]
    assert versions and all(VERSION_HEADER.match(lines[n]) for n in versions), [lines[n] for n in versions]
    for n in versions:
        assert lines[n + 1] == lines[n + 2] == "" and lines[n + 3].startswith("### "), lines[n]
        if n != versions[0]:
            assert lines[n - 1] == lines[n - 2] == "" and lines[n - 3] != "", lines[n]
    sections = [line[4:] for line in lines if line.startswith("### ")]
    assert set(sections) <= PORT_SECTIONS, set(sections) - PORT_SECTIONS
    assert all(lines[i + 1] == "" for i, line in enumerate(lines) if line.startswith("### "))


def test_the_newest_changelog_entry_is_the_project_version() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    newest = next(
        m for line in (ROOT / "CHANGELOG.md").read_text().splitlines() if (m := VERSION_HEADER.match(line))
    )
    assert newest.group(1) == project["project"]["version"]


def test_ocean_is_pinned_where_port_s_ci_reads_it() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    pin = project["tool"]["poetry"]["dependencies"]["port_ocean"]
    assert (
        pin["version"] == "^0.55.4" and "cli" in pin["extras"]
    )  # toml get tool.poetry.dependencies.port_ocean.version
    assert project["project"]["dynamic"] == ["dependencies"]
    assert (
        sum(line.startswith('version = "') for line in (ROOT / "pyproject.toml").read_text().splitlines())
        == 1
    )
