"""The graph model in one place: id types, node and edge labels, and the records the graph returns."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import NewType

__all__ = [
    "HpoId", "DiseaseId", "GeneId", "CURIE",
    "NodeLabel", "EdgeType",
    "Synonym", "Term", "Disease", "Gene", "Annotation",
    "PHENOTYPIC_ABNORMALITY", "ROOT_TERM",
    "normalize_label", "is_hpo_id",
]

CURIE = NewType("CURIE", str)
HpoId = NewType("HpoId", str)  # "HP:0001250"
DiseaseId = NewType("DiseaseId", str)  # "OMIM:154700", "ORPHA:558", "DECIPHER:1", "MONDO:0007947"
GeneId = NewType("GeneId", str)  # "HGNC:3603" where known, else "NCBIGene:2200"

ROOT_TERM = HpoId("HP:0000001")
PHENOTYPIC_ABNORMALITY = HpoId("HP:0000118")


class NodeLabel:
    """Node labels, shared by the snapshot tables and Neo4j."""

    TERM = "Phenotype"
    DISEASE = "Disease"
    GENE = "Gene"
    VARIANT = "Variant"
    SNAPSHOT = "Snapshot"


class EdgeType:
    """Relationship types, shared by the snapshot tables and Neo4j."""

    IS_A = "IS_A"
    HAS_PHENOTYPE = "HAS_PHENOTYPE"
    HAS_INHERITANCE = "HAS_INHERITANCE"
    ASSOCIATED_WITH = "ASSOCIATED_WITH"  # disease -> gene
    GENE_HAS_PHENOTYPE = "GENE_HAS_PHENOTYPE"
    EQUIVALENT_TO = "EQUIVALENT_TO"
    IN_GENE = "IN_GENE"  # variant -> gene
    ASSERTED_FOR = "ASSERTED_FOR"  # variant -> disease


_HPO_RE = re.compile(r"^HP:\d{7}$")
_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)


def is_hpo_id(text: str) -> bool:
    """True for a well-formed HPO CURIE.

    >>> is_hpo_id("HP:0001250"), is_hpo_id("HP:1250"), is_hpo_id("hp:0001250")
    (True, False, False)
    """
    return bool(_HPO_RE.match(text))


def normalize_label(text: str) -> str:
    """Normalise a label or mention for exact matching: NFKC, case-folded, punctuation to spaces.

    >>> normalize_label("  Seizures (Epileptic)-like ")
    'seizures epileptic like'
    >>> normalize_label("Café-au-lait spot")
    'café au lait spot'
    """
    folded = unicodedata.normalize("NFKC", text).casefold().replace("_", " ")
    return " ".join(_NON_WORD.sub(" ", folded).split())


@dataclass(frozen=True)
class Synonym:
    text: str
    scope: str  # EXACT | RELATED | BROAD | NARROW


@dataclass(frozen=True)
class Term:
    """An HPO term as the graph knows it."""

    id: HpoId
    label: str
    definition: str | None = None
    synonyms: tuple[Synonym, ...] = ()
    alt_ids: tuple[str, ...] = ()
    xrefs: tuple[str, ...] = ()
    parents: tuple[HpoId, ...] = ()
    obsolete: bool = False
    replaced_by: HpoId | None = None
    consider: tuple[HpoId, ...] = ()
    source: str | None = None
    release: str | None = None


@dataclass(frozen=True)
class Disease:
    id: DiseaseId
    name: str
    database: str  # OMIM | ORPHA | DECIPHER | MONDO
    source: str | None = None
    release: str | None = None


@dataclass(frozen=True)
class Gene:
    id: GeneId
    symbol: str
    ncbi_gene_id: str | None = None
    hgnc_id: str | None = None
    source: str | None = None
    release: str | None = None


@dataclass(frozen=True)
class Annotation:
    """One disease–term annotation (HAS_PHENOTYPE or HAS_INHERITANCE edge)."""

    disease_id: DiseaseId
    term_id: HpoId
    negated: bool = False
    frequency: float | None = None  # in [0, 1]; None = unknown (never read as 1.0)
    frequency_raw: str | None = None
    aspect: str = "P"
    onset: str | None = None
    evidence: str | None = None
    references: tuple[str, ...] = field(default=())
    source: str | None = None
    release: str | None = None


# --- search and variants (appended with the Neo4j back-end) ------------------------

from collections.abc import Mapping  # noqa: E402 - appended section
from typing import Any  # noqa: E402

__all__ += ["SearchHit", "Variant", "normalize_chrom", "name_match_score"]

def normalize_chrom(chrom: str) -> str:
    """Normalise a chromosome name as ClinVar writes it: no `chr` prefix, upper case, `M` as `MT`.

    >>> normalize_chrom("chr7"), normalize_chrom("x"), normalize_chrom("chrM"), normalize_chrom(" 12 ")
    ('7', 'X', 'MT', '12')
    """
    text = chrom.strip()
    if text[:3].lower() == "chr":
        text = text[3:]
    text = text.upper()
    return "MT" if text == "M" else text


@dataclass(frozen=True)
class SearchHit:
    """One term or disease found by free-text search; `score` only orders hits of one back-end."""

    kind: str  # "term" | "disease"
    id: str
    name: str  # the term label or disease name
    matched: str  # the label, name or synonym that matched best
    exact: bool  # `matched` equals the query after normalize_label
    score: float


@dataclass(frozen=True)
class Variant:
    """A ClinVar variant (one assembly) as the graph knows it."""

    id: str  # "ClinVar:<VariationID>"
    name: str | None = None
    variant_type: str | None = None
    gene_id: str | None = None
    gene_symbol: str | None = None
    hgnc_id: str | None = None
    clinical_significance: str | None = None
    review_status: str | None = None
    stars: int | None = None
    assembly: str | None = None
    chrom: str | None = None
    pos: int | None = None
    ref: str | None = None
    alt: str | None = None
    rs_id: str | None = None
    origin: str | None = None
    source: str | None = None
    release: str | None = None


SEARCH_MAX_TOKENS = 32  # query words kept by `search_tokens`
_MAX_TOKEN_CHARS = 100
_MAX_POSITION = 2**63 - 1

__all__ += ["search_tokens", "normalize_position", "variant_from_row", "SEARCH_MAX_TOKENS"]


def search_tokens(text: str) -> tuple[str, ...]:
    """The distinct words of `normalize_label(text)`, in order, at most `SEARCH_MAX_TOKENS`, each under 100 chars.

    >>> search_tokens("Seizures (epileptic), seizures!")
    ('seizures', 'epileptic')
    >>> search_tokens("}) DETACH DELETE n //")
    ('detach', 'delete', 'n')
    """
    words = [w for w in normalize_label(text).split() if len(w) <= _MAX_TOKEN_CHARS]
    return tuple(dict.fromkeys(words))[:SEARCH_MAX_TOKENS]


def normalize_position(position: object) -> tuple[str, int, str | None, str | None] | None:
    """`(chrom, pos[, ref, alt])` as `(normalize_chrom(chrom), pos, REF, ALT)`; None when malformed.

    >>> normalize_position(("chr15", 48_700_000)), normalize_position(("15", 1, "a", "g"))
    (('15', 48700000, None, None), ('15', 1, 'A', 'G'))
    >>> normalize_position(("15", "1")), normalize_position(("15",)), normalize_position(("15", -1))
    (None, None, None)
    """
    if not isinstance(position, (tuple, list)) or len(position) not in (2, 4):
        return None
    chrom, pos = position[0], position[1]
    ref, alt = (position[2], position[3]) if len(position) == 4 else (None, None)
    if not isinstance(chrom, str) or isinstance(pos, bool) or not isinstance(pos, int) or not 0 <= pos <= _MAX_POSITION:
        return None
    if not all(a is None or isinstance(a, str) for a in (ref, alt)):
        return None
    return normalize_chrom(chrom), pos, ref.upper() if ref is not None else None, alt.upper() if alt is not None else None


def variant_from_row(row: Mapping[str, Any]) -> Variant:
    """A `variants` table row (or a Neo4j Variant node's properties) as a Variant."""
    stars, pos = row.get("stars"), row.get("pos")
    return Variant(
        id=row["id"], name=row.get("name"), variant_type=row.get("variant_type"), gene_id=row.get("gene_id"),
        gene_symbol=row.get("gene_symbol"), hgnc_id=row.get("hgnc_id"), clinical_significance=row.get("clinical_significance"),
        review_status=row.get("review_status"), stars=int(stars) if stars is not None else None,
        assembly=row.get("assembly"), chrom=row.get("chrom"), pos=int(pos) if pos is not None else None,
        ref=row.get("ref"), alt=row.get("alt"), rs_id=row.get("rs_id"), origin=row.get("origin"),
        source=row.get("source"), release=row.get("release"),
    )


def name_match_score(norm: str, primary: bool, query: str, wanted: frozenset[str]) -> float:
    """The search scorer both back-ends use, on normalised text: exact label/name 1000, exact synonym 900,
    else 100 x (share of the query's words found) + 10 x (share of the name's words matched)."""
    if norm == query:
        return 1000.0 if primary else 900.0
    have = frozenset(norm.split())
    overlap = len(wanted & have)
    return 100.0 * overlap / len(wanted) + 10.0 * overlap / max(len(have), 1)
