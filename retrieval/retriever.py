"""Retrieval for one case: resolution, scoring over the whole disease space, evidence taken from the scorer."""

from __future__ import annotations

from raregraph.errors import InvalidCaseError
from raregraph.etl.snapshot import Snapshot
from raregraph.kg.graph import KnowledgeGraph
from raregraph.kg.ontology import SnapshotOntology
from raregraph.models import (
    CaseRequest, CaseUnderstood, DiagnosisResponse, ExtractionOut, RankingEntry, RankingLine,
)
from raregraph.retrieval.candidates import candidates_out
from raregraph.retrieval.case_evidence import CaseDescriptions, CaseEvidence, CaseSource, ConfirmedCase
from raregraph.retrieval.case import LENIENT, STRICT, CaseResolver, ResolvedCase, TermPolicy
from raregraph.retrieval.embeddings import cache_kind
from raregraph.retrieval.engine import METHOD, EquivalenceGroups, RankingEngine
from raregraph.retrieval.index import RankingIndex, orphanet_only_disorders
from raregraph.retrieval.linking import EmbeddingSettings, TermLinker
from raregraph.retrieval.scoring import ScoringParams
from raregraph.retrieval.prior import DiseasePrior
from raregraph.retrieval.twins import GeneTwins
from raregraph.settings import Settings

__all__ = ["Retriever", "CaseSource", "ConfirmedCase"]  # the two: what api/ hands case evidence


class Retriever:
    """Ranks diseases for a case on one graph snapshot (the retrieval half of the diagnosis pipeline)."""

    def __init__(self, graph: KnowledgeGraph, engine: RankingEngine, linker: TermLinker | None = None,
                 case_evidence: CaseEvidence | None = None) -> None:
        self.graph = graph
        self.engine = engine
        self.linker = linker or TermLinker(graph, EmbeddingSettings(enabled=False))
        self.cases = CaseResolver(graph, engine, self.linker)
        self.case_evidence = case_evidence  # confirmed cases as evidence (RAREGRAPH_CASE_EVIDENCE), else None

    def use_confirmed_cases(self, source: CaseSource, refresh_s: float) -> None:
        """Rank with the confirmed cases `source` holds (read now, re-read when it changes, checked every `refresh_s`)."""
        self.case_evidence = CaseEvidence(source, self.engine.describe_cases, refresh_s)
        self.confirmed()

    def confirmed(self) -> CaseDescriptions | None:
        """The confirmed cases ranking uses now (None: case evidence off, or no case names a ranked disease)."""
        return self.case_evidence.current() if self.case_evidence is not None else None

    @classmethod
    def from_snapshot(cls, graph: KnowledgeGraph, snapshot: Snapshot, settings: Settings,
                      ontology: SnapshotOntology | None = None) -> "Retriever":
        """Ranking index (cached beside the snapshot, built from its `ontology`), equivalence groups, gene twins,
        disease prior and text linker for `graph`."""
        also = orphanet_only_disorders(snapshot) if settings.rank_orphanet_only else ()
        index = RankingIndex.load(snapshot, unknown_frequency=settings.unknown_frequency,
                                  databases=tuple(settings.rank_databases), also=also, ontology=ontology)
        params, groups = ScoringParams(), EquivalenceGroups.from_snapshot(snapshot, index.disease_ids)
        twins = GeneTwins.load(snapshot, index, params, databases=tuple(settings.rank_twin_databases),
                               same_disease=groups.members, ontology=ontology)
        embedding = EmbeddingSettings(
            model=settings.embedding_model, threshold=settings.embedding_threshold,
            cache_dir=snapshot.cache_dir(cache_kind(settings.embedding_model)), enabled=settings.embedding_enabled,
        )
        prior = DiseasePrior.from_snapshot(snapshot, index.disease_ids, groups.members, params, index.also)
        return cls(graph, RankingEngine(index, params, groups, twins, prior), TermLinker(graph, embedding))

    @property
    def snapshot_id(self) -> str:
        return self.graph.snapshot_id

    def information_content(self, term_ids: list[str]) -> dict[str, float]:
        """IC in nats over the ranking corpus (the diseases ranked), as scoring and evidence use it."""
        index = self.engine.index
        return {t: float(index.ic[index.term_position[t]]) for t in term_ids if t in index.term_position}

    def extract(self, text: str) -> ExtractionOut:
        """Phenotype mentions of free text, linked to HPO terms."""
        return self.cases.extract(text)

    def resolve(self, request: CaseRequest, policy: TermPolicy = STRICT) -> ResolvedCase:
        """The case on this snapshot (see `CaseResolver.resolve`)."""
        return self.cases.resolve(request, policy)

    def diagnose(
        self, request: CaseRequest, *, top: int = 10, policy: TermPolicy = STRICT, evidence: bool = True,
        evidence_top: int | None = None,
    ) -> DiagnosisResponse:
        """A ranked differential for one case, best first, each candidate with its evidence.

        `evidence_top` limits evidence to the first candidates (all `top` when None).
        """
        case = self.cases.resolve(request, policy)
        vector, hits, placed = self.cases.vectors(case)
        scored = self.engine.score(vector, hits, self.confirmed())
        ranked = self.engine.rank(scored, top=top)
        explained = (top if evidence_top is None else evidence_top) if evidence else 0
        candidates = candidates_out(self.engine, self.graph, ranked, scored, vector, placed, explained=explained)
        return DiagnosisResponse(
            snapshot_id=self.snapshot_id, method=METHOD,
            case=CaseUnderstood(present=list(case.present), excluded=list(case.excluded), variants=list(case.variants),
                                text=case.text),
            candidates=candidates, warnings=list(case.warnings),
        )

    def rank_line(self, request: CaseRequest, *, top: int = 100) -> RankingLine:
        """One evaluation output line; id problems become warnings so one bad case never stops a cohort."""
        case_id = request.id or ""
        try:
            case = self.cases.resolve(request, LENIENT)
        except InvalidCaseError as err:
            return RankingLine(id=case_id, ranking=[], warnings=[str(err)])
        vector, hits, _ = self.cases.vectors(case)
        ranked = self.engine.rank(self.engine.score(vector, hits, self.confirmed()), top=top)
        return RankingLine(
            id=case_id,
            ranking=[RankingEntry(disease_id=r.disease_id, equivalent_ids=list(r.equivalent_ids), score=round(r.score, 6))
                     for r in ranked],
            warnings=list(case.warnings),
        )
