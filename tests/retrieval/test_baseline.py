"""The baseline ranker on the real default snapshot."""

from __future__ import annotations

import numpy as np

from raregraph.kg.embedded import EmbeddedGraph
from raregraph.retrieval.baseline import ResnikRanker


def test_marfan_features_rank_marfan_in_top_ten(default_graph: EmbeddedGraph) -> None:
    ranker = ResnikRanker(default_graph.ontology)
    position = default_graph.ontology.position
    case = ["HP:0001166", "HP:0001083", "HP:0002616", "HP:0000545"]  # arachnodactyly, ectopia lentis, aortic root aneurysm, myopia
    ranked = ranker.rank([position[t] for t in case], top=10)
    assert "OMIM:154700" in [r.disease_id for r in ranked]
    assert [r.score for r in ranked] == sorted((r.score for r in ranked), reverse=True)


def test_scores_are_bounded_by_the_case_ic(default_graph: EmbeddedGraph) -> None:
    onto = default_graph.ontology
    ranker = ResnikRanker(onto)
    case = [onto.position["HP:0001250"], onto.position["HP:0001166"]]
    scores = ranker.scores(case)
    assert scores.shape == (len(onto.disease_ids),)
    assert np.all(scores >= 0)
    assert scores.max() <= onto.ic[case].mean() + 1e-5  # a disease can at best match each term exactly


def test_ranking_is_deterministic_under_ties(default_graph: EmbeddedGraph) -> None:
    ranker = ResnikRanker(default_graph.ontology)
    root_only = [default_graph.ontology.position["HP:0000118"]]  # IC 0: every disease ties
    first = ranker.rank(root_only, top=5)
    assert first == ranker.rank(root_only, top=5)
    assert [r.disease_id for r in first] == sorted(r.disease_id for r in first)
