"""The one ontology index (kg/ontology.py): shared by the embedded graph and ranking, IC per corpus (issue 16)."""

from __future__ import annotations

import numpy as np

from raregraph.etl.snapshot import Snapshot
from raregraph.kg.embedded import EmbeddedGraph
from raregraph.kg.ontology import SnapshotOntology
from raregraph.retrieval.index import RankingIndex


def test_graph_and_ranking_share_one_index_with_ic_per_corpus(default_snapshot: Snapshot) -> None:
    ontology = SnapshotOntology(default_snapshot)
    graph = EmbeddedGraph(default_snapshot, ontology)
    ranking = RankingIndex.build(default_snapshot, unknown_frequency=0.5, databases=("OMIM", "DECIPHER"), ontology=ontology)
    assert graph.ontology is ontology.index  # built once, held by both
    assert ranking.closure is ontology.index.closure and ranking.term_ids == ontology.index.term_ids
    assert np.array_equal(ranking.ic, ontology.index.ic_of(["DECIPHER", "OMIM"]))
    # the ranking corpus is a subset of every annotated disease: the same term is rarer there or as rare
    marfan_term = ontology.index.position["HP:0001166"]
    assert graph.information_content(["HP:0001166"])["HP:0001166"] == ontology.index.ic[marfan_term]
    all_ic, omim_ic = ontology.index.ic, ontology.index.ic_of(["OMIM"])
    assert not np.array_equal(all_ic, omim_ic) and omim_ic[marfan_term] > 0
    cached = RankingIndex.load(default_snapshot, unknown_frequency=0.5, databases=("OMIM", "DECIPHER"))
    assert np.array_equal(cached.ic, ranking.ic) and (cached.closure != ranking.closure).nnz == 0
