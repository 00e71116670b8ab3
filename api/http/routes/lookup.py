"""GET /v1/terms/{curie}, /v1/diseases/{curie}, /v1/genes/{key}, /v1/search: the graph, read one entity at a time."""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from raregraph.api.http.deps import RuntimeDep, ServiceDep
from raregraph.api.http.problems import Suggestion, UnknownIdError
from raregraph.retrieval.retriever import Retriever
from raregraph.errors import ObsoleteTermError
from raregraph.kg.model import Annotation, Disease

__all__ = [
    "router", "normalise_hpo_id", "normalise_disease_id", "TermBrief", "TermDetail", "DiseaseDetail", "GeneDetail",
    "SearchResult",
]

router = APIRouter(prefix="/v1", tags=["lookup"])

_HPO = re.compile(r"^(?:HP[:_ ]?)?(\d{1,7})$", re.IGNORECASE)
_DISEASE = re.compile(r"^(OMIM|MIM|ORPHA|ORPHANET|DECIPHER|MONDO)[:_ ]?(\d+)$", re.IGNORECASE)
_PREFIX = {"MIM": "OMIM", "ORPHANET": "ORPHA"}
_MAX_SUGGESTIONS = 5

TermCurie = Annotated[str, Path(min_length=1, max_length=100, description="An HPO id (alternative ids resolve)",
                                examples=["HP:0001250"])]
DiseaseCurie = Annotated[str, Path(min_length=1, max_length=100, description="OMIM, ORPHA, MONDO or DECIPHER id",
                                   examples=["OMIM:154700"])]


def normalise_hpo_id(text: str) -> str | None:
    """An HPO id in canonical form, or None when `text` cannot be one.

    >>> normalise_hpo_id("hp_1250"), normalise_hpo_id("HP:0001250"), normalise_hpo_id("0001250"), normalise_hpo_id("x")
    ('HP:0001250', 'HP:0001250', 'HP:0001250', None)
    """
    match = _HPO.match(text.strip())
    return f"HP:{int(match.group(1)):07d}" if match else None


def normalise_disease_id(text: str) -> str | None:
    """A disease CURIE with the usual prefix spelling, or None when `text` is not one.

    >>> normalise_disease_id("mim:154700"), normalise_disease_id("Orphanet_558"), normalise_disease_id("Marfan")
    ('OMIM:154700', 'ORPHA:558', None)
    """
    match = _DISEASE.match(text.strip())
    if not match:
        return None
    prefix = match.group(1).upper()
    return f"{_PREFIX.get(prefix, prefix)}:{match.group(2)}"


# --- models -------------------------------------------------------------------------------------


class TermBrief(BaseModel):
    id: str
    label: str


class SynonymOut(BaseModel):
    text: str
    scope: str = Field(description="EXACT | RELATED | BROAD | NARROW")


class TermDetail(BaseModel):
    id: str
    label: str
    requested_id: str | None = Field(None, description="The id asked for, when it was an alternative id of this term")
    definition: str | None = None
    synonyms: list[SynonymOut] = Field(default_factory=list)
    alt_ids: list[str] = Field(default_factory=list)
    xrefs: list[str] = Field(default_factory=list)
    parents: list[TermBrief] = Field(default_factory=list)
    information_content: float | None = Field(
        None, description="-ln(share of diseases annotated), nats, over every annotated disease of the snapshot")
    ranking_information_content: float | None = Field(
        None, description="The same over the ranking corpus (RAREGRAPH_RANK_DATABASES): the IC that ranking and "
                          "`evidence.matched[].ic` of /v1/diagnose use (one ontology index, IC per corpus)")
    source: str | None = None
    release: str | None = None


class PhenotypeAnnotationOut(BaseModel):
    term_id: str
    label: str | None
    negated: bool = Field(description="A NOT annotation: the disease is known not to show it")
    frequency: float | None = Field(None, description="0-1; None when the source gives none")
    frequency_raw: str | None = None
    onset: str | None = None
    evidence: str | None = None
    references: list[str] = Field(default_factory=list)
    source: str | None = None
    release: str | None = None


class GeneBrief(BaseModel):
    id: str
    symbol: str
    hgnc_id: str | None = None
    ncbi_gene_id: str | None = None


class CrossReference(BaseModel):
    id: str
    relation: str | None = Field(None, description="Orphanet mapping relation (E exact, NTBT, BTNT, …); None for exact groups")
    exact: bool


class SourceOut(BaseModel):
    source: str | None
    release: str | None


class DiseaseDetail(BaseModel):
    id: str
    name: str
    database: str
    requested_id: str | None = Field(None, description="The id asked for, when it was an equivalent id")
    equivalent_ids: list[str] = Field(default_factory=list, description="Ids of the same disease (exact mappings)")
    phenotypes: list[PhenotypeAnnotationOut] = Field(default_factory=list)
    inheritance: list[TermBrief] = Field(default_factory=list)
    genes: list[GeneBrief] = Field(default_factory=list)
    cross_references: list[CrossReference] = Field(default_factory=list)
    sources: list[SourceOut] = Field(default_factory=list, description="Releases the facts above come from")


class DiseaseBrief(BaseModel):
    id: str
    name: str
    database: str


class GeneDetail(GeneBrief):
    requested_id: str | None = Field(None, description="The key asked for, when it was not the gene id")
    diseases: list[DiseaseBrief] = Field(default_factory=list)
    clinvar_variants: int = Field(0, description="ClinVar variants of the gene in the snapshot")
    source: str | None = None
    release: str | None = None


class SearchHitOut(BaseModel):
    kind: Literal["term", "disease"]
    id: str
    name: str
    matched: str = Field(description="The label, name or synonym that matched best")
    exact: bool
    score: float


class SearchResult(BaseModel):
    query: str
    count: int
    hits: list[SearchHitOut]


# --- terms --------------------------------------------------------------------------------------


def _term(service: Retriever, curie: str) -> TermDetail:
    graph = service.graph
    given = curie.strip()
    key = normalise_hpo_id(given) or given
    record = graph.terms([key]).get(key)
    if record is not None and record.obsolete:
        raise ObsoleteTermError(key, graph.resolve_terms([key]).get(key), record.consider)
    if record is None:
        current = graph.resolve_terms([key]).get(key)
        record = graph.terms([current]).get(current) if current else None
    if record is None:
        suggestions = [Suggestion(id=h.id, label=h.name, reason="similar") for h in _search(service, given, 3, "term")]
        raise UnknownIdError(f"no HPO term {given!r} in snapshot {service.snapshot_id}", field="path.curie",
                             suggestions=suggestions)
    parents = graph.terms(list(record.parents))
    return TermDetail(
        id=record.id, label=record.label, requested_id=given if given != record.id else None,
        definition=record.definition, synonyms=[SynonymOut(text=s.text, scope=s.scope) for s in record.synonyms],
        alt_ids=list(record.alt_ids), xrefs=list(record.xrefs),
        parents=[TermBrief(id=p, label=parents[p].label) for p in record.parents if p in parents],
        information_content=graph.information_content([record.id]).get(record.id),
        ranking_information_content=service.information_content([record.id]).get(record.id),
        source=record.source, release=record.release,
    )


@router.get("/terms/{curie}", response_model=TermDetail, summary="An HPO term (alternative ids resolve; obsolete ids give 422)")
async def get_term(curie: TermCurie, service: ServiceDep, runtime: RuntimeDep) -> TermDetail:
    return await runtime.run(_term, service, curie)


# --- diseases -----------------------------------------------------------------------------------


class _DiseaseIndex:
    """Equivalent ids of every disease (exact groups of the ranking universe, and the snapshot's xrefs)."""

    def __init__(self, service: Retriever) -> None:
        self.equivalents: dict[str, tuple[str, ...]] = {}
        for members in service.engine.groups.members:
            for member in members:
                known = self.equivalents.get(member, ())
                self.equivalents[member] = tuple(dict.fromkeys((*known, *members)))
        self.xrefs: dict[str, list[CrossReference]] = defaultdict(list)
        self.referred: dict[str, list[str]] = defaultdict(list)  # xref id -> diseases mapped to it exactly
        snapshot = getattr(service.graph, "snapshot", None)  # the embedded graph reads its snapshot's tables
        if snapshot is not None:
            table = snapshot.table("disease_xrefs")
            for disease_id, xref_id, relation, exact in table.select(
                "disease_id", "xref_id", "mapping_relation", "mapping_exact"
            ).iter_rows():
                self.xrefs[disease_id].append(CrossReference(id=xref_id, relation=relation, exact=bool(exact)))
                if exact:
                    self.referred[xref_id].append(disease_id)


def _find_disease(service: Retriever, index: _DiseaseIndex, given: str) -> Disease:
    graph = service.graph
    key = normalise_disease_id(given) or given
    candidates = [key, *index.equivalents.get(key, ()), *index.referred.get(key, ())]
    for candidate in candidates:
        found = graph.diseases([candidate]).get(candidate)
        if found is not None:
            return found
    suggestions: list[Suggestion] = []
    number = re.fullmatch(r"\d+", given.strip())
    if number:  # a bare number: the databases that have it
        ids = [f"{prefix}:{given.strip()}" for prefix in ("OMIM", "ORPHA", "DECIPHER")]
        suggestions = [Suggestion(id=d.id, label=d.name, reason="normalised") for d in graph.diseases(ids).values()]
    elif normalise_disease_id(given) is None:
        suggestions = [Suggestion(id=h.id, label=h.name, reason="similar") for h in _search(service, given, 5, "disease")]
    raise UnknownIdError(f"no disease {given!r} in snapshot {service.snapshot_id}", field="path.curie",
                         suggestions=suggestions)


def _disease(service: Retriever, index: _DiseaseIndex, curie: str) -> DiseaseDetail:
    graph = service.graph
    given = curie.strip()
    disease = _find_disease(service, index, given)
    annotations: list[Annotation] = graph.disease_phenotypes([disease.id]).get(disease.id, [])
    inheritance = graph.disease_inheritance([disease.id]).get(disease.id, [])
    labels = {k: t.label for k, t in graph.terms([a.term_id for a in (*annotations, *inheritance)]).items()}
    genes = graph.genes_of_diseases([disease.id]).get(disease.id, [])
    equivalent = [i for i in index.equivalents.get(disease.id, ()) if i != disease.id]
    xrefs = list(index.xrefs.get(disease.id, ()))
    listed = {x.id for x in xrefs}
    xrefs += [CrossReference(id=i, relation=None, exact=True) for i in equivalent if i not in listed]
    sources = {(disease.source, disease.release)}
    sources |= {(a.source, a.release) for a in (*annotations, *inheritance)} | {(g.source, g.release) for g in genes}
    return DiseaseDetail(
        id=disease.id, name=disease.name, database=disease.database,
        requested_id=given if given != disease.id else None, equivalent_ids=equivalent,
        phenotypes=[
            PhenotypeAnnotationOut(
                term_id=a.term_id, label=labels.get(a.term_id), negated=a.negated, frequency=a.frequency,
                frequency_raw=a.frequency_raw, onset=a.onset, evidence=a.evidence, references=list(a.references),
                source=a.source, release=a.release,
            )
            for a in annotations
        ],
        inheritance=[TermBrief(id=a.term_id, label=labels.get(a.term_id, a.term_id)) for a in inheritance],
        genes=[GeneBrief(id=g.id, symbol=g.symbol, hgnc_id=g.hgnc_id, ncbi_gene_id=g.ncbi_gene_id) for g in genes],
        cross_references=xrefs,
        sources=[SourceOut(source=s, release=r) for s, r in sorted(sources, key=lambda p: (p[0] or "", p[1] or ""))],
    )


@router.get("/diseases/{curie}", response_model=DiseaseDetail,
            summary="A disease by any equivalent id (OMIM, ORPHA, MONDO, DECIPHER)")
async def get_disease(curie: DiseaseCurie, service: ServiceDep, runtime: RuntimeDep) -> DiseaseDetail:
    index = await runtime.run(runtime.memo, "disease_index", _DiseaseIndex)
    return await runtime.run(_disease, service, index, curie)


# --- genes --------------------------------------------------------------------------------------


def _gene(service: Retriever, key: str) -> GeneDetail:
    graph = service.graph
    given = key.strip()
    lookup = f"HGNC:{given}" if given.isdigit() else given
    gene = graph.genes([lookup]).get(lookup)
    if gene is None:
        symbols = service.engine.index.gene_symbols
        close = difflib.get_close_matches(given.upper(), [s.upper() for s in symbols], n=_MAX_SUGGESTIONS, cutoff=0.75)
        by_upper = {s.upper(): s for s in symbols}
        found = graph.genes([by_upper[c] for c in close])
        raise UnknownIdError(
            f"no gene {given!r} in snapshot {service.snapshot_id} (give an HGNC symbol, HGNC:id or NCBIGene:id)",
            field="path.key",
            suggestions=[Suggestion(id=g.id, label=g.symbol, reason="similar") for g in found.values()],
        )
    diseases = graph.diseases_of_genes([gene.id]).get(gene.id, [])
    variants = graph.variants_by_gene([gene.id]).get(gene.id, [])
    return GeneDetail(
        id=gene.id, symbol=gene.symbol, hgnc_id=gene.hgnc_id, ncbi_gene_id=gene.ncbi_gene_id,
        requested_id=given if given != gene.id else None,
        diseases=[DiseaseBrief(id=d.id, name=d.name, database=d.database) for d in diseases],
        clinvar_variants=len(variants), source=gene.source, release=gene.release,
    )


@router.get("/genes/{key}", response_model=GeneDetail, summary="A gene by HGNC symbol, HGNC:id or NCBIGene:id")
async def get_gene(
    key: Annotated[str, Path(min_length=1, max_length=100, description="FBN1, HGNC:3603 or NCBIGene:2200",
                             examples=["FBN1"])],
    service: ServiceDep, runtime: RuntimeDep,
) -> GeneDetail:
    return await runtime.run(_gene, service, key)


# --- search -------------------------------------------------------------------------------------


def _search(service: Retriever, q: str, limit: int, kind: str | None) -> list[SearchHitOut]:
    asked = limit if kind is None else min(1000, limit * 20)
    hits = [h for h in service.graph.search(q, asked) if kind is None or h.kind == kind]
    return [SearchHitOut(kind=h.kind, id=h.id, name=h.name, matched=h.matched, exact=h.exact, score=round(h.score, 4))
            for h in hits[:limit]]


@router.get("/search", response_model=SearchResult, summary="Terms and diseases by name or synonym, best first")
async def search(
    service: ServiceDep, runtime: RuntimeDep,
    q: Annotated[str, Query(min_length=1, max_length=200, description="Words of a term label or disease name",
                            examples=["marfan syndrome"])],
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    kind: Annotated[Literal["term", "disease"] | None, Query(description="Only terms or only diseases")] = None,
) -> SearchResult:
    hits = await runtime.run(_search, service, q, limit, kind)
    return SearchResult(query=q, count=len(hits), hits=hits)
