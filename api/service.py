"""The diagnosis service: one object that the CLI and the HTTP API both call."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import polars as pl

from raregraph.api.evidence_out import candidates_out
from raregraph.models import (
    CaseRequest, CaseUnderstood, DiagnosisResponse, ExtractionOut, LinkedMentionOut, MentionOut, RankingEntry,
    RankingLine, TermOut, VariantUnderstood,
)
from raregraph.settings import Settings
from raregraph.errors import InvalidCaseError, ObsoleteTermError, SnapshotNotFoundError, UnknownTermError
from raregraph.etl.build import BuildInputs, build_snapshot
from raregraph.etl.active import read_active
from raregraph.etl.locate import release_inputs
from raregraph.etl.snapshot import Snapshot
from raregraph.kg.embedded import EmbeddedGraph
from raregraph.kg.graph import KnowledgeGraph
from raregraph.retrieval.engine import METHOD, EquivalenceGroups, RankingEngine
from raregraph.retrieval.embeddings import cache_kind
from raregraph.retrieval.index import RankingIndex
from raregraph.retrieval.linking import EmbeddingSettings, TermLinker
from raregraph.retrieval.scoring import CaseVector, ScoringParams, VariantHit
from raregraph.retrieval.twins import GeneTwins

__all__ = ["DiagnosisService", "build_service", "ensure_snapshot", "ResolvedCase", "TermPolicy"]

Progress = Callable[[str], None]


@dataclass(frozen=True)
class TermPolicy:
    """What to do with ids the snapshot does not hold as current terms."""

    unknown: Literal["error", "drop"] = "error"
    obsolete: Literal["error", "replace"] = "error"


STRICT = TermPolicy()
LENIENT = TermPolicy(unknown="drop", obsolete="replace")


def ensure_snapshot(settings: Settings, progress: Progress | None = None) -> Snapshot:
    """The snapshot the settings name, else the active one, else the release's snapshot (pulled and built on first use)."""
    if settings.snapshot:
        candidate = Path(settings.snapshot)
        folder = candidate if candidate.is_dir() else settings.snapshot_dir / settings.snapshot
        if not folder.is_dir():
            raise SnapshotNotFoundError(f"snapshot {settings.snapshot!r} not found (looked in {folder})")
        return Snapshot.open(folder)
    if settings.source_dir:  # a release folder: HPO files plus any Orphadata/OMIM/ClinVar files found there
        inputs = BuildInputs.discover(settings.source_dir)
    else:
        active = None if settings.release else read_active(settings.snapshot_dir)
        if active:  # switched to by `data refresh` / `data use`
            return Snapshot.open(settings.snapshot_dir / active)
        inputs = release_inputs(settings.release or "latest", settings.release_root, say=progress)
    return build_snapshot(inputs, settings.snapshot_dir, progress=progress)


def build_service(settings: Settings, progress: Progress | None = None) -> "DiagnosisService":
    """Open the graph (embedded, or Neo4j's active snapshot) and load the ranking index once."""
    graph, snapshot = _open_graph(settings, progress)
    if progress:
        progress("loading the ranking index")
    databases = tuple(settings.rank_databases)
    index = RankingIndex.load(snapshot, unknown_frequency=settings.unknown_frequency, databases=databases)
    params, groups = ScoringParams(), _equivalence_groups(snapshot, index)
    twins = GeneTwins.load(snapshot, index, params, databases=tuple(settings.rank_twin_databases), same_disease=groups.members)
    engine = RankingEngine(index, params, groups, twins)
    embedding = EmbeddingSettings(
        model=settings.embedding_model, threshold=settings.embedding_threshold,
        cache_dir=snapshot.cache_dir(cache_kind(settings.embedding_model)), enabled=settings.embedding_enabled,
    )
    return DiagnosisService(graph, engine, TermLinker(graph, embedding))


def _open_graph(settings: Settings, progress: Progress | None) -> tuple[KnowledgeGraph, Snapshot]:
    """The graph the settings select, and the snapshot files its ranking index is built from."""
    if settings.backend == "embedded":
        snapshot = ensure_snapshot(settings, progress)
        return EmbeddedGraph(snapshot), snapshot
    from raregraph.kg.neo4j import Neo4jGraph

    if progress:
        progress(f"connecting to Neo4j at {settings.neo4j_uri}")
    graph = Neo4jGraph.connect(
        settings.neo4j_uri, user=settings.neo4j_user, password=settings.neo4j_password.get_secret_value(),
        database=settings.neo4j_database, snapshot_id=Path(settings.snapshot).name if settings.snapshot else None,
    )
    # The ranking index is built from the same snapshot's Parquet files (each replica holds it in memory).
    folder = settings.snapshot_dir / graph.snapshot_id
    if not folder.is_dir():
        graph.close()
        raise SnapshotNotFoundError(
            f"Neo4j serves snapshot {graph.snapshot_id}, but its files are not under {settings.snapshot_dir}; "
            "the ranking index is built from them (set RAREGRAPH_SNAPSHOT_DIR)"
        )
    return graph, Snapshot.open(folder)


def _equivalence_groups(snapshot: Snapshot, index: RankingIndex) -> EquivalenceGroups:
    xrefs = snapshot.table("disease_xrefs")
    if "mapping_exact" in xrefs.columns and xrefs.height:
        pairs = xrefs.filter(pl.col("mapping_exact").fill_null(False)).select("disease_id", "xref_id").rows()
    else:
        pairs = []
    return EquivalenceGroups.from_pairs(index.disease_ids, pairs)


@dataclass(frozen=True)
class ResolvedCase:
    """A case mapped onto the snapshot: current term ids, variants on genes, what was changed or dropped."""

    present: tuple[TermOut, ...]
    excluded: tuple[TermOut, ...]
    variants: tuple[VariantUnderstood, ...] = ()
    warnings: tuple[str, ...] = field(default=())
    text: ExtractionOut | None = None


class DiagnosisService:
    """Ranks diseases for a case on one graph snapshot."""

    def __init__(self, graph: KnowledgeGraph, engine: RankingEngine, linker: TermLinker | None = None) -> None:
        self.graph = graph
        self.engine = engine
        self.linker = linker or TermLinker(graph, EmbeddingSettings(enabled=False))

    @property
    def snapshot_id(self) -> str:
        return self.graph.snapshot_id

    # --- understanding the case ----------------------------------------------------------------

    def extract(self, text: str) -> ExtractionOut:
        """Phenotype mentions of free text, linked to HPO terms (exact tier, then embeddings)."""
        found = self.linker.extract(text)
        return ExtractionOut(
            linked=[
                LinkedMentionOut(text=t.mention.text, start=t.mention.start, end=t.mention.end,
                                 assertion=t.mention.assertion, term_id=t.term_id, label=t.label, tier=t.tier,
                                 score=round(t.score, 4))
                for t in found.linked
            ],
            unlinked=[MentionOut(text=m.text, start=m.start, end=m.end, assertion=m.assertion) for m in found.unlinked],
            present=found.present_terms(), excluded=found.excluded_terms(),
            uncertain=found.uncertain_terms(), family=found.family_terms(), embedding_status=found.embedding_status,
        )

    def resolve(self, request: CaseRequest, policy: TermPolicy = STRICT) -> ResolvedCase:
        """Map ids to current terms and variants to genes; refuse a case with nothing to rank on."""
        warnings: list[str] = []
        text = self.extract(request.text) if request.text and request.text.strip() else None
        from_text_present = text.present if text else []
        from_text_excluded = text.excluded if text else []
        present = self._resolve_ids([*request.hpo_present, *from_text_present], policy, warnings)
        excluded = self._resolve_ids([*request.hpo_excluded, *from_text_excluded], policy, warnings)
        present_ids = {t.id for t in present}
        clash = sorted(t.id for t in excluded if t.id in present_ids)
        if clash:
            # Deterministic rule: a term reported both ways counts as present (an observation of
            # the feature outweighs a note of its absence); the conflict is reported.
            warnings.append("term(s) both present and excluded, kept as present: " + ", ".join(clash))
            excluded = [t for t in excluded if t.id not in present_ids]
        variants = self._resolve_variants(request, warnings)
        if not present and not any(v.resolved for v in variants):
            raise InvalidCaseError(
                "nothing to rank on: the case has no (known) present HPO term and no variant in a known gene"
            )
        return ResolvedCase(tuple(present), tuple(excluded), tuple(variants), tuple(warnings), text)

    def _resolve_ids(self, ids: Sequence[str], policy: TermPolicy, warnings: list[str]) -> list[TermOut]:
        unique = list(dict.fromkeys(ids))
        resolved = self.graph.resolve_terms(unique)
        records = self.graph.terms(unique)
        unknown = [i for i in unique if i not in resolved and i not in records]
        if unknown and policy.unknown == "error":
            raise UnknownTermError(unknown)
        if unknown:
            warnings.append(f"unknown HPO id(s) ignored: {', '.join(unknown)}")
        out: dict[str, TermOut] = {}
        for given in unique:
            current, record = resolved.get(given), records.get(given)
            obsolete = record is not None and record.obsolete
            if current is None:
                if obsolete:
                    if policy.obsolete == "error":
                        raise ObsoleteTermError(given, None, record.consider)  # type: ignore[union-attr]
                    warnings.append(f"obsolete HPO id {given} has no replacement; ignored")
                continue
            if current != given:
                if obsolete and policy.obsolete == "error":
                    raise ObsoleteTermError(given, current, record.consider)  # type: ignore[union-attr]
                warnings.append(f"{given} is {'obsolete' if obsolete else 'an alternative id'}; using {current}")
            label = self.graph.terms([current])[current].label
            out.setdefault(current, TermOut(id=current, label=label, given_as=given if given != current else None))
        return list(out.values())

    def _resolve_variants(self, request: CaseRequest, warnings: list[str]) -> list[VariantUnderstood]:
        index = self.engine.index
        out = []
        for i, variant in enumerate(request.variants):
            rows = self.engine.gene_rows([variant.hgnc, variant.gene])
            row = next((r for r in rows if r is not None), None)
            if row is None:
                named = variant.gene or variant.hgnc or variant.hgvs_c or variant.label or f"#{i}"
                warnings.append(f"variant {named}: gene not associated with any disease in this snapshot; not scored")
                out.append(VariantUnderstood(index=i, symbol=variant.gene, zygosity=variant.zygosity, resolved=False))
            else:
                out.append(VariantUnderstood(
                    index=i, gene_id=index.gene_ids[row], symbol=index.gene_symbols[row],
                    zygosity=variant.zygosity, resolved=True,
                ))
        return out

    def vectors(self, case: ResolvedCase) -> tuple[CaseVector, list[VariantHit], list[tuple[int, int, str | None]]]:
        """The case as index positions: term vector, variant hits, and (variant index, gene row, zygosity)."""
        position = self.engine.index.term_position
        vector = CaseVector(
            tuple(position[t.id] for t in case.present if t.id in position),
            tuple(position[t.id] for t in case.excluded if t.id in position),
        )
        genes = self.engine.gene_lookup
        placed = [(v.index, genes[v.gene_id], v.zygosity) for v in case.variants if v.resolved and v.gene_id]
        zygosity = lambda z: None if z in (None, "unknown") else z  # noqa: E731
        hits = [VariantHit(row, zygosity(z)) for _, row, z in placed]
        return vector, hits, placed

    # --- ranking -------------------------------------------------------------------------------

    def diagnose(
        self, request: CaseRequest, *, top: int = 10, policy: TermPolicy = STRICT, evidence: bool = True,
        evidence_top: int | None = None,
    ) -> DiagnosisResponse:
        """A ranked differential for one case, best first, each candidate with its evidence.

        `evidence_top` limits evidence to the first candidates (all `top` when None).
        """
        case = self.resolve(request, policy)
        vector, hits, placed = self.vectors(case)
        scored = self.engine.score(vector, hits)
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
            case = self.resolve(request, LENIENT)
        except InvalidCaseError as err:
            return RankingLine(id=case_id, ranking=[], warnings=[str(err)])
        vector, hits, _ = self.vectors(case)
        ranked = self.engine.rank(self.engine.score(vector, hits), top=top)
        return RankingLine(
            id=case_id,
            ranking=[RankingEntry(disease_id=r.disease_id, equivalent_ids=list(r.equivalent_ids), score=round(r.score, 6))
                     for r in ranked],
            warnings=list(case.warnings),
        )
