"""Every `cypher/*.cypher` file: a header that matches its body, and a plan from a real Neo4j (EXPLAIN)."""

from __future__ import annotations

import re

import neo4j
import pytest

from raregraph.kg.cypher_files import cypher_file, cypher_names, load_cypher, schema_statements

NAMES = [name for name in cypher_names() if name != "schema"]
# EXPLAIN needs no values, but a missing parameter makes the server warn; these are harmless ones.
_DUMMY = {"STRING": "", "INTEGER": 1, "FLOAT": 0.0, "BOOLEAN": True, "MAP": {}, "LIST<STRING>": [], "LIST<MAP>": []}


def test_every_statement_is_a_named_file_with_a_header() -> None:
    assert "schema" in cypher_names() and len(NAMES) >= 40
    for name in NAMES:
        parsed = cypher_file(name)
        assert re.fullmatch(r"[a-z0-9_]+_by_[a-z0-9_]+", name), name
        assert parsed.text.startswith(f"// {name} — "), name
        assert parsed.mode in ("read", "write"), name
        assert parsed.used_params() == set(parsed.params), f"{name}: declared {sorted(parsed.params)}, used {sorted(parsed.used_params())}"
        assert all(kind in _DUMMY for kind in parsed.params.values()), name
        assert parsed.returns, f"{name}: header lists no returned columns"


def test_statements_take_values_only_as_parameters() -> None:
    for name in cypher_names():
        body = cypher_file(name).body
        assert "{0}" not in body and "%s" not in body and "{}" not in body, name
        # string literals are fixed states/labels only, never something a caller supplies
        assert set(re.findall(r"'([^']*)'", body)) <= {"complete", "loading", "dropping", "rg_names", "Phenotype", "Disease",
                                                       "Gene", "Variant", "TermAlias", "GeneKey", "Xref", "Synonym",
                                                       "Record", "Snapshot", "nodes", "relationships", "term", "disease", "I"}, name


def test_load_cypher_is_cached_and_refuses_odd_names() -> None:
    assert load_cypher("terms_by_id") is load_cypher("terms_by_id")
    for bad in ("../api/cli", "terms_by_id.cypher", "", "TERMS_BY_ID", "no_such_file"):
        with pytest.raises(KeyError):
            load_cypher(bad)
    assert all(s.startswith("CREATE ") and "IF NOT EXISTS" in s for s in schema_statements())


@pytest.mark.integration
@pytest.mark.parametrize("name", NAMES)
def test_explain_plans_every_file(neo4j_driver: neo4j.Driver, name: str) -> None:
    """The server parses and plans each statement; reads plan as read-only, writes as writes."""
    from raregraph.kg.neo4j_load import apply_schema

    apply_schema(neo4j_driver)  # the full-text index must exist for search_hits_by_text to plan
    parsed = cypher_file(name)
    params = {key: _DUMMY[kind] for key, kind in parsed.params.items()}
    with neo4j_driver.session(database="neo4j") as session:
        summary = session.run("EXPLAIN " + parsed.text, params).consume()
    assert summary.plan is not None
    expected = {"read": {"r"}, "write": {"w", "rw"}}[parsed.mode]
    if "CALL dbms." in parsed.body:
        expected = expected | {"s"}  # system procedures plan as 's' (read-only, outside the graph)
    assert summary.query_type in expected, f"{name}: {parsed.mode} file planned as {summary.query_type!r}"
    deprecated = [s.status_description for s in summary.gql_status_objects if "deprecat" in s.status_description.lower()]
    assert not deprecated, f"{name}: {deprecated}"
