"""The merged ranking: the model's order fused with retrieval's, gated on the graph evidence, fitted per model.

Rule. Each disease gets the weighted reciprocal-rank fusion score
    fused(d) = w / (k + llm_rank(d)) + (1 - w) / (k + retrieval_rank(d))
(a term is 0 when d is absent from that list). The ranking is then built position by position:
the next disease is the one with the highest fused score among those the *gate* admits, i.e.
whose retrieval evidence is within a margin of the best disease still unplaced:
    strength(d) >= margin * max(strength of the unplaced diseases)
where strength is the retrieval posterior (`probability`; `exp(score - top score)` when a
candidate has none) and 0 for a disease retrieval did not rank. So the model may reorder only
candidates the graph evidence cannot tell apart: margin 1 allows exact ties only, margin 0 is
plain fusion (the model moves the top freely), and a disease the model adds from outside the
candidates comes after every candidate. Ties go to the better retrieval rank, then the better
model rank, then the id.

Why a gate: with a calibrated posterior, promoting a candidate of probability p2 over the top's
p1 costs at most p1 - p2 <= (1 - margin) * p1 of expected top-1 accuracy whatever the model
says, so a margin near 1 bounds what even a useless or adversarial model can take away.

Which (w, margin) a request uses: RAREGRAPH_LLM_FUSION_WEIGHT / RAREGRAPH_LLM_FUSION_MARGIN when
set; else the entry of `FITTED` whose pattern matches the served model name (fitted on dev
cases by benchmarks/fit_llm_fusion.py, with its provenance); else `DEFAULT`, chosen so that no
model, whatever it answers, lowers top-1 on the development cases by more than one point.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from raregraph.models import CandidateOut
from raregraph.llm.models import RankedDiagnosis

if TYPE_CHECKING:
    from raregraph.llm.regrounding import GroundedAnswer
    from raregraph.settings import Settings

__all__ = ["FusionPolicy", "FittedFusion", "FITTED", "DEFAULT", "policy_for", "gated_order", "fuse", "strengths"]


@dataclass(frozen=True)
class FusionPolicy:
    """How the model's order is merged with retrieval's (rule in the module doc)."""

    weight: float  # w: the model's share of the fused score, 0..1
    margin: float  # the gate, 0..1 (1: ties only, 0: no gate)
    k: float = 60.0
    source: str = ""  # where (w, margin) came from

    def describe(self) -> str:
        """The rule as reported in `llm.fusion`."""
        return (f"fused = w/(k + llm_rank) + (1 - w)/(k + retrieval_rank), a missing rank adds 0; "
                f"placed in fused order among diseases whose retrieval probability is >= margin x the best unplaced one's; "
                f"w={self.weight:g}, k={self.k:g}, margin={self.margin:g} ({self.source})")


@dataclass(frozen=True)
class FittedFusion:
    """One row of the per-model table: a served-model pattern, its fitted (w, margin) and their provenance."""

    pattern: str  # fnmatch pattern on the served model name, case-insensitive
    weight: float
    margin: float
    provenance: str  # cases fitted on, date, top-1 gain measured on other cases


# Written from benchmarks/fit_llm_fusion.py's output (README "Measured" has the commands).
FITTED: tuple[FittedFusion, ...] = (
    FittedFusion(
        "smollm2-135m*", weight=0.0, margin=1.0,
        provenance="fitted 2026-12-03 on 15 dev_sample_pv cases (the even ones of benchmarks/llm_e2e.py --cases 30 "
                   "--max-tokens 160 --top-k 3): no (w, margin) of the grid raised top-1 (0.800), so its order is not "
                   "used; on the other 15 cases plain fusion (w=0.5, no gate) lost 6.7 points (0.600 -> 0.533)",
    ),
)

# For a model without a fitted row: the smallest margin whose worst case (a model that promotes a
# wrong candidate wherever the gate lets it) costs at most 1 point of top-1 on every fit population
# (`benchmarks/fit_llm_fusion.py bound`, 2026-12-03: dev_cases P and PV minus dev_sample, 3148 each,
# worst -0.4 / -0.3; RareBench even lines, 167, -0.6). On the report cases (dev_sample P, PV: 607
# each; RareBench odd lines) the worst case is -0.5 / -0.5 / -0.0 and a perfect model gains +1.0 / +0.2 / +1.2.
DEFAULT = FusionPolicy(weight=0.5, margin=0.95, source="default for a model without a fitted entry: whatever the "
                                                         "model says, at most 1 point of top-1 lost on the dev cases")


def policy_for(model: str | None, settings: "Settings") -> FusionPolicy:
    """The fusion a request to `model` uses: settings override, else the model's fitted row, else `DEFAULT`."""
    k = settings.llm_fusion_k
    row = next((r for r in FITTED if model and fnmatch.fnmatch(model.lower(), r.pattern.lower())), None)
    base = (FusionPolicy(row.weight, row.margin, k, f"fitted for {row.pattern}: {row.provenance}") if row is not None
            else FusionPolicy(DEFAULT.weight, DEFAULT.margin, k, DEFAULT.source))
    weight, margin = settings.llm_fusion_weight, settings.llm_fusion_margin
    if weight is None and margin is None:
        return base
    return FusionPolicy(base.weight if weight is None else weight, base.margin if margin is None else margin, k,
                        "RAREGRAPH_LLM_FUSION_WEIGHT/MARGIN settings")


def strengths(probabilities: Sequence[float | None], scores: Sequence[float]) -> list[float]:
    """Retrieval evidence per candidate: the posterior, or exp(score - top score) where there is none."""
    top = max(scores, default=0.0)
    return [p if p is not None else math.exp(s - top) for p, s in zip(probabilities, scores)]


def gated_order(retrieval: Sequence[tuple[str, float]], llm: Sequence[str], policy: FusionPolicy) -> list[tuple[str, float]]:
    """(disease id, fused score) best first, from retrieval's (id, strength) list and the model's ids in order.

    Cost: O(n^2) in the number of distinct diseases (tens).
    """
    retrieval_rank = {d: i for i, (d, _) in enumerate(retrieval, 1)}
    strength = dict(retrieval)
    llm_rank: dict[str, int] = {}
    for d in llm:
        llm_rank.setdefault(d, len(llm_rank) + 1)
    w, k = policy.weight, policy.k

    def fused(d: str) -> float:
        score = w / (k + llm_rank[d]) if d in llm_rank else 0.0
        return score + ((1 - w) / (k + retrieval_rank[d]) if d in retrieval_rank else 0.0)

    inf = float("inf")
    # fused score first, then the tie-breaks of the module doc
    key = lambda d: (-fused(d), retrieval_rank.get(d, inf), llm_rank.get(d, inf), d)  # noqa: E731
    remaining = sorted({*retrieval_rank, *llm_rank}, key=key)
    order: list[tuple[str, float]] = []
    while remaining:
        best = max(strength.get(d, 0.0) for d in remaining)
        floor = policy.margin * best
        pick = next(d for d in remaining if strength.get(d, 0.0) >= floor)
        remaining.remove(pick)
        order.append((pick, fused(pick)))
    return order


def fuse(candidates: Sequence[CandidateOut], grounded: "GroundedAnswer", policy: FusionPolicy) -> list[RankedDiagnosis]:
    """The merged ranking of retrieval candidates and the model's grounded diseases (module doc)."""
    rows: dict[str, RankedDiagnosis] = {}
    for c in candidates:
        rows[c.disease_id] = RankedDiagnosis(
            rank=0, disease_id=c.disease_id, name=c.name, equivalent_ids=list(c.equivalent_ids),
            retrieval_rank=c.rank, retrieval_score=c.score, probability=c.probability,
        )
    for llm_rank, (resolution, item) in enumerate(grounded.ordered, start=1):
        row = rows.get(resolution.disease_id) or RankedDiagnosis(rank=0, disease_id=resolution.disease_id,
                                                                 name=resolution.name)
        rows[resolution.disease_id] = row.model_copy(update={
            "llm_rank": llm_rank, "resolved_by": resolution.resolved_by,
            "confidence": item.confidence if item else None,
            "explains": list(item.explains) if item else [], "contradicts": list(item.contradicts) if item else [],
        })
    ranked = sorted(candidates, key=lambda c: c.rank)
    evidence = strengths([c.probability for c in ranked], [c.score for c in ranked])
    order = gated_order([(c.disease_id, s) for c, s in zip(ranked, evidence)],
                        [r.disease_id for r, _ in grounded.ordered], policy)
    return [rows[d].model_copy(update={"rank": i, "fused_score": round(score, 6)}) for i, (d, score) in enumerate(order, 1)]
