"""The ranking engine: a case's terms and variants in, every disease scored, groups collapsed, top-k out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from raregraph.etl.merge import connected_ids
from raregraph.etl.snapshot import Snapshot
from raregraph.retrieval.case_evidence import CaseDescriptions, ConfirmedCase
from raregraph.retrieval.index import RankingIndex
from raregraph.retrieval.prior import DiseasePrior
from raregraph.retrieval.scoring import CaseVector, GenotypeScorer, PhenotypeScorer, ScoringParams, VariantHit
from raregraph.retrieval.twins import GeneTwins, TwinMatch

__all__ = ["RankingEngine", "ScoredCase", "Ranked", "EquivalenceGroups", "METHOD"]

METHOD = "raregraph-lr"


@dataclass(frozen=True)
class EquivalenceGroups:
    """Disease ids known to be the same disease (exact cross-references only).

    `members[i]` lists every id of the group of universe disease i (itself first).
    """

    group_of: np.ndarray  # int `(n_diseases,)`: group number of each universe disease
    members: tuple[tuple[str, ...], ...]

    @classmethod
    def singletons(cls, disease_ids: Sequence[str]) -> "EquivalenceGroups":
        return cls(np.arange(len(disease_ids)), tuple((d,) for d in disease_ids))

    @classmethod
    def from_snapshot(cls, snapshot: Snapshot, disease_ids: Sequence[str]) -> "EquivalenceGroups":
        """Groups from the snapshot's exact cross-references (`disease_xrefs.mapping_exact`)."""
        xrefs = snapshot.table("disease_xrefs")
        if "mapping_exact" in xrefs.columns and xrefs.height:
            pairs = xrefs.filter(pl.col("mapping_exact").fill_null(False)).select("disease_id", "xref_id").rows()
        else:
            pairs = []
        return cls.from_pairs(disease_ids, pairs)

    @classmethod
    def from_pairs(cls, disease_ids: Sequence[str], exact_pairs: Sequence[tuple[str, str]]) -> "EquivalenceGroups":
        """Union-find over exact (a, b) id pairs; ids outside the universe still appear as members."""
        root_of = connected_ids(exact_pairs, disease_ids)
        roots: dict[str, list[str]] = {}
        for member, root in root_of.items():
            roots.setdefault(root, []).append(member)
        numbering: dict[str, int] = {}
        group_of = np.array([numbering.setdefault(root_of[d], len(numbering)) for d in disease_ids])
        members = tuple((d, *sorted(m for m in roots[root_of[d]] if m != d)) for d in disease_ids)
        return cls(group_of, members)


@dataclass(frozen=True)
class ScoredCase:
    """Scores of every universe disease for one case, float32 `(n_diseases,)` each, in nats."""

    phenotype: np.ndarray  # summed term evidence (PhenotypeScorer.scores)
    genotype: np.ndarray  # GenotypeScorer.scores
    total: np.ndarray  # logaddexp(phenotype_scale x (phenotype - background), twin) + genotype + prior
    background: np.ndarray | None = None  # what the case's present terms are worth to each disease by chance
    temperature: float = 1.0  # of the softmax that turns `total` into probabilities
    own: np.ndarray | None = None  # phenotype_scale x (phenotype - background): the disease's own description
    twin: np.ndarray | None = None  # best gene-twin component, prior included (-inf: none); None: twins off
    twin_scores: np.ndarray | None = None  # `(n_twins,)` each twin's own evidence, for the explanation
    prior_scale: float = 1.0  # share of the disease prior in `total` (ScoringParams.prior_weight_variants with variants)
    cases: CaseDescriptions | None = None  # the confirmed cases scored with (RAREGRAPH_CASE_EVIDENCE)
    case_share: np.ndarray | None = None  # `(len(cases.rows),)`: fraction of each described disease's phenotype likelihood its cases supply
    variants: bool = False  # scored with candidate variants (the twin links and weights of that track)

    def twin_share(self, row: int) -> float:
        """Fraction of disease `row`'s phenotype likelihood its gene twin supplies (0 without one)."""
        if self.twin is None or self.own is None or not np.isfinite(self.twin[row]):
            return 0.0
        return float(1.0 / (1.0 + np.exp(float(self.own[row]) - float(self.twin[row]))))


@dataclass(frozen=True)
class Ranked:
    """One collapsed candidate: its best-scoring member and the group's other ids."""

    row: int  # universe row of the representative disease
    disease_id: str
    equivalent_ids: tuple[str, ...]
    score: float
    probability: float


class RankingEngine:
    """Scores the whole disease space for a case with array operations, then keeps the top k."""

    def __init__(
        self,
        index: RankingIndex,
        params: ScoringParams,
        groups: EquivalenceGroups | None = None,
        twins: GeneTwins | None = None,
        prior: DiseasePrior | None = None,
    ) -> None:
        self.index = index
        self.prior = prior or DiseasePrior.uniform(len(index.disease_ids))
        self.params = params
        self.groups = groups or EquivalenceGroups.singletons(index.disease_ids)
        self.genotype = GenotypeScorer(index, params)
        self.twins = twins
        # With twins, the universe and its twins are scored in one pass over the case's terms (rows
        # [:n] then the twins): the per-term work is a few numpy calls whatever the row count, so one
        # stacked scorer costs little more than the universe's alone, and one set of matrices is kept.
        scored = index if twins is None else index.stacked_with(twins.index)
        blocks = () if twins is None else (len(index.disease_ids), len(twins.index.disease_ids))
        sampled = None
        if index.also:  # the chance level stays over the index's databases (see PhenotypeScorer)
            added = set(index.also)
            sampled = np.ones(len(scored.disease_ids), dtype=bool)  # the twins' block keeps all of its own
            sampled[: len(index.disease_ids)] = [d not in added for d in index.disease_ids]
        self.phenotype = PhenotypeScorer(scored, params, blocks, sampled)
        self.phenotype.background  # noqa: B018 - computed now (~0.3 s per block, once per engine) rather than on the first case
        self.gene_lookup = index.gene_position()  # gene row by id and by upper-case symbol

    @property
    def background(self) -> np.ndarray:
        """float32 `(n_diseases,)`: what one present term is worth to each universe disease by chance."""
        return self.phenotype.background[: len(self.index.disease_ids)]

    def gene_rows(self, keys: Sequence[str | None]) -> list[int | None]:
        """Index rows of genes given by HGNC id, NCBIGene id or symbol (None where unknown)."""
        return [self.gene_lookup.get(k) or self.gene_lookup.get(k.upper()) if k else None for k in keys]

    def score(self, case: CaseVector, variants: Sequence[VariantHit] = (),
              cases: CaseDescriptions | None = None) -> ScoredCase:
        """Phenotype and genotype evidence for every disease, combined on one log scale.

        own = phenotype_scale x (phenotype - w x n_present x background), w being
        `background_weight_variants` when the case has variants and `background_weight` otherwise;
        with gene twins, total = logaddexp(own, log(twin_weight) + twin) + genotype + prior, else
        own + genotype + prior, the prior scaled by `prior_weight_variants` when the case has variants (see ScoringParams, retrieval/twins.py, retrieval/prior.py and README
        "How ranking works"). With confirmed `cases`, each disease they describe gets their description as
        one more component: logaddexp(mixed, case_component) (retrieval/case_evidence.py).
        """
        n = len(self.index.disease_ids)
        params = self.params
        twin_weight = params.twin_weight_variants if variants else params.twin_weight
        if case.present or case.excluded:
            stacked = self.phenotype.scores(case)
        else:
            stacked = np.zeros(len(self.phenotype.index.disease_ids), np.float32)
        weight = params.background_weight_variants if variants else params.background_weight
        chance = (weight * len(case.present)) * self.phenotype.background  # zero without present terms
        phenotype, background = stacked[:n], chance[:n]
        genotype = self.genotype.scores(variants) if variants else np.zeros(n, np.float32)
        own = params.phenotype_scale * (phenotype - background)
        mixed, twin, twin_scores = own, None, None
        if self.twins is not None and twin_weight > 0 and (case.present or case.excluded):
            twin, twin_scores = self.twins.mix(stacked[n:].astype(np.float64) - chance[n:], bool(variants))
            twin += np.log(twin_weight)
            mixed = np.logaddexp(own, twin)
        case_share = None
        if cases is not None and case.present:  # the confirmed cases' description: one more component
            component = cases.component(case, weight, params)
            mixed = np.array(mixed, dtype=np.float64)
            together = np.logaddexp(mixed[cases.rows], component)
            mixed[cases.rows] = together
            case_share = np.exp(component - together)
        prior_scale = params.prior_weight_variants if variants else 1.0
        total = mixed + genotype + self.prior.scored(prior_scale)
        temperature = params.temperature(len(case.present), bool(variants))
        return ScoredCase(phenotype, genotype, total.astype(np.float32), background.astype(np.float32), temperature,
                          own, twin, twin_scores, prior_scale, cases, case_share, bool(variants))

    def rows_by_id(self) -> dict[str, int]:
        """Universe row of every disease id a universe disease is known by (an equivalent: its group's first row)."""
        row_of = {ids[0]: row for row, ids in enumerate(self.groups.members)}
        for row, ids in enumerate(self.groups.members):
            for other in ids[1:]:
                row_of.setdefault(other, row)
        return row_of

    def describe_cases(self, confirmed: Sequence[ConfirmedCase]) -> CaseDescriptions | None:
        """The confirmed cases as descriptions of the universe diseases they name (by any id of its group)."""
        return CaseDescriptions.build(self.phenotype, len(self.index.disease_ids), self.rows_by_id(), confirmed)

    def twin_of(self, scored: ScoredCase, row: int) -> TwinMatch | None:
        """The gene twin that contributed to universe disease `row` for this case, or None."""
        if self.twins is None or scored.twin_scores is None or not np.isfinite(scored.twin[row]):
            return None
        return self.twins.best(row, scored.twin_scores, scored.twin_share(row), scored.variants)

    def rank(self, scored: ScoredCase, *, top: int) -> list[Ranked]:
        """Top `top` groups, best first (ties by id), with a probability from a softmax over all groups."""
        total = scored.total.astype(np.float64)
        picked = self._top_rows(total, top)
        probability = self.group_probabilities(total, scored.temperature)
        return [
            Ranked(row=r, disease_id=self.index.disease_ids[r], equivalent_ids=self.groups.members[r][1:],
                   score=float(total[r]), probability=float(probability[self.groups.group_of[r]]))
            for r in picked
        ]

    def _top_rows(self, total: np.ndarray, top: int) -> list[int]:
        """Rows of the best member of the `top` best groups; only a partition of the scores is sorted."""
        n = len(total)
        want = min(n, top)
        while True:
            k = min(n, 2 * want + 16)
            part = np.argpartition(-total, k - 1)[:k] if k < n else np.arange(n)
            cut = total[part].min()
            part = np.flatnonzero(total >= cut)  # every row tied at the cut competes on id order
            order = sorted(part.tolist(), key=lambda r: (-total[r], self.index.disease_ids[r]))
            seen: set[int] = set()
            picked = []
            for row in order:
                group = int(self.groups.group_of[row])
                if group not in seen:
                    seen.add(group)
                    picked.append(row)
                    if len(picked) == top:
                        return picked
            if k == n:
                return picked
            want = 2 * want

    def group_probabilities(self, total: np.ndarray, temperature: float = 1.0) -> np.ndarray:
        """Posterior over groups: softmax of each group's best score (disease prior included) / temperature."""
        n_groups = int(self.groups.group_of.max()) + 1 if len(total) else 0
        best = np.full(n_groups, -np.inf)
        np.maximum.at(best, self.groups.group_of, total)
        best -= best.max()
        weights = np.exp(best / temperature)
        return weights / weights.sum()
