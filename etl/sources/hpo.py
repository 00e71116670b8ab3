"""HPO release files: `hp.obo` (pronto), `phenotype.hpoa` and `genes_to_phenotype.txt`."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from raregraph.errors import SourceFormatError, SourceMissingError
from raregraph.etl.provenance import UNKNOWN
from raregraph.etl.sources.base import ParseReport, SourceOutput, describe_file
from raregraph.etl.sources.hpo_frequency import parse_hpo_frequency
from raregraph.etl.tables import conform

__all__ = [
    "HpoPaths", "HpoaRow", "HPOA_COLUMNS", "ASPECTS",
    "find_hpo_files", "load_hpo", "parse_obo", "iter_hpoa", "read_hpoa_version", "read_obo_version",
]

OBO_NAME, HPOA_NAME, G2P_NAME = "hp.obo", "phenotype.hpoa", "genes_to_phenotype.txt"

HPOA_COLUMNS = (
    "database_id", "disease_name", "qualifier", "hpo_id", "reference", "evidence",
    "onset", "frequency", "sex", "modifier", "aspect", "biocuration",
)
# P phenotype, I inheritance, C clinical course, M modifier, H past medical history (added 2024)
ASPECTS = frozenset({"P", "I", "C", "M", "H"})
EVIDENCE_CODES = frozenset({"IEA", "PCS", "TAS", "ICE"})
DATABASES = frozenset({"OMIM", "ORPHA", "DECIPHER"})
G2P_COLUMNS = ("ncbi_gene_id", "gene_symbol", "hpo_id", "hpo_name", "frequency", "disease_id")

_HPO_ID = re.compile(r"^HP:\d{7}$")
_DISEASE_ID = re.compile(r"^(OMIM|ORPHA|DECIPHER):\d+$")
_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})")


@dataclass(frozen=True)
class HpoPaths:
    """The three HPO release files of one release folder."""

    obo: Path
    hpoa: Path
    genes_to_phenotype: Path


def find_hpo_files(source_dir: Path) -> HpoPaths:
    """Locate the HPO release files in `source_dir`; raise naming every missing one."""
    paths = HpoPaths(source_dir / OBO_NAME, source_dir / HPOA_NAME, source_dir / G2P_NAME)
    missing = [str(p) for p in (paths.obo, paths.hpoa, paths.genes_to_phenotype) if not p.is_file()]
    if missing:
        raise SourceMissingError(f"HPO release file(s) not found: {', '.join(missing)}")
    return paths


# --- hp.obo ---------------------------------------------------------------------------------


def parse_obo(path: Path) -> tuple[dict[str, pl.DataFrame], str | None]:
    """Parse hp.obo into the `terms`, `term_synonyms` and `term_parents` frames, plus the release date."""
    import pronto  # heavy-ish import, only needed when building

    try:
        with warnings.catch_warnings():
            # pronto guesses the encoding and warns; HPO files are UTF-8 and we read them as such.
            warnings.simplefilter("ignore")
            onto = pronto.Ontology(str(path))
    except SyntaxError as err:  # fastobo reports the line and the text it choked on
        line_text = (err.text or "").strip()
        raise SourceFormatError(path, err.lineno, f"malformed OBO: {err.msg} (at {line_text!r})") from err
    except (OSError, ValueError) as err:
        raise SourceFormatError(path, None, f"cannot read OBO file: {err}") from err

    release = _release_from_text(onto.metadata.data_version or "")
    try:
        terms, synonyms, parents = _obo_rows(onto)
    except ValueError as err:  # pronto checks references (e.g. undeclared synonym types) lazily
        raise SourceFormatError(path, None, f"inconsistent OBO content: {err}") from err
    if not terms:
        raise SourceFormatError(path, None, "no HPO [Term] stanzas found (expected ids like HP:0000001)")
    prov = {"source": pl.lit(f"hpo:{path.name}"), "release": pl.lit(release)}
    frames = {
        "terms": pl.DataFrame(terms, infer_schema_length=None).with_columns(**prov),
        "term_synonyms": pl.DataFrame(synonyms, infer_schema_length=None).with_columns(**prov),
        "term_parents": pl.DataFrame(parents).with_columns(**prov),
    }
    return frames, release


def _obo_rows(onto: object) -> tuple[list[dict[str, object]], list[dict[str, object]], list[dict[str, object]]]:
    terms: list[dict[str, object]] = []
    synonyms: list[dict[str, object]] = []
    parents: list[dict[str, object]] = []
    # pronto yields terms, synonyms and superclasses in hash order, which changes from one process to
    # the next: sorted, the same hp.obo always gives the same tables (and the same ranking: the
    # chance level is taken over a systematic sample of annotations in term order).
    for term in sorted(onto.terms(), key=lambda t: t.id):  # type: ignore[attr-defined]
        if not _HPO_ID.match(term.id):
            continue  # hp.obo imports a few non-HPO ids (e.g. UPHENO); they are not HPO terms
        replaced = sorted(t.id for t in term.replaced_by) if term.obsolete else []
        terms.append({
            "id": term.id,
            "label": term.name or "",
            "definition": str(term.definition) if term.definition else None,
            "comment": term.comment,
            "obsolete": bool(term.obsolete),
            "replaced_by": replaced[0] if replaced else None,
            "consider": sorted(t.id for t in term.consider) if term.obsolete else [],
            "alt_ids": sorted(term.alternate_ids),
            "xrefs": sorted(x.id for x in term.xrefs),
        })
        for syn in sorted(term.synonyms, key=lambda y: (y.description, y.scope, y.type.id if y.type else "")):
            synonyms.append({
                "term_id": term.id, "synonym": syn.description, "scope": syn.scope,
                "synonym_type": syn.type.id if syn.type else None,
            })
        if not term.obsolete:
            for parent in sorted(term.superclasses(distance=1, with_self=False), key=lambda t: t.id):
                if _HPO_ID.match(parent.id):
                    parents.append({"term_id": term.id, "parent_id": parent.id})
    return terms, synonyms, parents


def read_obo_version(path: Path) -> str | None:
    """The release date of an OBO file's `data-version:` header line (`hp/releases/2026-06-06`)."""
    with path.open(encoding="utf-8", errors="replace") as handle:
        for _, line in zip(range(50), handle):
            if line.startswith("data-version:"):
                return line.split("/")[-1].strip() or None
    return None


def _release_from_text(text: str) -> str | None:
    match = _DATE.search(text)
    return match.group(1) if match else (text or None)


# --- phenotype.hpoa -------------------------------------------------------------------------


@dataclass(frozen=True)
class HpoaRow:
    """One row of phenotype.hpoa, validated and with its frequency normalised."""

    line: int
    database_id: str
    disease_name: str
    negated: bool
    hpo_id: str
    references: tuple[str, ...]
    evidence: str
    onset: str | None
    frequency: float | None
    frequency_min: float | None
    frequency_max: float | None
    frequency_raw: str | None
    sex: str | None
    modifiers: tuple[str, ...]
    aspect: str
    biocuration: str


def read_hpoa_version(path: Path) -> str | None:
    """The `#version:` date from the hpoa header, if present."""
    with path.open(encoding="utf-8") as handle:
        for raw in handle:
            if not raw.startswith("#"):
                break
            if raw.lower().startswith(("#version:", "#date:")):
                return _release_from_text(raw.split(":", 1)[1])
    return None


def iter_hpoa(path: Path, report: ParseReport | None = None) -> Iterator[HpoaRow]:
    """Yield validated rows of phenotype.hpoa; a bad row raises (or is skipped into `report`)."""
    with path.open(encoding="utf-8") as handle:
        header_seen = False
        for lineno, raw in enumerate(handle, start=1):
            text = raw.rstrip("\n").rstrip("\r")
            if not text or text.startswith("#"):
                continue
            fields = text.split("\t")
            if not header_seen:
                header_seen = True
                if fields[0] == "database_id":
                    if tuple(fields) != HPOA_COLUMNS:
                        raise SourceFormatError(path, lineno, f"unexpected header; expected columns {', '.join(HPOA_COLUMNS)}")
                    continue
            try:
                yield _hpoa_row(fields, lineno)
            except _RowError as err:
                if report is None:
                    raise SourceFormatError(path, lineno, err.message, field=err.field) from None
                report.skip(err.reason, file=str(path), line=lineno, detail=str(err.message))


class _RowError(Exception):
    def __init__(self, field: str | None, message: str, reason: str) -> None:
        super().__init__(message)
        self.field, self.message, self.reason = field, message, reason


def _hpoa_row(fields: list[str], lineno: int) -> HpoaRow:
    if len(fields) != len(HPOA_COLUMNS):
        raise _RowError(None, f"expected {len(HPOA_COLUMNS)} tab-separated columns, found {len(fields)}", "column_count")
    row = dict(zip(HPOA_COLUMNS, fields))
    if not _DISEASE_ID.match(row["database_id"]):
        raise _RowError("database_id", f"expected OMIM:n, ORPHA:n or DECIPHER:n, got {row['database_id']!r}", "bad_disease_id")
    if not _HPO_ID.match(row["hpo_id"]):
        raise _RowError("hpo_id", f"expected an HPO id like HP:0000118, got {row['hpo_id']!r}", "bad_hpo_id")
    if row["aspect"] not in ASPECTS:
        raise _RowError("aspect", f"expected one of {'/'.join(sorted(ASPECTS))}, got {row['aspect']!r}", "bad_aspect")
    if row["qualifier"] not in ("", "NOT"):
        raise _RowError("qualifier", f"expected empty or NOT, got {row['qualifier']!r}", "bad_qualifier")
    try:
        freq = parse_hpo_frequency(row["frequency"])
    except ValueError as err:
        raise _RowError("frequency", str(err), "bad_frequency") from None
    negated = row["qualifier"] == "NOT" or freq.excluded
    return HpoaRow(
        line=lineno,
        database_id=row["database_id"],
        disease_name=row["disease_name"],
        negated=negated,
        hpo_id=row["hpo_id"],
        references=tuple(r for r in row["reference"].split(";") if r),
        evidence=row["evidence"],
        onset=row["onset"] or None,
        frequency=freq.value,
        frequency_min=freq.low,
        frequency_max=freq.high,
        frequency_raw=row["frequency"] or None,
        sex=row["sex"].upper() or None,
        modifiers=tuple(m for m in row["modifier"].split(";") if m),
        aspect=row["aspect"],
        biocuration=row["biocuration"],
    )


def _hpoa_frames(
    path: Path, release: str | None, report: ParseReport | None, exclude_references: frozenset[str]
) -> tuple[dict[str, pl.DataFrame], dict[str, object]]:
    source = f"hpo:{path.name}"
    diseases: dict[str, str] = {}
    phenotypes: list[dict[str, object]] = []
    inheritance: list[dict[str, object]] = []
    dropped = 0
    for row in iter_hpoa(path, report):
        diseases.setdefault(row.database_id, row.disease_name)
        # An annotation that cites only excluded papers is dropped (leak control for evaluation).
        if exclude_references and row.references and all(r in exclude_references for r in row.references):
            dropped += 1
            continue
        if row.aspect == "I":
            inheritance.append({
                "disease_id": row.database_id, "term_id": row.hpo_id, "evidence": row.evidence,
                "references": list(row.references),
            })
            continue
        phenotypes.append({
            "disease_id": row.database_id, "term_id": row.hpo_id, "negated": row.negated,
            "frequency": row.frequency, "frequency_min": row.frequency_min, "frequency_max": row.frequency_max,
            "frequency_raw": row.frequency_raw, "onset": row.onset, "sex": row.sex,
            "modifiers": list(row.modifiers), "aspect": row.aspect, "evidence": row.evidence,
            "references": list(row.references), "biocuration": row.biocuration,
        })
    prov = {"source": pl.lit(source), "release": pl.lit(release)}
    disease_frame = pl.DataFrame(
        {"id": list(diseases), "name": list(diseases.values())}
    ).with_columns(database=pl.col("id").str.split(":").list.first(), **prov)
    frames = {
        "diseases": disease_frame,
        "disease_phenotypes": pl.DataFrame(phenotypes, infer_schema_length=None).with_columns(**prov),
        "disease_inheritance": pl.DataFrame(inheritance, infer_schema_length=None).with_columns(**prov),
    }
    return frames, {"annotations_dropped_by_excluded_references": dropped}


# --- genes_to_phenotype.txt -----------------------------------------------------------------


def _g2p_frames(path: Path, release: str | None) -> dict[str, pl.DataFrame]:
    with path.open(encoding="utf-8") as handle:
        header = tuple(handle.readline().rstrip("\n").split("\t"))
    if header != G2P_COLUMNS:
        raise SourceFormatError(path, 1, f"unexpected header {header}; expected columns {', '.join(G2P_COLUMNS)}")
    try:
        raw = pl.read_csv(path, separator="\t", quote_char=None, infer_schema=False)
    except pl.exceptions.PolarsError as err:
        raise SourceFormatError(path, None, f"not a tab-separated table with {len(G2P_COLUMNS)} columns: {err}") from err
    _check_g2p_values(path, raw)
    prov = {"source": pl.lit(f"hpo:{path.name}"), "release": pl.lit(release)}
    with_gene = raw.with_columns(gene_id=pl.concat_str(pl.lit("NCBIGene:"), pl.col("ncbi_gene_id")))
    genes = (
        with_gene.select(id="gene_id", symbol="gene_symbol", ncbi_gene_id="ncbi_gene_id")
        .unique(subset="id", keep="first").sort("id").with_columns(**prov)
    )
    disease_genes = (
        with_gene.select("disease_id", "gene_id").unique().sort("disease_id", "gene_id").with_columns(**prov)
    )
    gene_phenotypes = with_gene.select(
        "gene_id", term_id="hpo_id", disease_id="disease_id",
        frequency_raw=pl.when(pl.col("frequency") == "-").then(None).otherwise(pl.col("frequency")),
    ).with_columns(**prov)
    return {"genes": genes, "disease_genes": disease_genes, "gene_phenotypes": gene_phenotypes}


def _check_g2p_values(path: Path, raw: pl.DataFrame) -> None:
    checks = (
        ("ncbi_gene_id", pl.col("ncbi_gene_id").str.contains(r"^\d+$"), "a numeric NCBI gene id"),
        ("hpo_id", pl.col("hpo_id").str.contains(r"^HP:\d{7}$"), "an HPO id like HP:0000118"),
        ("disease_id", pl.col("disease_id").str.contains(r"^(OMIM|ORPHA|DECIPHER):\d+$"), "a disease id like OMIM:154700"),
    )
    for column, ok, expected in checks:
        bad = raw.with_row_index("row").filter(~ok.fill_null(False)).head(1)
        if bad.height:
            line = int(bad["row"][0]) + 2  # header is line 1
            raise SourceFormatError(path, line, f"expected {expected}, got {bad[column][0]!r}", field=column)


# --- the loader -----------------------------------------------------------------------------


def load_hpo(
    paths: HpoPaths, *, skip_bad_records: bool = False, exclude_references: frozenset[str] = frozenset()
) -> SourceOutput:
    """Parse one HPO release into snapshot tables (terms, annotations, genes) with provenance."""
    report = ParseReport()
    obo_frames, obo_release = parse_obo(paths.obo)
    hpoa_release = read_hpoa_version(paths.hpoa)
    hpoa_frames, hpoa_notes = _hpoa_frames(
        paths.hpoa, hpoa_release, report if skip_bad_records else None, exclude_references
    )
    # genes_to_phenotype.txt states no release, and may come from another release than the hpoa
    # beside it (issue 14): its rows say `unknown`, its manifest entry where the file came from.
    g2p_frames = _g2p_frames(paths.genes_to_phenotype, UNKNOWN)
    tables = {name: conform(name, frame) for name, frame in {**obo_frames, **hpoa_frames, **g2p_frames}.items()}
    files = [
        describe_file(f"hpo:{OBO_NAME}", paths.obo, obo_release),
        describe_file(f"hpo:{HPOA_NAME}", paths.hpoa, hpoa_release),
        describe_file(f"hpo:{G2P_NAME}", paths.genes_to_phenotype, UNKNOWN),
    ]
    notes: dict[str, object] = {"hpo_release": obo_release, "hpoa_release": hpoa_release, **hpoa_notes}
    if exclude_references:
        notes["excluded_references"] = len(exclude_references)
    return SourceOutput(files=files, tables=tables, report=report, extra=notes)
