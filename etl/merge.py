"""One snapshot from many loaders: one row per disease and per gene, HGNC gene keys, exact-only equivalences.

Rules (each source named by the part of its `source` before ":": hpo, orphadata, omim, clinvar):

- **Diseases**: one row per id. ORPHA ids take the Orphanet record, OMIM ids the HPO record, then
  the next source in `DISEASE_PRIORITY`; a losing record's name, where it differs, is kept as a
  disease synonym with that source's provenance.
- **Equivalence**: only `disease_xrefs` rows with `mapping_exact` (Orphanet "E") join ids; nothing
  is merged here, readers collapse the groups (`api.service`). Non-exact mappings are counted.
- **Genes**: the key is the HGNC CURIE when any source knows it for the gene, else the NCBIGene
  CURIE. An NCBI gene id gets an HGNC id from a source that gives both (ClinVar), else from an
  unambiguous symbol match with a source that gives HGNC ids (Orphanet, ClinVar) when that HGNC
  id has no other NCBI id. `disease_genes`, `gene_phenotypes` and `variants` are rewritten to the
  key; `disease_genes` keeps one row per (disease, gene, source).
- **Provenance**: every row keeps `source` and `release`; a file that states no release gets the
  one its rows carry, else `sha256:<first 12 hex digits>` of the file.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl

from raregraph.etl.provenance import UNKNOWN
from raregraph.etl.sources.base import ParseReport, SourceFile, SourceOutput
from raregraph.etl.sources.omim import iter_genemap2
from raregraph.etl.tables import TABLES, conform, empty_frame

__all__ = ["DISEASE_PRIORITY", "GENE_PRIORITY", "MergeResult", "genemap2_symbols", "merge_outputs"]

DISEASE_PRIORITY: dict[str, tuple[str, ...]] = {  # id prefix -> sources, best record first
    "ORPHA": ("orphadata", "hpo", "omim"),
    "OMIM": ("hpo", "omim", "orphadata"),
}
_OTHER_DISEASES = ("hpo", "orphadata", "omim")
GENE_PRIORITY = ("orphadata", "omim", "hpo", "clinvar")  # whose gene record (name, locus, provenance) wins
_GENE_VALUES = ("symbol", "ncbi_gene_id", "name", "gene_type", "ensembl_id", "omim_id", "locus")
_ASPECT_ROOTS = {"HP:0000118": "P", "HP:0000005": "I", "HP:0031797": "C", "HP:0012823": "M", "HP:0032443": "H"}


@dataclass(frozen=True)
class MergeResult:
    """Merged tables (empty ones left out), source files with their releases, and what the merge did."""

    tables: dict[str, pl.DataFrame]
    files: list[SourceFile]
    notes: dict[str, object]


def genemap2_symbols(path: Path, *, skip_bad_records: bool = False) -> pl.DataFrame:
    """(ncbi_gene_id, symbol) for every "Gene/Locus And Other Related Symbols" entry of genemap2 (one pass)."""
    rows = [(g.entrez_id, s) for g in iter_genemap2(path, report=ParseReport(), skip_bad_records=skip_bad_records)
            if g.entrez_id for s in g.gene_symbols]
    return pl.DataFrame(rows, schema={"ncbi_gene_id": pl.Utf8, "symbol": pl.Utf8}, orient="row")


def merge_outputs(outputs: Sequence[SourceOutput], gene_symbols: pl.DataFrame | None = None) -> MergeResult:
    """Merge loader outputs into the snapshot tables (see the module docstring); cost linear in rows."""
    files, release_of = _releases(outputs)
    get = {name: _gather(outputs, name) for name in TABLES}
    tables = dict(get)
    tables["terms"] = get["terms"].unique("id", keep="first", maintain_order=True)
    tables["diseases"], tables["disease_synonyms"], disease_notes = _merge_diseases(get["diseases"], get["disease_synonyms"])
    tables["disease_xrefs"] = get["disease_xrefs"].unique(["disease_id", "xref_id", "source"], keep="first", maintain_order=True)
    tables["genes"], rekey, gene_notes = _unify_genes(get["genes"], get["variants"], gene_symbols)
    if rekey:
        for name in ("disease_genes", "gene_phenotypes", "variants"):
            tables[name] = tables[name].with_columns(pl.col("gene_id").replace(rekey))
    tables["disease_genes"] = tables["disease_genes"].unique(["disease_id", "gene_id", "source"], keep="first", maintain_order=True)
    tables["disease_phenotypes"] = _fill_aspect(get["disease_phenotypes"], get["term_parents"])
    tables = {name: conform(name, _fill_release(frame, release_of)) for name, frame in tables.items() if frame.height}
    notes = {
        "diseases": disease_notes,
        "equivalence": _equivalence(tables.get("disease_xrefs", empty_frame("disease_xrefs")), tables["diseases"]),
        "genes": gene_notes,
    }
    return MergeResult(tables=tables, files=files, notes=notes)


def _kind(column: str = "source") -> pl.Expr:
    """The source kind ("hpo", "orphadata", …) of a `source` value such as "orphadata:en_product1.xml"."""
    return pl.col(column).cast(pl.Utf8).str.extract(r"^([^:]+):", 1)


def _rank(order: tuple[str, ...]) -> pl.Expr:
    ranks = {k: i for i, k in enumerate(order)}
    return _kind().replace_strict(ranks, default=len(order), return_dtype=pl.Int32).fill_null(len(order))


def _gather(outputs: Sequence[SourceOutput], name: str) -> pl.DataFrame:
    """Every output's rows of table `name`, in output order, cast to the table's schema."""
    parts = [conform(name, out.tables[name]) for out in outputs if name in out.tables and out.tables[name].height]
    if not parts:
        return empty_frame(name)
    return pl.concat(parts, how="vertical", rechunk=False) if len(parts) > 1 else parts[0]


def _releases(outputs: Sequence[SourceOutput]) -> tuple[list[SourceFile], dict[str, str]]:
    """Source files with a release each, and source name -> release for rows that carry none."""
    files: list[SourceFile] = []
    release_of: dict[str, str] = {}
    for out in outputs:
        for file in out.files:
            release = file.release or _release_in_rows(out, file.name) or UNKNOWN
            files.append(replace(file, release=release))
            release_of[file.name] = release
    return files, release_of


def _release_in_rows(out: SourceOutput, source: str) -> str | None:
    """The one release the rows of `source` carry (e.g. genes_to_phenotype takes the hpoa's), else None."""
    seen: set[str] = set()
    for frame in out.tables.values():
        if "source" in frame.columns and frame.height:
            rows = frame.filter(pl.col("source").cast(pl.Utf8) == source)
            seen.update(str(r) for r in rows["release"].cast(pl.Utf8).drop_nulls().unique().to_list())
    return next(iter(seen)) if len(seen) == 1 else None


def _fill_release(frame: pl.DataFrame, release_of: dict[str, str]) -> pl.DataFrame:
    if "release" not in frame.columns or frame["release"].null_count() == 0 or not release_of:
        return frame
    fallback = pl.col("source").cast(pl.Utf8).replace_strict(release_of, default=None, return_dtype=pl.Utf8)
    return frame.with_columns(pl.col("release").cast(pl.Utf8).fill_null(fallback))


# --- diseases --------------------------------------------------------------------------------


def _merge_diseases(diseases: pl.DataFrame, synonyms: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, object]]:
    """One row per disease id (best source first); other sources' differing names become synonyms."""
    if not diseases.height:
        return diseases, synonyms, {"records": 0}
    prefix = pl.col("id").str.extract(r"^([^:]+):", 1)
    rank = _rank(_OTHER_DISEASES)
    for db, order in DISEASE_PRIORITY.items():
        rank = pl.when(prefix == db).then(_rank(order)).otherwise(rank)
    ranked = diseases.with_row_index("_ord").with_columns(rank.alias("_rank"))
    first_seen = ranked.group_by("id").agg(pl.col("_ord").min().alias("_first"))
    winners = ranked.sort("_rank", "_ord").unique("id", keep="first", maintain_order=True)
    losers = ranked.join(winners.select("id", "_ord"), on=["id", "_ord"], how="anti")
    named = losers.join(winners.select("id", winner_name="name"), on="id").filter(
        pl.col("name").is_not_null() & (pl.col("name").str.to_lowercase() != pl.col("winner_name").str.to_lowercase().fill_null(""))
    )
    extra = conform("disease_synonyms", named.select(disease_id="id", synonym="name", source="source", release="release"))
    merged_synonyms = pl.concat([synonyms, extra], how="vertical").unique(["disease_id", "synonym"], keep="first", maintain_order=True)
    winners = winners.join(first_seen, on="id").sort("_first").drop("_ord", "_rank", "_first")
    notes = {
        "records": diseases.height,
        "diseases": winners.height,
        "records_merged_into_another_sources_row": losers.height,
        "names_kept_as_synonyms": merged_synonyms.height - synonyms.unique(["disease_id", "synonym"]).height,
        "by_winning_source": dict(sorted(winners.group_by(_kind().fill_null("?").alias("k")).len().iter_rows())),
    }
    return winners, merged_synonyms, notes


def connected_ids(pairs: Iterable[tuple[str, str]], ids: Iterable[str] = ()) -> dict[str, str]:
    """Each id of the pairs (and of `ids`) → the smallest id of its connected group (union-find)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    for x in ids:
        find(x)
    return {x: find(x) for x in list(parent)}


def _equivalence(xrefs: pl.DataFrame, diseases: pl.DataFrame) -> dict[str, object]:
    """Equivalence groups from exact mappings only, and the non-exact mappings left unmerged."""
    exact_flag = pl.col("mapping_exact").fill_null(False)
    pairs = xrefs.filter(exact_flag).select("disease_id", "xref_id").unique().rows()
    groups: dict[str, list[str]] = defaultdict(list)
    for member, root in connected_ids(pairs).items():
        groups[root].append(member)
    known = set(diseases["id"].to_list())
    joining = [g for g in groups.values() if sum(m in known for m in g) >= 2]
    non_exact = xrefs.filter(~exact_flag)
    return {
        "exact_mappings": len(pairs),
        "groups": len(groups),  # every group has at least two ids (a disease and an exact xref)
        "groups_joining_snapshot_diseases": len(joining),
        "snapshot_diseases_in_joining_groups": sum(sum(m in known for m in g) for g in joining),
        "non_exact_mappings_not_merged": non_exact.height,
        "non_exact_to_snapshot_diseases": non_exact.filter(pl.col("xref_id").is_in(list(known))).height,
        "non_exact_by_relation": dict(sorted(
            (str(r), n) for r, n in non_exact.group_by(pl.col("mapping_relation").fill_null("?")).len().iter_rows())),
    }


# --- genes -----------------------------------------------------------------------------------


def _gene_mentions(genes: pl.DataFrame, variants: pl.DataFrame) -> pl.DataFrame:
    """Every (source, ids, symbol) a gene is named by: the genes tables plus ClinVar's variant genes."""
    mentions = genes.select(
        *(pl.col(c) for c in ("id", *_GENE_VALUES)), "source", "release",
        hgnc=pl.coalesce("hgnc_id", pl.when(pl.col("id").str.starts_with("HGNC:")).then(pl.col("id"))),
    )
    if variants.height:
        clinvar = (
            variants.lazy().filter(pl.col("hgnc_id").is_not_null() | pl.col("ncbi_gene_id").is_not_null())
            .select("gene_id", "hgnc_id", "ncbi_gene_id", "gene_symbol", "source", "release").unique(maintain_order=True)
            .select(
                id="gene_id", hgnc="hgnc_id", ncbi_gene_id="ncbi_gene_id",
                # a variant in several genes lists them "A;B": not one gene's symbol
                symbol=pl.when(~pl.col("gene_symbol").str.contains(r"[;,\s]")).then(pl.col("gene_symbol")),
                source=pl.col("source").cast(pl.Utf8), release=pl.col("release").cast(pl.Utf8),
            ).collect()
        )
        mentions = pl.concat([mentions, clinvar], how="diagonal")
    return mentions.with_columns(
        ncbi=pl.coalesce("ncbi_gene_id", pl.when(pl.col("id").str.starts_with("NCBIGene:")).then(pl.col("id").str.slice(9)))
    )


def _link_ncbi_to_hgnc(mentions: pl.DataFrame) -> tuple[dict[str, str], dict[str, int]]:
    """NCBI gene id -> HGNC CURIE: by a source giving both, else by an unambiguous symbol match."""
    by_ncbi: dict[str, set[str]] = defaultdict(set)
    by_hgnc: dict[str, set[str]] = defaultdict(set)
    for ncbi, hgnc in mentions.filter(pl.col("hgnc").is_not_null() & pl.col("ncbi").is_not_null()).select("ncbi", "hgnc").unique().iter_rows():
        by_ncbi[ncbi].add(hgnc)
        by_hgnc[hgnc].add(ncbi)
    link = {n: next(iter(hs)) for n, hs in by_ncbi.items() if len(hs) == 1 and len(by_hgnc[next(iter(hs))]) == 1}
    stats = {"ncbi_linked_by_id": len(link), "ncbi_hgnc_conflicts": len(by_ncbi) - len(link)}

    hgnc_of_symbol: dict[str, set[str]] = defaultdict(set)
    for symbol, hgnc in mentions.filter(pl.col("hgnc").is_not_null() & pl.col("symbol").is_not_null()).select("symbol", "hgnc").unique().iter_rows():
        hgnc_of_symbol[symbol].add(hgnc)
    claims: dict[str, list[str]] = defaultdict(list)
    unlinked = mentions.filter(pl.col("hgnc").is_null() & pl.col("ncbi").is_not_null() & ~pl.col("ncbi").is_in(list(by_ncbi)))
    refused = 0
    for ncbi, symbols in unlinked.group_by("ncbi", maintain_order=True).agg(pl.col("symbol").drop_nulls().unique()).iter_rows():
        candidates = {next(iter(hgnc_of_symbol[s])) for s in symbols if len(hgnc_of_symbol.get(s, ())) == 1}
        ambiguous = any(len(hgnc_of_symbol.get(s, ())) > 1 for s in symbols)
        if len(candidates) == 1 and not ambiguous:
            hgnc = next(iter(candidates))
            if by_hgnc.get(hgnc, {ncbi}) == {ncbi}:  # that HGNC gene is not known under another NCBI id
                claims[hgnc].append(ncbi)
                continue
        refused += bool(candidates) or ambiguous
    for hgnc, ncbis in claims.items():
        if len(ncbis) == 1:
            link[ncbis[0]] = hgnc
        else:
            refused += len(ncbis)
    stats["ncbi_linked_by_symbol"] = len(link) - stats["ncbi_linked_by_id"]
    stats["symbol_matches_refused"] = refused
    return link, stats


def _unify_genes(
    genes: pl.DataFrame, variants: pl.DataFrame, gene_symbols: pl.DataFrame | None
) -> tuple[pl.DataFrame, dict[str, str], dict[str, object]]:
    """One `genes` row per key, the NCBIGene -> HGNC rewrite for edges, and counts."""
    mentions = _gene_mentions(genes, variants)
    if not mentions.height:
        return genes, {}, {"genes": 0}
    link, stats = _link_ncbi_to_hgnc(mentions)
    linked = pl.col("ncbi").replace_strict(link, default=None, return_dtype=pl.Utf8) if link else pl.lit(None, pl.Utf8)
    key = pl.coalesce("hgnc", linked, pl.lit("NCBIGene:") + pl.col("ncbi"), "id")
    ranked = mentions.with_row_index("_ord").with_columns(key.alias("_key"), _rank(GENE_PRIORITY).alias("_rank"))
    rows = (
        ranked.sort("_rank", "_ord").group_by("_key").agg(
            *(pl.col(c).drop_nulls().first() for c in _GENE_VALUES), pl.col("source").first(), pl.col("release").first(),
            pl.col("symbol").drop_nulls().unique(maintain_order=True).alias("_symbols"), pl.col("_ord").min().alias("_first"),
        ).sort("_first")
    )
    if gene_symbols is not None and gene_symbols.height:
        other = gene_symbols.select(
            _key=pl.coalesce(pl.col("ncbi_gene_id").replace_strict(link, default=None, return_dtype=pl.Utf8) if link else pl.lit(None, pl.Utf8),
                             pl.lit("NCBIGene:") + pl.col("ncbi_gene_id")),
            symbol="symbol",
        ).group_by("_key").agg(pl.col("symbol").alias("_other"))
        rows = rows.join(other, on="_key", how="left", maintain_order="left").with_columns(
            pl.concat_list("_symbols", pl.col("_other").fill_null([])).alias("_symbols"))
    no_symbol = rows["symbol"].null_count()
    out = rows.with_columns(
        id="_key",
        hgnc_id=pl.when(pl.col("_key").str.starts_with("HGNC:")).then(pl.col("_key")),
        symbol=pl.coalesce("symbol", pl.col("_symbols").list.first(), "_key"),
    ).with_columns(
        previous_symbols=pl.col("_symbols").list.set_difference(pl.concat_list("symbol")).list.sort(),
    )
    rekey = {f"NCBIGene:{n}": h for n, h in link.items()}
    stats.update({
        "genes": out.height, "keyed_by_hgnc": int(out["hgnc_id"].is_not_null().sum()),
        "keyed_by_ncbi": int(out["id"].str.starts_with("NCBIGene:").sum()), "without_symbol": no_symbol,
    })
    return conform("genes", out), rekey, stats


# --- annotations -----------------------------------------------------------------------------


def _fill_aspect(phenotypes: pl.DataFrame, parents: pl.DataFrame) -> pl.DataFrame:
    """Aspect of rows that give none (Orphanet product 4), from the HPO branch the term lies in."""
    if not phenotypes.height or phenotypes["aspect"].null_count() == 0:
        return phenotypes
    children: dict[str, list[str]] = defaultdict(list)
    for child, parent in parents.select("term_id", "parent_id").iter_rows():
        children[parent].append(child)
    branch: dict[str, str] = {}
    for root, aspect in _ASPECT_ROOTS.items():
        queue = deque([root])
        while queue:
            term = queue.popleft()
            if term in branch:
                continue
            branch[term] = aspect
            queue.extend(children.get(term, ()))
    derived = pl.col("term_id").replace_strict(branch, default=None, return_dtype=pl.Utf8)
    return phenotypes.with_columns(aspect=pl.coalesce("aspect", derived))
