"""Orphanet frequency classes (product 4 `HPOFrequency/Name`) as probability ranges and HPO frequency terms.

The number kept for a class is the midpoint of its range, as HPO does for its own frequency
terms: "Very frequent (99-80%)" is 0.80-0.99, point value 0.895. "Excluded (0%)" means the
feature is absent in the disease: loaders keep it as a NOT annotation, never as present.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "ORPHANET_FREQUENCY_CLASSES", "FrequencyClass", "parse_orphanet_frequency",
]


@dataclass(frozen=True)
class FrequencyClass:
    """One Orphanet frequency class: its label, range (fractions in [0, 1]) and HPO frequency term."""

    label: str
    minimum: float
    maximum: float
    hpo_id: str

    @property
    def midpoint(self) -> float:
        """Point value of the class: the middle of its range (0.895 for 80-99%)."""
        return round((self.minimum + self.maximum) / 2, 6)

    @property
    def excluded(self) -> bool:
        """True for "Excluded (0%)": the feature is absent, a NOT annotation."""
        return self.maximum == 0.0


ORPHANET_FREQUENCY_CLASSES: tuple[FrequencyClass, ...] = (
    FrequencyClass("Obligate", 1.0, 1.0, "HP:0040280"),  # "Obligate (100%)"
    FrequencyClass("Very frequent", 0.80, 0.99, "HP:0040281"),  # "Very frequent (99-80%)"
    FrequencyClass("Frequent", 0.30, 0.79, "HP:0040282"),  # "Frequent (79-30%)"
    FrequencyClass("Occasional", 0.05, 0.29, "HP:0040283"),  # "Occasional (29-5%)"
    FrequencyClass("Very rare", 0.01, 0.04, "HP:0040284"),  # "Very rare (<4-1%)"
    FrequencyClass("Excluded", 0.0, 0.0, "HP:0040285"),  # "Excluded (0%)"
)
_BY_LABEL = {cls.label.casefold(): cls for cls in ORPHANET_FREQUENCY_CLASSES}
# "Very frequent (99-80%)", "Very rare (<4-1%)", "Obligate (100%)"; the bounds are optional.
_CLASS = re.compile(r"^\s*(?P<label>[A-Za-z][A-Za-z ]*?)\s*(?:\(\s*<?\s*(?P<a>\d+)\s*(?:-\s*(?P<b>\d+)\s*)?%\s*\))?\s*$")


@lru_cache(maxsize=256)  # a release repeats the same few strings 100 000 times
def parse_orphanet_frequency(text: str) -> FrequencyClass:
    """The class named by an Orphanet frequency string; ValueError if the label or its bounds are unknown.

    >>> parse_orphanet_frequency("Very frequent (99-80%)").midpoint
    0.895
    >>> parse_orphanet_frequency("Excluded (0%)").excluded
    True
    """
    match = _CLASS.match(text)
    cls = _BY_LABEL.get(" ".join(match.group("label").split()).casefold()) if match else None
    if match is None or cls is None:
        raise ValueError(f"unknown Orphanet frequency class {text!r}; expected one of {_expected()}")
    low, high = match.group("a"), match.group("b")
    if low is not None:
        bounds = {int(low), int(high if high is not None else low)}
        if bounds != {round(cls.minimum * 100), round(cls.maximum * 100)}:
            raise ValueError(f"Orphanet frequency class {text!r} has bounds other than {cls.label}'s; expected one of {_expected()}")
    return cls


def _expected() -> str:
    return ", ".join(f"{c.label} ({_percent(c)})" for c in ORPHANET_FREQUENCY_CLASSES)


def _percent(cls: FrequencyClass) -> str:
    high, low = round(cls.maximum * 100), round(cls.minimum * 100)
    return f"{high}%" if high == low else f"{high}-{low}%"
