"""How likely each disease is before any phenotype is seen: a log prior from two facts the snapshot holds.

No registry package ships Orphanet's point prevalence (Orphadata product 9 prevalence), so the prior
uses two proxies for how often a disease is met, each read from a release file of the snapshot:

- publications: distinct PubMed ids its phenotype annotations cite (HPO `phenotype.hpoa`); a disease
  reported by many groups is met more often than one known from a single family;
- a clinical code: the disease, or an Orphanet entry cross-referencing it, has an exact MedDRA term
  (Orphadata product 1). MedDRA codes what clinicians and regulators report, so a disease with its
  own term is seen in practice (phenylketonuria has one; the tetrahydrobiopterin deficiencies that
  mimic it do not).

log prior = literature_prior x log(1 + publications) + coded_prior x [clinical code]; the weights are
fitted on both development populations at once (README "How ranking works").

A third term is the candidate's source: an Orphanet-only disorder (RAREGRAPH_RANK_ORPHANET_ONLY: no OMIM
entry) gets orphanet_only_prior, with or without variants. Its annotations cite Orphanet, not papers, and in
both development populations few diagnoses are such disorders (none in phenopacket-store, 4 of 334 RareBench
dev patients) while they are 2,558 of the candidates; the offset is fitted on both (benchmarks/fit_ranking.py
--orphanet-only).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from raregraph.etl.snapshot import Snapshot
from raregraph.retrieval.scoring import ScoringParams

__all__ = ["DiseasePrior", "PriorFacts", "CLINICAL_CODE_DATABASE"]

CLINICAL_CODE_DATABASE = "MedDRA"
_PUBMED = "PMID:"


@dataclass(frozen=True)
class PriorFacts:
    """The prior of one disease and the facts behind it, with the source and release of each."""

    log_prior: float  # nats added to the disease's score
    publications: int
    publications_source: tuple[str | None, str | None]  # (source, release) of the annotations counted
    clinical_code: str | None  # e.g. MEDDRA:10034872
    coded_by: str | None  # the disease id whose cross-reference carries the code (itself or an Orphanet entry)
    code_source: tuple[str | None, str | None]


@dataclass(frozen=True)
class DiseasePrior:
    """Per universe disease: its log prior (float32 `(n,)`, nats) and the facts it is made of."""

    log_prior: np.ndarray
    publications: np.ndarray  # int32 `(n,)`
    clinical_code: tuple[str | None, ...]
    coded_by: tuple[str | None, ...]
    publications_source: tuple[str | None, str | None] = (None, None)
    code_source: tuple[str | None, str | None] = (None, None)
    # float32 `(n,)` nats added whether or not the case has variants: orphanet_only_prior on the Orphanet-only
    # candidates (RankingIndex.also), else 0; None: zeros
    source: np.ndarray | None = None

    @classmethod
    def from_snapshot(cls, snapshot: Snapshot, disease_ids: Sequence[str], same_disease: Sequence[Sequence[str]],
                      params: ScoringParams, added: Collection[str] = ()) -> "DiseasePrior":
        """The prior of each universe disease; same_disease[i] lists the ids disease i is known to be, `added` the
        Orphanet-only candidates (RankingIndex.also)."""
        return cls.from_tables(snapshot.table("disease_phenotypes"), snapshot.table("disease_xrefs"),
                               disease_ids, same_disease, params, added)

    @classmethod
    def from_tables(cls, phenotypes: pl.DataFrame, xrefs: pl.DataFrame, disease_ids: Sequence[str],
                    same_disease: Sequence[Sequence[str]], params: ScoringParams,
                    added: Collection[str] = ()) -> "DiseasePrior":
        """As `from_snapshot`, from the `disease_phenotypes` and `disease_xrefs` tables."""
        publications, publications_source = _publications(phenotypes)
        codes, related, code_source = _clinical_codes(xrefs)
        counts = np.array([publications.get(d, 0) for d in disease_ids], dtype=np.int32)
        found = [_code_of(ids, codes, related) for ids in same_disease]
        coded = np.array([code is not None for code, _ in found], dtype=np.float64)
        log_prior = params.literature_prior * np.log1p(counts) + params.coded_prior * coded
        source = None
        if added:
            extra = set(added)
            source = np.array([params.orphanet_only_prior if d in extra else 0.0 for d in disease_ids], dtype=np.float32)
        return cls(log_prior.astype(np.float32), counts, tuple(c for c, _ in found), tuple(b for _, b in found),
                   publications_source, code_source, source)

    @classmethod
    def uniform(cls, n: int) -> "DiseasePrior":
        """No prior: every disease alike."""
        return cls(np.zeros(n, np.float32), np.zeros(n, np.int32), (None,) * n, (None,) * n)

    def scored(self, scale: float) -> np.ndarray:
        """float32 `(n,)`: the nats a case's score takes (`scale`: ScoredCase.prior_scale, 0 with variants)."""
        scaled = scale * self.log_prior if scale != 1.0 else self.log_prior
        return scaled if self.source is None else scaled + self.source

    def facts(self, row: int, scale: float = 1.0) -> PriorFacts:
        """Disease `row`'s prior as a case's score took it (`scale`: ScoredCase.prior_scale) and its facts."""
        source = 0.0 if self.source is None else float(self.source[row])
        return PriorFacts(round(scale * float(self.log_prior[row]) + source, 4), int(self.publications[row]),
                          self.publications_source, self.clinical_code[row], self.coded_by[row], self.code_source)


def _publications(phenotypes: pl.DataFrame) -> tuple[dict[str, int], tuple[str | None, str | None]]:
    """Distinct PubMed ids cited by each disease's (non-NOT) phenotype annotations, and their source."""
    if not phenotypes.height:
        return {}, (None, None)
    cited = (
        phenotypes.filter(~pl.col("negated").fill_null(False))
        .select("disease_id", "references", "source", "release")
        .explode("references")
        .filter(pl.col("references").str.starts_with(_PUBMED))
    )
    counts = dict(cited.select("disease_id", "references").unique().group_by("disease_id").len().iter_rows())
    return counts, _main_source(cited)


def _clinical_codes(xrefs: pl.DataFrame) -> tuple[dict[str, str], dict[str, set[str]], tuple[str | None, str | None]]:
    """(disease id → its exact clinical code, other id → the Orphanet entries cross-referencing it, source)."""
    if not xrefs.height:
        return {}, {}, (None, None)
    exact = xrefs.filter((pl.col("xref_database") == CLINICAL_CODE_DATABASE) & (pl.col("mapping_relation") == "E"))
    codes: dict[str, str] = {}
    for disease, code in exact.select("disease_id", "xref_id").sort("disease_id", "xref_id").iter_rows():
        codes.setdefault(disease, code)
    # Any mapping relation: an Orphanet entry narrower or broader than an OMIM entry is still the clinical
    # entity a clinician codes when meeting that OMIM disease.
    related: dict[str, set[str]] = {}
    orphanet = xrefs.filter(pl.col("disease_id").str.starts_with("ORPHA:") & (pl.col("xref_database") == "OMIM"))
    for disease, target in orphanet.select("disease_id", "xref_id").iter_rows():
        related.setdefault(target, set()).add(disease)
    return codes, related, _main_source(exact)


def _code_of(ids: Sequence[str], codes: dict[str, str], related: dict[str, set[str]]) -> tuple[str | None, str | None]:
    """The clinical code of a disease known by `ids`: its own, an equivalent's, or a cross-referencing entry's."""
    carriers = list(ids) + sorted({o for d in ids for o in related.get(d, ())})
    for carrier in carriers:
        if carrier in codes:
            return codes[carrier], carrier
    return None, None


def _main_source(rows: pl.DataFrame) -> tuple[str | None, str | None]:
    """The (source, release) most rows came from."""
    if not rows.height:
        return None, None
    top = rows.group_by("source", "release").len().sort("len", "source", descending=[True, False]).row(0)
    return top[0], top[1]
