"""The diagnosis service: one object that the CLI and the HTTP API both call."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from raregraph.api.models import (
    CandidateOut, CaseRequest, CaseUnderstood, DiagnosisResponse, RankingEntry, RankingLine, TermOut,
)
from raregraph.api.settings import Settings
from raregraph.errors import InvalidCaseError, ObsoleteTermError, SnapshotNotFoundError, UnknownTermError
from raregraph.etl.build import BuildInputs, build_snapshot
from raregraph.etl.locate import default_hpo_dir
from raregraph.etl.snapshot import Snapshot
from raregraph.etl.sources.hpo import find_hpo_files
from raregraph.kg.embedded import EmbeddedGraph
from raregraph.retrieval.baseline import METHOD, ResnikRanker

__all__ = ["DiagnosisService", "build_service", "ensure_snapshot", "ResolvedCase"]



def ensure_snapshot(settings: Settings, progress: Callable[[str], None] | None = None) -> Snapshot:
    """The snapshot the settings name, or the default HPO release's snapshot (built on first use)."""
    if settings.snapshot:
        candidate = Path(settings.snapshot)
        folder = candidate if candidate.is_dir() else settings.snapshot_dir / settings.snapshot
        if not folder.is_dir():
            raise SnapshotNotFoundError(f"snapshot {settings.snapshot!r} not found (looked in {folder})")
        return Snapshot.open(folder)
    source_dir = settings.source_dir or default_hpo_dir()
    return build_snapshot(BuildInputs(find_hpo_files(source_dir)), settings.snapshot_dir, progress=progress)


def build_service(settings: Settings, progress: Callable[[str], None] | None = None) -> "DiagnosisService":
    """Open (building if needed) the snapshot and load the ranking index once."""
    snapshot = ensure_snapshot(settings, progress)
    graph = EmbeddedGraph(snapshot)
    return DiagnosisService(graph, ResnikRanker(graph.ontology))


@dataclass(frozen=True)
class ResolvedCase:
    """Case terms mapped to current HPO ids, with what was changed or dropped."""

    present: tuple[TermOut, ...]
    excluded: tuple[TermOut, ...]
    warnings: tuple[str, ...]


class DiagnosisService:
    """Ranks diseases for a case on one graph snapshot."""

    def __init__(self, graph: EmbeddedGraph, ranker: ResnikRanker) -> None:
        self.graph = graph
        self.ranker = ranker

    @property
    def snapshot_id(self) -> str:
        return self.graph.snapshot_id

    def resolve(self, request: CaseRequest, *, strict: bool) -> ResolvedCase:
        """Map the case's ids to current terms; strict: unknown or obsolete ids raise, else they warn."""
        warnings: list[str] = []
        present = self._resolve_ids(request.hpo_present, strict, warnings)
        excluded = self._resolve_ids(request.hpo_excluded, strict, warnings)
        present_ids = {t.id for t in present}
        clash = [t for t in excluded if t.id in present_ids]
        if clash:
            # Deterministic rule: a term reported both ways counts as present (an observation of
            # the feature outweighs a note of its absence); the conflict is reported.
            warnings.append(
                "term(s) both present and excluded, kept as present: " + ", ".join(sorted(t.id for t in clash))
            )
            excluded = [t for t in excluded if t.id not in present_ids]
        if not present:
            raise InvalidCaseError("nothing to rank on: the case has no (known) present HPO term")
        return ResolvedCase(tuple(present), tuple(excluded), tuple(warnings))

    def _resolve_ids(self, ids: Sequence[str], strict: bool, warnings: list[str]) -> list[TermOut]:
        unique = list(dict.fromkeys(ids))
        resolved = self.graph.resolve_terms(unique)
        records = self.graph.terms(unique)
        unknown = [i for i in unique if i not in resolved and i not in records]
        if unknown and strict:
            raise UnknownTermError(unknown)
        if unknown:
            warnings.append(f"unknown HPO id(s) ignored: {', '.join(unknown)}")
        out: dict[str, TermOut] = {}
        for given in unique:
            current = resolved.get(given)
            record = records.get(given)
            if current is None:
                if record is not None and record.obsolete:  # obsolete with no replacement
                    if strict:
                        raise ObsoleteTermError(given, None, record.consider)
                    warnings.append(f"obsolete HPO id {given} has no replacement; ignored")
                continue
            if current != given:
                if record is not None and record.obsolete and strict:
                    raise ObsoleteTermError(given, current, record.consider)
                warnings.append(f"{given} is {'obsolete' if record else 'an alternative id'}; using {current}")
            label = self.graph.terms([current])[current].label
            out.setdefault(current, TermOut(id=current, label=label, given_as=given if given != current else None))
        return list(out.values())

    def diagnose(self, request: CaseRequest, *, top: int = 10, strict: bool = True) -> DiagnosisResponse:
        """A ranked differential for one case (best first)."""
        case = self.resolve(request, strict=strict)
        position = self.graph.ontology.position
        ranked = self.ranker.rank([position[t.id] for t in case.present], top=top)
        names = self.graph.diseases([r.disease_id for r in ranked])
        candidates = [
            CandidateOut(rank=i, disease_id=r.disease_id, name=names[r.disease_id].name if r.disease_id in names else "",
                         score=round(r.score, 6))
            for i, r in enumerate(ranked, start=1)
        ]
        return DiagnosisResponse(
            snapshot_id=self.snapshot_id, method=METHOD,
            case=CaseUnderstood(present=list(case.present), excluded=list(case.excluded)),
            candidates=candidates, warnings=list(case.warnings),
        )

    def rank_line(self, request: CaseRequest, *, top: int = 100) -> RankingLine:
        """One evaluation output line; ids problems become warnings so one bad case never stops a cohort."""
        case_id = request.id or ""
        try:
            result = self.diagnose(request, top=top, strict=False)
        except InvalidCaseError as err:
            return RankingLine(id=case_id, ranking=[], warnings=[str(err)])
        return RankingLine(
            id=case_id,
            ranking=[RankingEntry(disease_id=c.disease_id, score=c.score) for c in result.candidates],
            warnings=result.warnings,
        )

