"""The `KnowledgeGraph` interface: one small, batch-first protocol that every back-end implements."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from raregraph.kg.model import Annotation, Disease, Gene, HpoId, Term
from raregraph.kg.model import SearchHit, Variant

__all__ = ["KnowledgeGraph"]


@runtime_checkable
class KnowledgeGraph(Protocol):
    """Read access to one snapshot of the graph.

    Every batch method takes a sequence of keys and returns a mapping keyed by the input key;
    keys the graph does not know are absent from the result (never an exception), so a caller
    can tell unknown ids apart without a round-trip per id.
    """

    snapshot_id: str

    def manifest(self) -> Mapping[str, Any]:
        """The snapshot's manifest (sources, releases, row counts)."""
        ...

    def terms(self, ids: Sequence[str]) -> dict[str, Term]:
        """Terms by primary id (obsolete terms included, flagged `obsolete`)."""
        ...

    def resolve_terms(self, ids: Sequence[str]) -> dict[str, HpoId]:
        """Map each id (primary, alt_id or obsolete) to the current, non-obsolete term id."""
        ...

    def terms_by_label(self, texts: Sequence[str]) -> dict[str, list[HpoId]]:
        """Current terms whose label or synonym equals each text after `normalize_label`.

        Label matches come before synonym matches; within each, ids are sorted.
        """
        ...

    def term_names(self) -> list[tuple[HpoId, str, str]]:
        """Every (term id, text, kind) of current terms; kind is LABEL or a synonym scope. Sorted."""
        ...

    def ancestors(self, ids: Sequence[str], *, include_self: bool = True) -> dict[str, frozenset[HpoId]]:
        """All is_a ancestors of each term."""
        ...

    def descendants(self, ids: Sequence[str], *, include_self: bool = True) -> dict[str, frozenset[HpoId]]:
        """All is_a descendants of each term."""
        ...

    def information_content(self, ids: Sequence[str]) -> dict[str, float]:
        """IC = -ln(share of diseases annotated with the term or a descendant), in nats."""
        ...

    def diseases(self, ids: Sequence[str]) -> dict[str, Disease]:
        """Diseases by id."""
        ...

    def diseases_for_terms(self, ids: Sequence[str]) -> dict[str, list[Annotation]]:
        """Direct disease annotations (present and NOT) of each term, sorted by disease id."""
        ...

    def disease_phenotypes(self, ids: Sequence[str], terms: Sequence[str] | None = None) -> dict[str, list[Annotation]]:
        """Phenotype annotations (present and NOT) of each disease, sorted by term id; only `terms` when given."""
        ...

    def disease_inheritance(self, ids: Sequence[str]) -> dict[str, list[Annotation]]:
        """Mode-of-inheritance annotations of each disease."""
        ...

    def genes(self, keys: Sequence[str]) -> dict[str, Gene]:
        """Genes by id (HGNC/NCBIGene CURIE) or by symbol (case-insensitive)."""
        ...

    def genes_of_diseases(self, ids: Sequence[str]) -> dict[str, list[Gene]]:
        """Genes associated with each disease, sorted by symbol."""
        ...

    def diseases_of_genes(self, keys: Sequence[str]) -> dict[str, list[Disease]]:
        """Diseases associated with each gene (id or symbol), sorted by disease id."""
        ...

    def search(self, text: str, limit: int = 10) -> list[SearchHit]:
        """Current terms and diseases matching free text, best first, at most `limit` (1000 at most).

        Label, name and synonym text is compared after `normalize_label`; a hit whose label, name
        or synonym equals the query comes before every other hit. Blank text (or text with no
        word characters) gives no hits. Scores order hits within one back-end only.
        """
        ...

    def variants_by_gene(self, keys: Sequence[str]) -> dict[str, list[Variant]]:
        """ClinVar variants of each gene, sorted by variant id.

        A key is looked up as in `genes`; a key that is no gene of the snapshot matches variants
        whose gene id equals it or whose gene symbol equals it case-insensitively.
        """
        ...

    def variants_by_position(self, positions: Sequence[tuple[Any, ...]]) -> dict[tuple[Any, ...], list[Variant]]:
        """ClinVar variants at each `(chrom, pos)` or `(chrom, pos, ref, alt)`, sorted by variant id.

        `chrom` goes through `normalize_chrom` (``chr7`` = ``7``, ``M`` = ``MT``); `ref`/`alt`
        compare upper-cased. Keys are the positions as given (as tuples); malformed ones are absent.
        """
        ...
