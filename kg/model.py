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
