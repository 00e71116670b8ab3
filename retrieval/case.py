"""Case resolution: a request's ids, text and variants mapped onto one snapshot, in a constant number of graph reads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from raregraph.errors import InvalidCaseError, ObsoleteTermError, UnknownTermError
from raregraph.kg.graph import KnowledgeGraph
from raregraph.kg.case_reads import TermBrief, case_terms
from raregraph.models import CaseRequest, ExtractionOut, LinkedMentionOut, MentionOut, TermOut, VariantUnderstood
from raregraph.retrieval.engine import RankingEngine
from raregraph.retrieval.linking import TermLinker
from raregraph.retrieval.scoring import CaseVector, VariantHit

__all__ = ["TermPolicy", "STRICT", "LENIENT", "PlacedVariant", "ResolvedCase", "CaseResolver"]


@dataclass(frozen=True)
class TermPolicy:
    """What to do with ids the snapshot does not hold as current terms."""

    unknown: Literal["error", "drop"] = "error"
    obsolete: Literal["error", "replace"] = "error"


STRICT = TermPolicy()
LENIENT = TermPolicy(unknown="drop", obsolete="replace")


@dataclass(frozen=True)
class PlacedVariant:
    """A case variant placed on a gene row of the ranking index."""

    index: int  # position in the request's variant list
    gene_row: int
    zygosity: str | None  # as given (None, "unknown", heterozygous, …)

    def hit(self) -> VariantHit:
        """What the genotype scorer reads: the gene row, and a zygosity only when one is known."""
        return VariantHit(self.gene_row, None if self.zygosity in (None, "unknown") else self.zygosity)


@dataclass(frozen=True)
class ResolvedCase:
    """A case mapped onto the snapshot: current term ids, variants on genes, what was changed or dropped."""

    present: tuple[TermOut, ...]
    excluded: tuple[TermOut, ...]
    variants: tuple[VariantUnderstood, ...] = ()
    warnings: tuple[str, ...] = field(default=())
    text: ExtractionOut | None = None


class CaseResolver:
    """Maps requests onto one snapshot: two graph reads for all of a case's ids, whatever their number."""

    def __init__(self, graph: KnowledgeGraph, engine: RankingEngine, linker: TermLinker) -> None:
        self.graph = graph
        self.engine = engine
        self.linker = linker

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
        given_present = [*request.hpo_present, *(text.present if text else [])]
        given_excluded = [*request.hpo_excluded, *(text.excluded if text else [])]
        lookup = _TermLookup.read(self.graph, [*given_present, *given_excluded])
        present = lookup.current_terms(given_present, policy, warnings)
        excluded = lookup.current_terms(given_excluded, policy, warnings)
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

    def vectors(self, case: ResolvedCase) -> tuple[CaseVector, list[VariantHit], list[PlacedVariant]]:
        """The case as index positions: term vector, variant hits, and each resolved variant's gene row."""
        position = self.engine.index.term_position
        vector = CaseVector(
            tuple(position[t.id] for t in case.present if t.id in position),
            tuple(position[t.id] for t in case.excluded if t.id in position),
        )
        genes = self.engine.gene_lookup
        placed = [PlacedVariant(v.index, genes[v.gene_id], v.zygosity) for v in case.variants if v.resolved and v.gene_id]
        return vector, [p.hit() for p in placed], placed


@dataclass(frozen=True)
class _TermLookup:
    """What the graph says about a case's ids: current id of each, and the records of given and current ids."""

    resolved: Mapping[str, str]
    records: Mapping[str, TermBrief]

    @classmethod
    def read(cls, graph: KnowledgeGraph, ids: Sequence[str]) -> "_TermLookup":
        """One graph read (`kg.case_reads.case_terms`: one round trip on Neo4j): id resolution and the records
        of given and current ids."""
        found = case_terms(graph, ids)
        return cls(found.resolved, found.records)

    def current_terms(self, ids: Sequence[str], policy: TermPolicy, warnings: list[str]) -> list[TermOut]:
        """The current term of each id, in order, once each; unknown and obsolete ids handled by `policy`."""
        unique = list(dict.fromkeys(ids))
        unknown = [i for i in unique if i not in self.resolved and i not in self.records]
        if unknown and policy.unknown == "error":
            raise UnknownTermError(unknown)
        if unknown:
            warnings.append(f"unknown HPO id(s) ignored: {', '.join(unknown)}")
        out: dict[str, TermOut] = {}
        for given in unique:
            current, record = self.resolved.get(given), self.records.get(given)
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
            label = self.records[current].label
            out.setdefault(current, TermOut(id=current, label=label, given_as=given if given != current else None))
        return list(out.values())
