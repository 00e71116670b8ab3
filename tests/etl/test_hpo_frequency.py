"""HPO frequency normalisation: classes to ranges, n/m, p%, unknown stays unknown."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from raregraph.etl.sources.hpo_frequency import HPO_FREQUENCY_TERMS, parse_hpo_frequency


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [("HP:0040280", 1.0, 1.0), ("HP:0040281", 0.8, 0.99), ("HP:0040282", 0.3, 0.79),
     ("HP:0040283", 0.05, 0.29), ("HP:0040284", 0.01, 0.04), ("HP:0040285", 0.0, 0.0)],
)
def test_frequency_terms_map_to_their_defined_ranges(text: str, low: float, high: float) -> None:
    freq = parse_hpo_frequency(text)
    assert (freq.low, freq.high) == (low, high)
    assert freq.value is not None and low <= freq.value <= high
    assert freq.excluded == (text == "HP:0040285")


def test_missing_frequency_is_unknown() -> None:
    freq = parse_hpo_frequency("")
    assert (freq.value, freq.low, freq.high, freq.excluded) == (None, None, None, False)


@given(st.integers(min_value=1, max_value=10_000), st.data())
def test_ratio_is_n_over_m(m: int, data: st.DataObject) -> None:
    n = data.draw(st.integers(min_value=0, max_value=m))
    freq = parse_hpo_frequency(f"{n}/{m}")
    assert freq.value == pytest.approx(n / m)
    assert 0.0 <= freq.value <= 1.0
    assert freq.excluded == (n == 0)


@given(st.integers(min_value=0, max_value=100))
def test_percent_is_fraction(p: int) -> None:
    assert parse_hpo_frequency(f"{p}%").value == pytest.approx(p / 100)


@pytest.mark.parametrize("text", ["3/2", "1/0", "101%", "often", "HP:0040286", "-1/3"])
def test_bad_frequencies_raise(text: str) -> None:
    with pytest.raises(ValueError, match="expected"):
        parse_hpo_frequency(text)


@given(st.text(max_size=12))
def test_parser_never_returns_out_of_range(text: str) -> None:
    try:
        freq = parse_hpo_frequency(text)
    except ValueError:
        return
    assert freq.value is None or 0.0 <= freq.value <= 1.0
    assert text.strip() in HPO_FREQUENCY_TERMS or freq.low == freq.high
