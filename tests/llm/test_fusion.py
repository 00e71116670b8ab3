"""The gated fusion: the model reorders only what the retrieval evidence cannot tell apart; policy per model."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from raregraph.llm.fusion import DEFAULT, FITTED, FittedFusion, FusionPolicy, gated_order, policy_for, strengths
from raregraph.settings import Settings

RETRIEVAL = [("A", 0.40), ("B", 0.38), ("C", 0.10), ("D", 0.05)]


def _ids(order: list[tuple[str, float]]) -> list[str]:
    return [d for d, _ in order]


def test_the_model_may_promote_only_a_candidate_within_the_margin_of_the_top() -> None:
    # B is within 0.9 of A (0.38 >= 0.36): the model may put it first; C never passes A.
    assert _ids(gated_order(RETRIEVAL, ["B"], FusionPolicy(0.5, 0.9))) == ["B", "A", "C", "D"]
    assert _ids(gated_order(RETRIEVAL, ["B", "A"], FusionPolicy(0.5, 0.9))) == ["A", "B", "C", "D"]  # a tie: retrieval wins
    assert _ids(gated_order(RETRIEVAL, ["C", "D"], FusionPolicy(0.5, 0.9))) == ["A", "B", "C", "D"]
    # below the top pair, C and D are not within 0.9 of each other either: retrieval order holds
    assert _ids(gated_order(RETRIEVAL, ["D", "C", "B"], FusionPolicy(1.0, 0.9))) == ["B", "A", "C", "D"]


def test_margin_zero_is_plain_reciprocal_rank_fusion() -> None:
    order = gated_order(RETRIEVAL, ["C"], FusionPolicy(0.5, 0.0, k=60))
    assert _ids(order) == ["C", "A", "B", "D"]
    assert order[0][1] == 0.5 / 61 + 0.5 / 63


def test_a_disease_the_model_adds_comes_after_every_candidate_under_a_gate() -> None:
    assert _ids(gated_order(RETRIEVAL, ["X", "A"], FusionPolicy(0.9, 0.5))) == ["A", "B", "C", "D", "X"]
    assert _ids(gated_order(RETRIEVAL, ["X"], FusionPolicy(0.9, 0.0)))[0] == "X"


def test_margin_one_lets_the_model_break_exact_ties_only() -> None:
    tied = [("A", 0.3), ("B", 0.3), ("C", 0.29)]
    assert _ids(gated_order(tied, ["B"], FusionPolicy(0.5, 1.0))) == ["B", "A", "C"]
    assert _ids(gated_order(tied, ["C"], FusionPolicy(0.5, 1.0))) == ["A", "B", "C"]


@given(
    probs=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=12),
    picks=st.lists(st.integers(0, 14), max_size=8),
    weight=st.floats(0.0, 1.0), margin=st.floats(0.0, 1.0),
)
def test_every_position_respects_the_gate(probs: list[float], picks: list[int], weight: float, margin: float) -> None:
    probs = sorted(probs, reverse=True)
    retrieval = [(f"D{i}", p) for i, p in enumerate(probs)]
    llm = [f"D{i}" for i in picks]  # indices past the list are diseases the model added
    order = _ids(gated_order(retrieval, llm, FusionPolicy(weight, margin)))
    assert sorted(order) == sorted({*(d for d, _ in retrieval), *llm})
    strength = dict(retrieval)
    for i, d in enumerate(order):
        assert strength.get(d, 0.0) >= margin * max(strength.get(x, 0.0) for x in order[i:])
    if weight == 0.0 or not llm:
        assert order[: len(retrieval)] == [d for d, _ in retrieval]


def test_strength_falls_back_to_the_score_without_a_probability() -> None:
    assert strengths([0.5, None], [-1.0, -2.0]) == [0.5, 2.718281828459045 ** -1]


def _settings(**llm: object) -> Settings:
    return Settings(_env_file=None, **{f"llm_{k}": v for k, v in llm.items()})  # type: ignore[arg-type]


def test_policy_per_model_from_the_table_else_the_default_else_settings() -> None:
    unknown = policy_for("some-new-model", _settings())
    assert (unknown.weight, unknown.margin) == (DEFAULT.weight, DEFAULT.margin) and "default" in unknown.describe()
    for row in FITTED:
        fitted = policy_for(row.pattern.replace("*", "-x").upper(), _settings())
        assert (fitted.weight, fitted.margin) == (row.weight, row.margin) and row.provenance in fitted.source
    override = policy_for("some-new-model", _settings(fusion_margin=0.0))
    assert (override.weight, override.margin) == (DEFAULT.weight, 0.0) and "settings" in override.source
    assert policy_for(None, _settings(fusion_weight=0.2, fusion_k=10)).k == 10


def test_fitted_rows_state_their_provenance() -> None:
    for row in FITTED:
        assert isinstance(row, FittedFusion) and 0 <= row.weight <= 1 and 0 <= row.margin <= 1
        assert "fitted" in row.provenance and "cases" in row.provenance
