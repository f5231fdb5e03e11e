"""Every query and mutation we send is valid against the sandbox's Spacelift schema."""

from __future__ import annotations

import pytest
from graphql import FieldNode, parse, validate

from sandbox.spacelift.server import load_schema
from spacelift.graphql import DOCUMENTS, FRAGMENTS, document, stack_runs_batch_document

SCHEMA = load_schema()


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_document_is_valid_against_the_schema(name: str) -> None:
    errors = validate(SCHEMA, parse(DOCUMENTS[name]))
    assert [e.message for e in errors] == []


def test_every_fragment_is_used_somewhere() -> None:
    used = {name for name in FRAGMENTS if any(f"...{name}" in text for text in DOCUMENTS.values())}
    assert used == set(FRAGMENTS)


def _selected_paths(node: object, parents: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    paths: set[tuple[str, ...]] = set()
    for selection in getattr(getattr(node, "selection_set", None), "selections", None) or []:
        name = selection.name.value if isinstance(selection, FieldNode) else ""
        path = (*parents, name) if name else parents
        if name:
            paths.add(path)
        paths |= _selected_paths(selection, path)
    return paths


def test_no_document_selects_secret_material() -> None:
    """Context config values, stack outputs, attached context config and env vars can hold secrets."""
    forbidden = {"outputs", "value", "environment", "runtimeConfig"}
    for name, text in DOCUMENTS.items():
        tree = parse(text)
        paths = set().union(*(_selected_paths(d) for d in tree.definitions))
        assert not [p for p in paths if p[-1] in forbidden], name
        assert not [p for p in paths if p[-2:] == ("attachedContexts", "config")], name
    # the walk sees nested selections inside fragments (so the checks above can fail)
    context_paths = set().union(
        *(_selected_paths(d) for d in parse(DOCUMENTS["search_contexts"]).definitions)
    )
    assert ("config", "writeOnly") in context_paths


def test_unknown_document_names_the_file() -> None:
    with pytest.raises(KeyError, match="no GraphQL document nope.graphql"):
        document("nope")


@pytest.mark.parametrize("field", ["runs", "proposedRuns"])
def test_batched_run_page_documents_are_valid(field: str) -> None:
    for stacks in (1, 3, 10):
        errors = validate(SCHEMA, parse(stack_runs_batch_document(field, stacks)))
        assert [e.message for e in errors] == []


def test_batched_run_pages_refuse_other_fields() -> None:
    with pytest.raises(ValueError, match="cannot batch 'outputs'"):
        stack_runs_batch_document("outputs", 2)


def test_every_query_proves_its_own_session_with_viewer() -> None:
    """Spacelift answers an expired session with empty lists and null objects; only a ``viewer`` in the
    same answer tells that apart from a real empty page or a deleted stack (see client/pagination.py)."""
    queries = {name: text for name, text in DOCUMENTS.items() if text.lstrip().startswith(("query", "#"))}
    assert "search_stacks" in queries and "get_stack" in queries
    for name, text in queries.items():
        if name == "viewer":
            continue
        operation = next(d for d in parse(text).definitions if getattr(d, "operation", None) is not None)
        roots = {s.name.value for s in operation.selection_set.selections}  # type: ignore[attr-defined]
        assert "viewer" in roots, name
    batch = parse(stack_runs_batch_document("runs", 3)).definitions[0]
    assert "viewer" in {s.name.value for s in batch.selection_set.selections}  # type: ignore[attr-defined]


def test_managed_resources_read_no_value_that_can_hold_secrets_but_terraform_s_for_the_cloud_id() -> None:
    """Pulumi outputs, CloudFormation templates, Kubernetes and Ansible data are never selected; Terraform's
    values are, only to take the allowlisted cloud id out (spacelift/exporters/resource.py drops them)."""
    paths = set().union(*(_selected_paths(d) for d in parse(DOCUMENTS["get_stack_resources"]).definitions))
    leaves = {p[-1] for p in paths}
    assert not leaves & {"outputs", "template", "data", "value", "thirdPartyMetadata"}
    assert {"values", "physicalResourceId"} <= leaves
