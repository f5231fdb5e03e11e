"""Enrichment: ISO times, links, run durations, enum fallback, and blueprints in step with the enums."""

from __future__ import annotations

import json
from pathlib import Path

from spacelift.enums import ENUMS, OTHER, port_enum
from spacelift.exporters.enrich import Links, enrich_context, enrich_run, enrich_stack, iso

ROOT = Path(__file__).resolve().parents[2]


def test_iso_handles_seconds_milliseconds_strings_and_nothing() -> None:
    assert iso(1767261600) == "2026-01-01T10:00:00Z"
    assert iso(1767261600123) == "2026-01-01T10:00:00.123000Z"
    assert iso("2026-01-01T10:00:00+02:00") == "2026-01-01T08:00:00Z"
    assert iso("1767261600") == "2026-01-01T10:00:00Z"
    assert iso(None) is None and iso(0) is None and iso("soon") is None and iso(True) is None


def test_links_are_built_from_the_account_url_and_escaped() -> None:
    links = Links("https://spacelift.internal.corp/")
    assert links.run("net prod", "01RUN") == "https://spacelift.internal.corp/stack/net%20prod/run/01RUN"
    assert links.space("root") == "https://spacelift.internal.corp/spaces/root"


def test_terminal_runs_get_finished_at_and_duration() -> None:
    links = Links("https://acme.app.spacelift.io")
    done = enrich_run(
        {"id": "r1", "state": "FINISHED", "type": "TRACKED", "createdAt": 100_000, "updatedAt": 100_090},
        "s",
        links,
    )
    assert done["__durationSeconds"] == 90 and done["__iso"]["finishedAt"] == iso(100_090)
    running = enrich_run(
        {"id": "r2", "state": "APPLYING", "type": "TRACKED", "createdAt": 100_000, "updatedAt": 100_050},
        "s",
        links,
    )
    assert running["__durationSeconds"] is None and running["__iso"]["finishedAt"] is None
    assert running["__stackId"] == "s" and running["__url"].endswith("/stack/s/run/r2")


def test_unknown_enum_values_become_other() -> None:
    assert port_enum("FINISHED", "runState") == "FINISHED"
    assert port_enum("TIME_TRAVELLING", "runState") == OTHER
    assert port_enum(None, "runState") is None


def test_stack_vendor_and_version() -> None:
    stack = enrich_stack({"id": "s", "state": "NONE", "vendorConfig": {"__typename": "StackConfigVendorPulumi"},
                          "effectiveTerraformVersion": None}, Links("https://x.app.spacelift.io"))  # fmt: skip
    assert stack["__vendor"] == "Pulumi" and stack["__state"] == "NONE"


def test_context_config_becomes_counts_only() -> None:
    context = enrich_context(
        {"id": "c", "config": [{"id": "A", "writeOnly": False}, {"id": "B", "writeOnly": True}]}
    )
    assert "config" not in context
    assert (context["__configCount"], context["__writeOnlyCount"]) == (2, 1)


def test_blueprint_enums_list_every_known_value_plus_other() -> None:
    blueprints = {
        bp["identifier"]: bp for bp in json.loads((ROOT / ".port/resources/blueprints.json").read_text())
    }
    pairs = {
        ("spaceliftStack", "state"): "stackState",
        ("spaceliftDeployment", "state"): "runState",
        ("spaceliftDeployment", "type"): "runType",
        ("spaceliftPolicy", "type"): "policyType",
        ("spaceliftBlueprint", "state"): "blueprintState",
    }
    for (blueprint, prop), enum in pairs.items():
        schema = blueprints[blueprint]["schema"]["properties"][prop]
        assert schema["enum"] == [*ENUMS[enum], OTHER], (blueprint, prop)
        if "enumColors" in schema:
            assert set(schema["enumColors"]) == set(schema["enum"])
