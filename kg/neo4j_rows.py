"""Snapshot tables as Neo4j load steps: typed row batches, constant columns sent once, ends as element ids.

What makes the online load fast is what travels and what the server looks up per row:
- a batch travels column-wise (`$cols`: column -> list of values), so Python builds no per-row
  dict and Bolt packs no per-row keys; the statement sets `n[key] = $cols[key][i]`, and a null
  value sets nothing (readers treat an absent property as null and an absent list as empty);
- a column with one value in every row (source, release, aspect…) goes once per batch as `$const`,
  and an all-null column not at all;
- a relationship's ends are element ids from the id map the node steps return
  (`collect(elementId(n))`), so the server seeks each end by id instead of an index seek on
  (snapshot, id), and rows naming a node the snapshot lacks are dropped here (counted as
  skipped) instead of being sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from raregraph.etl.snapshot import Snapshot
from raregraph.etl.tables import TABLES
from raregraph.kg.model import NodeLabel, normalize_chrom, normalize_label

__all__ = ["NodeTable", "EdgeTable", "TABLE_MAP", "CREATES_NODES", "Step", "IdMap", "steps", "node_batches", "edge_batches"]


@dataclass(frozen=True)
class NodeTable:
    """A snapshot table loaded as nodes (one per distinct `id`)."""

    statement: str
    label: str


@dataclass(frozen=True)
class EdgeTable:
    """A snapshot table loaded as relationships (or, for synonyms, nodes hung off their owner).

    `start_label`/`end_label` name the node label whose id map resolves that end; None sends the
    column's value as it is (an alias id, a gene key, an xref id).
    """

    statement: str
    start: str  # column holding the start node's id
    end: str | None = None  # column holding the end node's id (None: the statement creates the end node)
    start_label: str | None = None
    end_label: str | None = None
    rename: tuple[tuple[str, str], ...] = ()  # (column, property) renames


_T, _D, _G, _V = NodeLabel.TERM, NodeLabel.DISEASE, NodeLabel.GENE, NodeLabel.VARIANT

# Every table of etl/tables.py; a table added there without an entry here is still loaded, as
# :Record nodes (`record_nodes_by_rows`), and a test fails until it gets a real mapping.
TABLE_MAP: dict[str, NodeTable | EdgeTable] = {
    "terms": NodeTable("phenotype_nodes_by_rows", _T),
    "diseases": NodeTable("disease_nodes_by_rows", _D),
    "genes": NodeTable("gene_nodes_by_rows", _G),
    "variants": NodeTable("variant_nodes_by_rows", _V),
    "term_synonyms": EdgeTable("term_synonyms_by_rows", "term_id", start_label=_T, rename=(("synonym", "text"),)),
    "disease_synonyms": EdgeTable("disease_synonyms_by_rows", "disease_id", start_label=_D, rename=(("synonym", "text"),)),
    "disease_xrefs": EdgeTable("disease_xrefs_by_rows", "disease_id", "xref_id", start_label=_D),
    "term_parents": EdgeTable("is_a_edges_by_rows", "term_id", "parent_id", _T, _T),
    "disease_phenotypes": EdgeTable("has_phenotype_edges_by_rows", "disease_id", "term_id", _D, _T),
    "disease_inheritance": EdgeTable("has_inheritance_edges_by_rows", "disease_id", "term_id", _D, _T),
    "disease_genes": EdgeTable("associated_with_edges_by_rows", "disease_id", "gene_id", _D, _G),
    "gene_phenotypes": EdgeTable("gene_has_phenotype_edges_by_rows", "gene_id", "term_id", _G, _T),
    "variant_diseases": EdgeTable("asserted_for_edges_by_rows", "variant_id", "disease_id", _V, _D),
}
# Derived steps (no table of their own): rows {start, end} built from the snapshot at load time.
_DERIVED: dict[str, EdgeTable] = {
    "replaced_by": EdgeTable("replaced_by_edges_by_rows", "start", "end", _T, _T),
    "term_aliases": EdgeTable("term_aliases_by_rows", "start", "end", None, _T),
    "gene_keys": EdgeTable("gene_keys_by_rows", "start", "end", None, _G),
    "variant_genes": EdgeTable("in_gene_edges_by_rows", "start", "end", _V, _G),
}
# Statements that create one node per row besides the relationship (or instead of one).
CREATES_NODES = {"term_synonyms_by_rows": "Synonym", "disease_synonyms_by_rows": "Synonym",
                 "term_aliases_by_rows": "TermAlias", "gene_keys_by_rows": "GeneKey"}


@dataclass
class IdMap:
    """Element ids of the nodes this load created, per label: the ends of every relationship row."""

    frames: dict[str, pl.DataFrame] = field(default_factory=dict)

    def add(self, label: str, ids: list[str], element_ids: list[str]) -> None:
        part = pl.DataFrame({"id": ids, "eid": element_ids}, schema={"id": pl.Utf8, "eid": pl.Utf8})
        self.frames[label] = pl.concat([self.frames[label], part]) if label in self.frames else part

    def frame(self, label: str) -> pl.DataFrame:
        return self.frames.get(label, pl.DataFrame(schema={"id": pl.Utf8, "eid": pl.Utf8}))


@dataclass(frozen=True)
class Step:
    """One load step: a statement and the rows it gets; `label` for node steps, `edge` for the rest."""

    name: str
    statement: str
    frame: pl.DataFrame
    duplicates: int = 0
    params: dict[str, Any] = field(default_factory=dict)
    label: str | None = None  # node steps: the label of the nodes created, one per row
    edge: EdgeTable | None = None

    @property
    def created_label(self) -> str | None:
        """The label of nodes this step creates one per created row (None: relationships only)."""
        if self.label is not None:
            return self.label
        return CREATES_NODES.get(self.statement)


def steps(snapshot: Snapshot) -> Iterator[Step]:
    """Every load step in order: node tables, unmapped tables (as :Record), edge tables, derived edges."""
    from raregraph.kg.embedded import EmbeddedGraph  # derived data comes from the embedded graph's rules

    graph = EmbeddedGraph(snapshot)
    tables = {name: snapshot.table(name) for name in TABLES}
    for name, spec in TABLE_MAP.items():
        if isinstance(spec, NodeTable):
            frame, duplicates = _node_frame(name, tables[name], tables, graph)
            yield Step(name, spec.statement, frame, duplicates, label=spec.label)
    for name in TABLES:
        if name not in TABLE_MAP:
            yield Step(name, "record_nodes_by_rows", tables[name].with_row_index("ord"), params={"table": name},
                       label="Record")
    for name, spec in TABLE_MAP.items():
        if isinstance(spec, EdgeTable):
            yield Step(name, spec.statement, _edge_frame(tables[name], spec), edge=spec)
    terms = tables["terms"]
    derived = {
        "replaced_by": terms.filter(pl.col("replaced_by").is_not_null()).select(
            pl.col("id").alias("start"), pl.col("replaced_by").alias("end")),
        "term_aliases": _pairs(graph.term_aliases()),
        "gene_keys": _pairs(graph.gene_keys()),
        "variant_genes": _pairs(graph.variant_gene_ids()),
    }
    for name, spec in _DERIVED.items():
        yield Step(name, spec.statement, derived[name], edge=spec)


def node_batches(frame: pl.DataFrame, batch_size: int) -> Iterator[tuple[dict[str, Any], list[str]]]:
    """(statement parameters `count`, `cols`, `const`; the rows' ids) per batch of `frame`."""
    values, const = _split_constants(frame)
    ids = frame["id"].cast(pl.Utf8).to_list() if "id" in frame.columns else []
    for offset in range(0, frame.height, batch_size):
        count = min(batch_size, frame.height - offset)
        yield {"count": count, "cols": _columns(values.slice(offset, batch_size)), "const": const}, ids[offset:offset + batch_size]


def edge_batches(frame: pl.DataFrame, spec: EdgeTable, ids: IdMap, batch_size: int) -> Iterator[tuple[dict[str, Any], int]]:
    """(statement parameters `starts`, `ends`, `cols`, `const`; rows of `frame` the batch covers) per batch.

    Ends are resolved through `ids`; rows whose end is not a node of this load are left out (the
    caller counts them as skipped).
    """
    frame = frame.with_row_index("_pos")
    for column, label in (("start", spec.start_label), ("end", spec.end_label)):
        if label is not None:
            frame = frame.join(ids.frame(label).rename({"id": column, "eid": f"_{column}"}), on=column, how="left")
            frame = frame.with_columns(pl.col(f"_{column}").alias(column)).drop(f"_{column}")
    frame = frame.sort("_pos").drop("_pos")
    known = pl.col("start").is_not_null() & (pl.col("end").is_not_null() if spec.end else pl.lit(True))
    values, const = _split_constants(frame.drop("start", "end"))
    ends = frame.select("start", "end", known.alias("_known"))
    frame = pl.concat([ends, values], how="horizontal") if values.width else ends
    for offset in range(0, frame.height, batch_size):
        chunk = frame.slice(offset, batch_size)
        kept = chunk.filter(pl.col("_known"))
        params = {"starts": kept["start"].to_list(), "ends": kept["end"].to_list(),
                  "cols": _columns(kept.drop("start", "end", "_known")), "const": const}
        yield params, chunk.height


def _split_constants(frame: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, Any]]:
    """The varying columns (lists cleaned of nulls, empty lists as null) and {column: value} of the constant ones.

    A column with one value and no null in every row is constant; an all-null column is neither
    (it is absent from every node, as a null property is).
    """
    const: dict[str, Any] = {}
    varying = []
    for name, dtype in frame.schema.items():
        column = frame[name]
        if column.null_count() == frame.height:
            continue
        if isinstance(dtype, pl.List):
            cleaned = pl.col(name).list.drop_nulls()
            varying.append(pl.when(cleaned.list.len() > 0).then(cleaned).alias(name))
        elif column.null_count() == 0 and column.n_unique() == 1:
            const[name] = column[0]
        else:
            varying.append(pl.col(name))
    return frame.select(varying), const


def _columns(frame: pl.DataFrame) -> dict[str, list[Any]]:
    """{column: values} (nulls stay: setting a property to null sets nothing)."""
    return {name: frame[name].to_list() for name in frame.columns}


def _pairs(mapping: dict[str, str]) -> pl.DataFrame:
    return pl.DataFrame({"start": list(mapping), "end": list(mapping.values())}, schema={"start": pl.Utf8, "end": pl.Utf8})


def _node_frame(name: str, frame: pl.DataFrame, tables: dict[str, pl.DataFrame], graph: Any) -> tuple[pl.DataFrame, int]:
    """Node rows: distinct non-null ids (first kept), plus the derived properties readers rely on."""
    rows = frame.height
    frame = frame.filter(pl.col("id").is_not_null()).unique(subset="id", keep="first", maintain_order=True)
    duplicates = rows - frame.height
    if name == "terms":
        onto = graph.ontology
        synonyms = tables["term_synonyms"].group_by("term_id", maintain_order=True).agg(pl.col("synonym").alias("synonyms"))
        frame = frame.with_columns(
            pl.col("obsolete").fill_null(False),
            pl.Series("label_norm", [normalize_label(t or "") for t in frame["label"].to_list()], dtype=pl.Utf8),
            pl.Series("ic", [float(onto.ic[onto.position[t]]) for t in frame["id"].to_list()], dtype=pl.Float64),
        ).join(synonyms.rename({"term_id": "id"}), on="id", how="left", maintain_order="left")
    elif name == "diseases":
        synonyms = tables["disease_synonyms"].group_by("disease_id", maintain_order=True).agg(pl.col("synonym").alias("synonyms"))
        frame = frame.with_columns(
            pl.col("obsolete").fill_null(False) if "obsolete" in frame.columns else pl.lit(False).alias("obsolete"),
            pl.Series("name_norm", [normalize_label(t or "") for t in frame["name"].to_list()], dtype=pl.Utf8),
        ).join(synonyms.rename({"disease_id": "id"}), on="id", how="left", maintain_order="left")
    elif name == "variants":
        frame = frame.with_columns(
            pl.col("gene_symbol").str.to_uppercase().alias("gene_symbol_upper"),
            pl.Series("chrom_norm", [normalize_chrom(c) if c is not None else None for c in frame["chrom"].to_list()], dtype=pl.Utf8),
        )
    return frame, duplicates


def _edge_frame(frame: pl.DataFrame, spec: EdgeTable) -> pl.DataFrame:
    """Edge rows as columns start, end and the properties: every other column plus `ord` (the row's position)."""
    frame = frame.with_row_index("ord").with_columns(pl.col("ord").cast(pl.Int64))
    if "negated" in frame.columns:
        frame = frame.with_columns(pl.col("negated").fill_null(False))
    if spec.rename:
        frame = frame.rename(dict(spec.rename))
    if "text" in frame.columns:  # synonyms: the normalised text readers look up
        frame = frame.with_columns(
            pl.Series("norm", [normalize_label(t or "") for t in frame["text"].to_list()], dtype=pl.Utf8))
    ends = [spec.start] + ([spec.end] if spec.end else [])
    props = [c for c in frame.columns if c not in ends]
    return frame.select(
        pl.col(spec.start).cast(pl.Utf8).alias("start"),
        (pl.col(spec.end).cast(pl.Utf8) if spec.end else pl.lit(None, pl.Utf8)).alias("end"),
        *props,
    )
