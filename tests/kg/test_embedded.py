"""The embedded graph on the real default snapshot: known facts and whole-ontology invariants."""

from __future__ import annotations

import numpy as np
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from raregraph.etl.snapshot import Snapshot
from raregraph.kg.embedded import EmbeddedGraph
from raregraph.kg.graph import KnowledgeGraph
from raregraph.kg.model import PHENOTYPIC_ABNORMALITY, ROOT_TERM, Annotation


def test_is_a_knowledge_graph(default_graph: EmbeddedGraph) -> None:
    assert isinstance(default_graph, KnowledgeGraph)
    assert default_graph.snapshot_id == default_graph.manifest()["snapshot_id"]


def test_seizure_label_and_ancestry(default_graph: EmbeddedGraph) -> None:
    term = default_graph.terms(["HP:0001250"])["HP:0001250"]
    assert term.label == "Seizure" and not term.obsolete
    assert "HP:0012638" in term.parents  # Abnormal nervous system physiology
    ancestors = default_graph.ancestors(["HP:0001250"])["HP:0001250"]
    assert {PHENOTYPIC_ABNORMALITY, ROOT_TERM, "HP:0001250"} <= ancestors
    assert "HP:0001250" not in default_graph.ancestors(["HP:0001250"], include_self=False)["HP:0001250"]
    assert "HP:0002373" in default_graph.descendants(["HP:0001250"])["HP:0001250"]  # febrile seizure


def test_lookup_by_exact_normalised_label_and_synonym(default_graph: EmbeddedGraph) -> None:
    found = default_graph.terms_by_label(["SEIZURES", "epileptic  seizure", "Arachnodactyly", "no such thing"])
    assert found == {"SEIZURES": ["HP:0001250"], "epileptic  seizure": ["HP:0001250"], "Arachnodactyly": ["HP:0001166"]}


def test_obsolete_and_alt_ids_resolve_to_current_terms(default_graph: EmbeddedGraph) -> None:
    resolved = default_graph.resolve_terms(["HP:0000057", "HP:0002279", "HP:0001250", "HP:9999999"])
    assert resolved == {"HP:0000057": "HP:0008665", "HP:0002279": "HP:0001250", "HP:0001250": "HP:0001250"}


def test_marfan_annotations_genes_and_inheritance(default_graph: EmbeddedGraph) -> None:
    annotations = default_graph.disease_phenotypes(["OMIM:154700"])["OMIM:154700"]
    arachno = next(a for a in annotations if a.term_id == "HP:0001166")
    assert arachno.frequency is not None and 0.6 < arachno.frequency < 0.65
    assert default_graph.diseases(["OMIM:154700"])["OMIM:154700"].name == "Marfan syndrome"
    assert [g.symbol for g in default_graph.genes_of_diseases(["OMIM:154700"])["OMIM:154700"]] == ["FBN1"]
    assert "OMIM:154700" in {d.id for d in default_graph.diseases_of_genes(["fbn1"])["fbn1"]}
    modes = {a.term_id for a in default_graph.disease_inheritance(["OMIM:154700"])["OMIM:154700"]}
    assert "HP:0000006" in modes
    by_term = default_graph.diseases_for_terms(["HP:0001166"])["HP:0001166"]
    assert "OMIM:154700" in {a.disease_id for a in by_term}


def test_unknown_keys_are_absent_not_errors(default_graph: EmbeddedGraph) -> None:
    assert default_graph.terms(["HP:9999999"]) == {}
    assert default_graph.diseases(["OMIM:0"]) == {}
    assert default_graph.genes(["NOTAGENE"]) == {}
    assert default_graph.diseases_of_genes(["NOTAGENE"]) == {}
    assert default_graph.information_content(["HP:9999999"]) == {}


def test_information_content_is_monotone_down_the_hierarchy(default_graph: EmbeddedGraph) -> None:
    onto = default_graph.ontology
    ic = onto.ic
    assert ic[onto.position[ROOT_TERM]] == 0.0
    coo = onto.closure.tocoo()  # every (term, ancestor) pair
    assert np.all(ic[coo.row] >= ic[coo.col] - 1e-12)
    info = default_graph.information_content(["HP:0001250", "HP:0001166"])
    assert 0 < info["HP:0001250"] < info["HP:0001166"]


def test_true_path_rule_children_diseases_are_subset_of_parents(default_graph: EmbeddedGraph) -> None:
    onto = default_graph.ontology
    propagated = onto.propagated.tocsc()
    child, parent = onto.position["HP:0002373"], onto.position["HP:0001250"]
    child_diseases = set(propagated[:, child].nonzero()[0])
    parent_diseases = set(propagated[:, parent].nonzero()[0])
    assert child_diseases and child_diseases <= parent_diseases
    # every annotated disease carries the root through propagation
    assert propagated[:, onto.position[ROOT_TERM]].nnz == len(onto.disease_ids)


def test_term_names_cover_labels_and_synonyms_of_current_terms(default_graph: EmbeddedGraph) -> None:
    names = default_graph.term_names()
    seizure = {(text, kind) for tid, text, kind in names if tid == "HP:0001250"}
    assert ("Seizure", "LABEL") in seizure and ("Epilepsy", "RELATED") in seizure
    assert not any(tid == "HP:0000057" for tid, _, _ in names)  # obsolete


def _annotation_rows(frame: pl.DataFrame, aspect: str | None = None) -> list[Annotation]:
    """The table's rows as annotations, read the plain way (a polars row at a time)."""
    return [
        Annotation(disease_id=row["disease_id"], term_id=row["term_id"], negated=bool(row.get("negated")),
                   frequency=row.get("frequency"), frequency_raw=row.get("frequency_raw"),
                   aspect=aspect or row.get("aspect") or "P", onset=row.get("onset"), evidence=row.get("evidence"),
                   references=tuple(row.get("references") or ()), source=row.get("source"), release=row.get("release"))
        for row in frame.iter_rows(named=True)
    ]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_annotation_reads_equal_filtering_the_tables(default_graph: EmbeddedGraph, default_snapshot: Snapshot,
                                                     data: st.DataObject) -> None:
    """The column-coded reads (kg/embedded.py `_SortedRows`) return what filtering the snapshot's tables does."""
    phenotypes = default_snapshot.table("disease_phenotypes")
    inheritance = default_snapshot.table("disease_inheritance")
    diseases = sorted(set(phenotypes["disease_id"].to_list()))
    ids = data.draw(st.lists(st.sampled_from(diseases) | st.just("OMIM:000000"), min_size=1, max_size=6))
    carried = sorted(set(phenotypes.filter(pl.col("disease_id").is_in(ids))["term_id"].to_list())) or ["HP:0000001"]
    terms = data.draw(st.none() | st.lists(st.sampled_from(carried) | st.just("HP:9999999"), max_size=8))

    def by(items: list[Annotation], key: str) -> dict[str, list[Annotation]]:
        grouped: dict[str, list[Annotation]] = {}
        for a in items:
            grouped.setdefault(getattr(a, key), []).append(a)
        return {k: sorted(v, key=repr) for k, v in grouped.items()}

    def canonical(found: dict[str, list[Annotation]]) -> dict[str, list[Annotation]]:
        return {k: sorted(v, key=repr) for k, v in found.items()}

    wanted = phenotypes.filter(pl.col("disease_id").is_in(ids) & (pl.col("term_id").is_in(terms) if terms is not None else True))
    assert canonical(default_graph.disease_phenotypes(ids, terms=terms)) == by(_annotation_rows(wanted), "disease_id")
    picked = carried[:5]
    assert canonical(default_graph.diseases_for_terms(picked)) == by(
        _annotation_rows(phenotypes.filter(pl.col("term_id").is_in(picked))), "term_id")
    assert canonical(default_graph.disease_inheritance(ids)) == by(
        _annotation_rows(inheritance.filter(pl.col("disease_id").is_in(ids)), aspect="I"), "disease_id")
