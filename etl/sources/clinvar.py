"""ClinVar `variant_summary.txt(.gz)`, read block by block with polars (bounded memory); one assembly and origin kept.

Both layouts are read: the 34-column one (to 2023) and the 40-column one (2024+, with the
somatic clinical impact and oncogenicity columns); columns are found by header name.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import polars as pl

from raregraph.errors import SourceFormatError
from raregraph.etl.sources.base import ParseReport, SourceOutput, describe_file
from raregraph.etl.tables import conform, empty_frame

__all__ = [
    "REQUIRED_COLUMNS", "REVIEW_STATUS_STARS", "ClinVarVariant", "find_clinvar_file", "iter_batches",
    "iter_variants", "load_clinvar", "read_header",
]

# ClinVar's gold stars for each review status (https://www.ncbi.nlm.nih.gov/clinvar/docs/review_status/).
REVIEW_STATUS_STARS: dict[str, int] = {
    "practice guideline": 4,
    "reviewed by expert panel": 3,
    "criteria provided, multiple submitters, no conflicts": 2,
    "criteria provided, single submitter": 1,
    "criteria provided, conflicting classifications": 1,
    "criteria provided, conflicting interpretations": 1,  # the wording before 2024
    "no assertion criteria provided": 0,
    "no assertion provided": 0,
    "no classification provided": 0,
    "no classifications from unflagged records": 0,
    "no classification for the individual variant": 0,
    "no interpretation for the single variant": 0,
    "no assertion for the individual variant": 0,
    "-": 0,  # somatic-only records carry no germline review status
}
# header name -> short name used here
REQUIRED_COLUMNS: dict[str, str] = {
    "AlleleID": "allele_id", "Type": "variant_type", "Name": "name", "GeneID": "gene_id_raw",
    "GeneSymbol": "gene_symbol", "HGNC_ID": "hgnc_raw", "ClinicalSignificance": "clinical_significance",
    "PhenotypeIDS": "phenotype_ids", "PhenotypeList": "phenotype_list", "OriginSimple": "origin",
    "Assembly": "assembly", "Chromosome": "chrom", "ReviewStatus": "review_status", "VariationID": "variation_id",
    "PositionVCF": "pos", "ReferenceAlleleVCF": "ref", "AlternateAlleleVCF": "alt",
}
_OPTIONAL_COLUMNS = {
    "ClinSigSimple": "clinsig_simple", "LastEvaluated": "last_evaluated", "RS# (dbSNP)": "rs",
    "NumberSubmitters": "number_submitters", "SomaticClinicalImpact": "somatic_clinical_impact",
    "Oncogenicity": "oncogenicity",
}
_PHENOTYPE_DB = {"MONDO": "MONDO", "Orphanet": "ORPHA", "Human Phenotype Ontology": "HP", "OMIM": "OMIM",
                 "MedGen": "MedGen", "MeSH": "MESH"}
_DATE_IN_NAME = re.compile(r"(\d{4}-\d{2}(?:-\d{2})?)")
_MISSING = ("", "-", "na", "-1")
_BLOCK_BYTES = 16 << 20


@dataclass(frozen=True)
class ClinVarVariant:
    """One variant_summary row of the chosen assembly, with its phenotype ids as CURIEs."""

    id: str  # "ClinVar:<VariationID>"
    allele_id: int
    gene_id: str | None  # "HGNC:n" when ClinVar gives the HGNC id, else "NCBIGene:n"
    gene_symbol: str | None
    clinical_significance: str | None
    review_status: str | None
    stars: int
    assembly: str
    chrom: str | None
    pos: int | None
    ref: str | None
    alt: str | None
    name: str | None
    origin: str | None
    phenotype_ids: tuple[str, ...]


def _open_binary(path: Path) -> IO[bytes]:
    with Path(path).open("rb") as probe:
        gz = probe.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gz else Path(path).open("rb")  # type: ignore[return-value]


def read_header(path: Path) -> list[str]:
    """Column names of a variant_summary file (the leading '#' of '#AlleleID' removed)."""
    try:
        with _open_binary(path) as handle:
            first = handle.readline().decode("utf-8")
    except (OSError, EOFError, UnicodeDecodeError) as err:
        raise SourceFormatError(path, 1, f"cannot read the header line: {err}") from err
    return [name.strip().lstrip("#") for name in first.rstrip("\r\n").split("\t")]


def _blocks(path: Path, block_bytes: int) -> Iterator[tuple[int, bytes]]:
    """(first line number, whole lines) blocks of the data lines, about `block_bytes` each."""
    line, rest = 2, b""
    with _open_binary(path) as handle:
        handle.readline()
        while chunk := handle.read(block_bytes):
            chunk = rest + chunk
            cut = chunk.rfind(b"\n") + 1
            if cut:
                yield line, chunk[:cut]
                line += chunk.count(b"\n", 0, cut)
            rest = chunk[cut:]
    if rest.strip():
        yield line, rest


def _prepare(frame: pl.LazyFrame, header: list[str], assembly: str | None, origin: str | Collection[str] | None) -> pl.LazyFrame:
    """Short column names, `stars`, `problem` (null on a good row); only rows kept or malformed remain."""
    names = {**REQUIRED_COLUMNS, **{k: v for k, v in _OPTIONAL_COLUMNS.items() if k in header}}
    # a short line comes back with nulls at its end; ClinVar never leaves the last field empty ("na", "-")
    frame = frame.select(pl.col("line"), pl.col(header[-1]).is_null().alias("_short"),
                         *(pl.col(k).alias(v) for k, v in names.items()))
    for short in set(_OPTIONAL_COLUMNS.values()) - set(names.values()):
        frame = frame.with_columns(pl.lit(None, pl.Utf8).alias(short))
    as_int = {c: pl.col(c).cast(pl.Int64, strict=False) for c in ("allele_id", "variation_id", "pos")}
    stars = pl.lit(None, pl.Int8)
    for value in sorted(set(REVIEW_STATUS_STARS.values())):
        statuses = [name for name, n in REVIEW_STATUS_STARS.items() if n == value]
        stars = pl.when(pl.col("review_status").is_in(statuses)).then(pl.lit(value, pl.Int8)).otherwise(stars)
    problem = (
        pl.when(pl.col("_short")).then(pl.lit(f"line has fewer than the header's {len(header)} fields"))
        .when(as_int["variation_id"].is_null()).then(pl.lit("VariationID is not an integer"))
        .when(as_int["allele_id"].is_null()).then(pl.lit("AlleleID is not an integer"))
        .when(stars.is_null()).then(pl.lit("unknown review status"))
        .when(as_int["pos"].is_null() & ~pl.col("pos").is_in(_MISSING)).then(pl.lit("PositionVCF is not an integer"))
        .otherwise(pl.lit(None, pl.Utf8))
    )
    keep = pl.lit(True)
    if assembly is not None:
        keep = keep & (pl.col("assembly") == assembly)
    if origin is not None:
        wanted = [origin] if isinstance(origin, str) else list(origin)
        # "germline/somatic" lists both origins, so it counts as germline
        keep = keep & pl.col("origin").str.split("/").list.eval(pl.element().is_in(wanted)).list.any()
    return (frame.with_columns(stars.alias("stars"), problem.alias("problem"))
            .filter(pl.col("problem").is_not_null() | keep.fill_null(False)).drop("_short"))


def iter_batches(path: Path, *, assembly: str | None = "GRCh38", origin: str | Collection[str] | None = "germline",
                 block_bytes: int = _BLOCK_BYTES) -> Iterator[pl.DataFrame]:
    """Frames of the rows of `assembly` and `origin` (None keeps all) plus every malformed row, block by block.

    Columns are the short names of REQUIRED_COLUMNS, `line` (1-based line in the file), `stars` and
    `problem` (null on a good row). Memory: one block of text (`block_bytes`, default 16 MiB) at a time.
    """
    path = Path(path)
    header = read_header(path)
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise SourceFormatError(path, 1, f"missing required column(s) {', '.join(missing)}; expected a ClinVar "
                                f"variant_summary header with {', '.join(REQUIRED_COLUMNS)} (34- or 40-column layout)")
    schema = {name: pl.Utf8 for name in header}
    wanted = [i for i, name in enumerate(header) if name in REQUIRED_COLUMNS or name in _OPTIONAL_COLUMNS or i == len(header) - 1]
    try:
        for first_line, block in _blocks(path, block_bytes):
            frame = pl.read_csv(block, has_header=False, schema=schema, columns=wanted, separator="\t", quote_char=None,
                                truncate_ragged_lines=True, empty_string_is_null=True,
                                row_index_name="line", row_index_offset=first_line)
            yield _prepare(frame.lazy(), header, assembly, origin).collect()
    except (pl.exceptions.ComputeError, OSError, EOFError) as err:  # invalid UTF-8, a corrupt gzip stream
        raise SourceFormatError(path, None, f"cannot read as a tab-separated ClinVar file: {err}") from err


def _variants(frame: pl.DataFrame, prov: dict[str, str | None]) -> pl.DataFrame:
    """The `variants` table from good scanned rows."""
    def text(col: str) -> pl.Expr:
        return pl.when(pl.col(col).is_in(_MISSING)).then(None).otherwise(pl.col(col))

    hgnc = pl.when(pl.col("hgnc_raw").str.contains(r"^HGNC:\d+$")).then(pl.col("hgnc_raw"))
    ncbi = pl.when(pl.col("gene_id_raw").str.contains(r"^[1-9]\d*$")).then(pl.col("gene_id_raw"))
    rs = pl.when(pl.col("rs").str.contains(r"^[1-9]\d*$")).then(pl.lit("rs") + pl.col("rs"))
    return frame.select(
        (pl.lit("ClinVar:") + pl.col("variation_id")).alias("id"), pl.col("allele_id").cast(pl.Int64),
        "variant_type", text("name").alias("name"),
        pl.coalesce(hgnc, pl.lit("NCBIGene:") + ncbi).alias("gene_id"), text("gene_symbol").alias("gene_symbol"),
        hgnc.alias("hgnc_id"), ncbi.alias("ncbi_gene_id"), text("clinical_significance").alias("clinical_significance"),
        pl.col("clinsig_simple").cast(pl.Int8, strict=False), text("last_evaluated").alias("last_evaluated"),
        text("review_status").alias("review_status"), "stars", pl.col("number_submitters").cast(pl.Int32, strict=False), "assembly",
        text("chrom").alias("chrom"), pl.col("pos").cast(pl.Int64, strict=False).replace(-1, None),
        text("ref").alias("ref"), text("alt").alias("alt"), rs.alias("rs_id"), text("origin").alias("origin"),
        text("somatic_clinical_impact").alias("somatic_clinical_impact"), text("oncogenicity").alias("oncogenicity"),
        pl.lit(prov["source"]).alias("source"), pl.lit(prov["release"], pl.Utf8).alias("release"),
    )


def _phenotype_curie() -> tuple[pl.Expr, pl.Expr]:
    """(disease_id, phenotype_db) of a PhenotypeIDS item such as "MONDO:MONDO:0013342" or "Orphanet:306511"."""
    db, local = pl.col("pid").str.extract(r"^([^:]+):", 1), pl.col("pid").str.replace(r"^[^:]+:", "")
    curie = (
        pl.when(db.is_in(["MONDO", "Human Phenotype Ontology"])).then(local)
        .when(db == "Orphanet").then(pl.lit("ORPHA:") + local.str.replace(r"^ORPHA", ""))
        .when(db == "MeSH").then(pl.lit("MESH:") + local)
        .otherwise(pl.col("pid"))
    )
    return curie, db.replace_strict(_PHENOTYPE_DB, default=db)


def _variant_diseases(frame: pl.DataFrame, prov: dict[str, str | None]) -> pl.DataFrame:
    """The `variant_diseases` table: one row per phenotype id; "|" separates phenotypes, "," (or ";") their ids."""
    curie, db = _phenotype_curie()
    return (
        frame.lazy()
        .select((pl.lit("ClinVar:") + pl.col("variation_id")).alias("variant_id"),
                pl.col("phenotype_ids").str.split("|").alias("groups"), pl.col("phenotype_list").str.split("|").alias("names"))
        .with_columns(pl.int_ranges(0, pl.col("groups").list.len()).alias("index"))
        .explode("groups", "index")
        .with_columns(pl.col("names").list.get(pl.col("index"), null_on_oob=True).alias("phenotype_name"))
        .with_columns(pl.col("groups").str.replace_all(";", ",").str.split(",").alias("pid"))
        .explode("pid")
        .with_columns(pl.col("pid").str.strip_chars())
        .filter(pl.col("pid").str.contains(":"))
        .select("variant_id", curie.alias("disease_id"), db.alias("phenotype_db"), "phenotype_name",
                pl.lit(prov["source"]).alias("source"), pl.lit(prov["release"], pl.Utf8).alias("release"))
        .collect()
    )


def _check(path: Path, bad: pl.DataFrame, report: ParseReport, skip: bool) -> None:
    """Raise on the first malformed row, or count each one in skip mode."""
    for row in bad.select("line", "problem", "variation_id", "review_status", "pos").iter_rows(named=True):
        detail = f"VariationID={row['variation_id']!r} ReviewStatus={row['review_status']!r} PositionVCF={row['pos']!r}"
        if not skip:
            expected = f"; expected one of {', '.join(repr(k) for k in REVIEW_STATUS_STARS)}" if row["problem"] == "unknown review status" else ""
            raise SourceFormatError(path, row["line"], f"{row['problem']} ({detail}){expected}")
        report.skip(str(row["problem"]), file=str(path), line=row["line"], detail=detail)


def iter_variants(path: Path, *, assembly: str | None = "GRCh38", origin: str | Collection[str] | None = "germline",
                  skip_bad_records: bool = False, report: ParseReport | None = None) -> Iterator[ClinVarVariant]:
    """Variants of `path` as records, streamed batch by batch (for inspection; `load_clinvar` builds tables)."""
    report = report if report is not None else ParseReport()
    for batch in iter_batches(path, assembly=assembly, origin=origin):
        _check(Path(path), batch.filter(pl.col("problem").is_not_null()), report, skip_bad_records)
        good = batch.filter(pl.col("problem").is_null())
        ids = _variant_diseases(good, {"source": None, "release": None}).group_by("variant_id", maintain_order=True).agg("disease_id")
        by_variant = dict(zip(ids["variant_id"], ids["disease_id"]))
        for row in _variants(good, {"source": None, "release": None}).iter_rows(named=True):
            yield ClinVarVariant(
                id=row["id"], allele_id=row["allele_id"], gene_id=row["gene_id"], gene_symbol=row["gene_symbol"],
                clinical_significance=row["clinical_significance"], review_status=row["review_status"], stars=row["stars"],
                assembly=row["assembly"], chrom=row["chrom"], pos=row["pos"], ref=row["ref"], alt=row["alt"],
                name=row["name"], origin=row["origin"], phenotype_ids=tuple(by_variant.get(row["id"], ())),
            )


def find_clinvar_file(source_dir: Path) -> Path | None:
    """`variant_summary.txt.gz` (or `.txt`) in `source_dir` or its `clinvar/`; None if absent."""
    for folder in (Path(source_dir), Path(source_dir) / "clinvar"):
        for name in ("variant_summary.txt.gz", "variant_summary.txt"):
            if (folder / name).is_file():
                return folder / name
    return None


def load_clinvar(path: Path, *, assembly: str | None = "GRCh38", origin: str | Collection[str] | None = "germline",
                 skip_bad_records: bool = False, release: str | None = None) -> SourceOutput:
    """Parse variant_summary into `variants` and `variant_diseases` (streamed; memory grows with the rows kept only).

    `origin` keeps rows whose OriginSimple lists it ("germline" keeps "germline/somatic" too); None keeps all.
    variant_summary carries no release date: pass `release`, else a date in the file name is used.
    """
    path = Path(path)
    if release is None and (match := _DATE_IN_NAME.search(path.name)):
        release = match.group(1)
    prov = {"source": f"clinvar:{path.name}", "release": release}
    report = ParseReport()
    parts: dict[str, list[pl.DataFrame]] = {"variants": [], "variant_diseases": []}
    for batch in iter_batches(path, assembly=assembly, origin=origin):  # only the rows kept stay in memory
        _check(path, batch.filter(pl.col("problem").is_not_null()), report, skip_bad_records)
        good = batch.filter(pl.col("problem").is_null())
        parts["variants"].append(conform("variants", _variants(good, prov)))  # Categorical per batch: small
        parts["variant_diseases"].append(conform("variant_diseases", _variant_diseases(good, prov)))
    tables = {name: pl.concat(frames, rechunk=False) if frames else empty_frame(name) for name, frames in parts.items()}
    return SourceOutput(files=[describe_file(prov["source"], path, release)], tables=tables, report=report,
                        extra={"clinvar": {"assembly": assembly, "origin": origin if origin is None or isinstance(origin, str) else sorted(origin),
                                           "rows_kept": tables["variants"].height}})
