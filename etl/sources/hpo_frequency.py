"""HPO frequency values (`HP:0040280`–`HP:0040285`, `n/m`, `p%`) normalised to a number in [0, 1]."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Frequency", "HPO_FREQUENCY_TERMS", "parse_hpo_frequency"]


@dataclass(frozen=True)
class Frequency:
    """A frequency as a point value and the range it stands for; all None when unknown."""

    value: float | None
    low: float | None
    high: float | None
    excluded: bool = False  # "Excluded (0%)": the feature is absent in this disease


# HPO's frequency subontology defines each class by a range; the point value is the midpoint.
HPO_FREQUENCY_TERMS: dict[str, tuple[float, float]] = {
    "HP:0040280": (1.0, 1.0),  # Obligate (100%)
    "HP:0040281": (0.80, 0.99),  # Very frequent (80-99%)
    "HP:0040282": (0.30, 0.79),  # Frequent (30-79%)
    "HP:0040283": (0.05, 0.29),  # Occasional (5-29%)
    "HP:0040284": (0.01, 0.04),  # Very rare (1-4%)
    "HP:0040285": (0.0, 0.0),  # Excluded (0%)
}
_RATIO = re.compile(r"^(\d+)/(\d+)$")
_PERCENT = re.compile(r"^(\d+(?:\.\d+)?)%$")
UNKNOWN = Frequency(None, None, None)


def parse_hpo_frequency(text: str) -> Frequency:
    """Parse an hpoa frequency cell; empty means unknown (never 1.0).

    >>> parse_hpo_frequency("3/4").value
    0.75
    >>> parse_hpo_frequency("HP:0040281")
    Frequency(value=0.895, low=0.8, high=0.99, excluded=False)
    >>> parse_hpo_frequency("").value is None
    True
    """
    text = text.strip()
    if not text:
        return UNKNOWN
    if text in HPO_FREQUENCY_TERMS:
        low, high = HPO_FREQUENCY_TERMS[text]
        return Frequency(round((low + high) / 2, 6), low, high, excluded=text == "HP:0040285")
    if match := _RATIO.match(text):
        n, m = int(match.group(1)), int(match.group(2))
        if m == 0 or n > m:
            raise ValueError(f"expected n/m with 0 < m and n <= m, got {text!r}")
        value = n / m
        return Frequency(value, value, value, excluded=n == 0)
    if match := _PERCENT.match(text):
        value = float(match.group(1)) / 100
        if value > 1:
            raise ValueError(f"expected a percentage between 0% and 100%, got {text!r}")
        return Frequency(value, value, value, excluded=value == 0)
    raise ValueError(f"expected an HPO frequency term HP:0040280-HP:0040285, n/m or p%, got {text!r}")
