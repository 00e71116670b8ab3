"""Ranking metrics on gold diagnoses: top-k and MRR with ties counted as an expected rank."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

__all__ = ["CaseOutcome", "EvalSummary", "case_outcome", "summarize"]

KS = (1, 3, 10)


@dataclass(frozen=True)
class CaseOutcome:
    """Where the first correct entry landed: its tied block `[first, last]` (1-based), or None if unranked."""

    case_id: str
    first: int | None
    last: int | None

    def hit_at(self, k: int) -> float:
        """Probability that the correct entry is within the top k, over tie orders."""
        if self.first is None or self.last is None or self.first > k:
            return 0.0
        return (min(k, self.last) - self.first + 1) / (self.last - self.first + 1)

    def reciprocal_rank(self) -> float:
        if self.first is None or self.last is None:
            return 0.0
        ranks = range(self.first, self.last + 1)
        return sum(1.0 / r for r in ranks) / len(ranks)


def case_outcome(case_id: str, ranking: Sequence[Mapping[str, object]], gold_ids: Iterable[str]) -> CaseOutcome:
    """Locate the first entry whose `disease_id` or `equivalent_ids` holds a gold id."""
    gold = set(gold_ids)
    for index, entry in enumerate(ranking):
        ids = {str(entry["disease_id"]), *map(str, entry.get("equivalent_ids") or ())}  # type: ignore[arg-type]
        if ids & gold:
            score = entry.get("score")
            same = [i for i, e in enumerate(ranking) if e.get("score") == score]
            return CaseOutcome(case_id, min(same) + 1, max(same) + 1) if score is not None else CaseOutcome(
                case_id, index + 1, index + 1
            )
    return CaseOutcome(case_id, None, None)


@dataclass(frozen=True)
class EvalSummary:
    n_cases: int
    top: dict[int, float]
    mrr: float
    missing: list[str] = field(default_factory=list)  # gold cases with no ranking line

    def to_json(self) -> dict[str, object]:
        return {
            "n_cases": self.n_cases,
            **{f"top{k}": round(v, 4) for k, v in self.top.items()},
            "mrr": round(self.mrr, 4),
            "missing_rankings": len(self.missing),
        }


def summarize(outcomes: Sequence[CaseOutcome], missing: Sequence[str] = ()) -> EvalSummary:
    """Average top-k hit rates and MRR over outcomes (cases without a ranking count as misses)."""
    n = len(outcomes) + len(missing)
    if n == 0:
        return EvalSummary(0, {k: 0.0 for k in KS}, 0.0)
    top = {k: sum(o.hit_at(k) for o in outcomes) / n for k in KS}
    mrr = sum(o.reciprocal_rank() for o in outcomes) / n
    return EvalSummary(n, top, mrr, list(missing))
