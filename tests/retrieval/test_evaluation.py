"""Metrics: ties count as an expected rank over the tied block."""

from __future__ import annotations

import pytest

from raregraph.retrieval.evaluation import case_outcome, summarize


def _ranking(*scores: float) -> list[dict[str, object]]:
    return [{"disease_id": f"OMIM:{i}", "score": s} for i, s in enumerate(scores)]


def test_clear_first_place() -> None:
    outcome = case_outcome("c", _ranking(3, 2, 1), ["OMIM:0"])
    assert outcome.hit_at(1) == 1.0 and outcome.reciprocal_rank() == 1.0


def test_tie_at_the_top_is_shared() -> None:
    outcome = case_outcome("c", _ranking(2, 2, 1), ["OMIM:1"])
    assert (outcome.first, outcome.last) == (1, 2)
    assert outcome.hit_at(1) == 0.5
    assert outcome.reciprocal_rank() == pytest.approx((1 + 1 / 2) / 2)


def test_equivalent_ids_count_and_misses_count_as_zero() -> None:
    ranking = [{"disease_id": "ORPHA:558", "equivalent_ids": ["OMIM:154700"], "score": 1.0}]
    assert case_outcome("c", ranking, ["OMIM:154700"]).hit_at(1) == 1.0
    miss = case_outcome("d", ranking, ["OMIM:1"])
    summary = summarize([case_outcome("c", ranking, ["OMIM:154700"]), miss], missing=["e"])
    assert summary.n_cases == 3
    assert summary.top[1] == pytest.approx(1 / 3)
