"""MONDO's SSSOM mappings (`mondo.sssom.tsv`): MONDO diseases and their OMIM / Orphanet / DECIPHER ids.

MONDO states, per disease class, which OMIM, Orphanet and DECIPHER entries are the same disease
(`skos:exactMatch`) or only related (`skos:broadMatch`, `narrowMatch`, `closeMatch`,
`relatedMatch`). The loader emits each MONDO class that maps to one of those databases as a
disease (database "MONDO") with one `disease_xrefs` row per mapping; only exact matches are
equivalences, so an OMIM entry and an Orphanet entry that are exact matches of one MONDO class
end up in one equivalence group (etl.merge) and are listed once. Mappings to other vocabularies
(DOID, UMLS, MeSH, …) are counted, not kept: the snapshot has no such diseases.

The format (https://mapping-commons.github.io/sssom/): `#`-prefixed YAML metadata lines first
(`mapping_set_version`, `mapping_date`, `license`, …), then a tab-separated table whose header
names the columns; `subject_id`, `predicate_id` and `object_id` are required.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from raregraph.errors import SourceFormatError, SourceMissingError
from raregraph.etl.sources.base import ParseReport, SourceOutput, describe_file
from raregraph.etl.tables import conform, empty_frame

__all__ = ["FILE_NAME", "RELEASE_KEYS", "load_mondo_sssom", "find_mondo_sssom", "read_metadata"]

FILE_NAME = "mondo.sssom.tsv"
_REQUIRED = ("subject_id", "predicate_id", "object_id")
_PREDICATES = {  # SKOS mapping predicate -> (relation label, exact)
    "skos:exactMatch": ("exact match", True),
    "skos:closeMatch": ("close match", False),
    "skos:broadMatch": ("broad match", False),
    "skos:narrowMatch": ("narrow match", False),
    "skos:relatedMatch": ("related match", False),
}
# Object prefixes the snapshot has diseases for, and their snapshot spelling.
_DATABASES = {"OMIM": "OMIM", "Orphanet": "ORPHA", "ORPHA": "ORPHA", "DECIPHER": "DECIPHER"}
_MONDO_ID = re.compile(r"^MONDO:\d{7}$")
_LOCAL_ID = re.compile(r"^\d+$")
RELEASE_KEYS = ("mapping_set_version", "mapping_date", "publication_date")


def find_mondo_sssom(source_dir: Path) -> Path | None:
    """`mondo.sssom.tsv` in `source_dir` or its `mondo/` folder, if there is one."""
    for folder in (Path(source_dir), Path(source_dir) / "mondo"):
        if (folder / FILE_NAME).is_file():
            return folder / FILE_NAME
    return None


def read_metadata(path: Path) -> tuple[dict[str, str], int]:
    """The top-level `key: value` pairs of the `#` metadata block, and how many lines it has."""
    meta: dict[str, str] = {}
    lines = 0
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.startswith("#"):
                break
            lines += 1
            body = line[1:].rstrip("\n")
            body = body[1:] if body.startswith(" ") else body  # "# key: value"
            if body and not body.startswith((" ", "\t")) and ":" in body:  # nested keys (curie_map entries) are indented
                key, _, value = body.partition(":")
                meta[key.strip()] = value.strip().strip("'\"")
    return meta, lines


def load_mondo_sssom(path: Path, *, skip_bad_records: bool = False) -> SourceOutput:
    """Parse a MONDO SSSOM TSV into `diseases` (the MONDO classes kept) and `disease_xrefs`."""
    path = Path(path)
    if not path.is_file():
        raise SourceMissingError(f"MONDO SSSOM file not found: {path}")
    meta, meta_lines = read_metadata(path)
    header_line = meta_lines + 1
    try:
        table = pl.read_csv(path, separator="\t", comment_prefix="#", quote_char=None, infer_schema=False)
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as err:
        raise SourceFormatError(path, header_line, f"not a tab-separated SSSOM table: {err}") from err
    missing = [c for c in _REQUIRED if c not in table.columns]
    if missing:
        raise SourceFormatError(path, header_line, f"header lacks {', '.join(missing)}; expected the SSSOM columns "
                                f"{', '.join(_REQUIRED)} (found {', '.join(table.columns[:8]) or 'none'})")
    release = next((meta[k] for k in RELEASE_KEYS if meta.get(k)), None)
    prov = {"source": f"mondo:{path.name}", "release": release}
    report = ParseReport()
    label = pl.col("subject_label") if "subject_label" in table.columns else pl.lit(None, pl.Utf8)
    rows = table.select(pl.col("subject_id").fill_null(""), label.alias("subject_label"),
                        pl.col("predicate_id").fill_null(""), pl.col("object_id").fill_null(""))

    diseases: dict[str, str | None] = {}
    xrefs: list[dict[str, object]] = []
    other_vocabularies = 0
    for offset, (subject, subject_label, predicate, obj) in enumerate(rows.iter_rows()):
        line = header_line + 1 + offset
        prefix, _, local = obj.partition(":")
        if prefix not in _DATABASES:
            other_vocabularies += 1
            continue
        problem = _problem(subject, predicate, local)
        if problem:
            if not skip_bad_records:
                raise SourceFormatError(path, line, problem[1], field=problem[0])
            report.skip(f"bad {problem[0]}", file=str(path), line=line, detail=problem[1])
            continue
        relation, exact = _PREDICATES[predicate]
        database = _DATABASES[prefix]
        diseases.setdefault(subject, subject_label or None)
        xrefs.append({"disease_id": subject, "xref_id": f"{database}:{local}", "xref_database": database,
                      "mapping_relation": predicate, "mapping_relation_label": relation, "mapping_exact": exact, **prov})
    tables = {
        "diseases": conform("diseases", pl.DataFrame(
            [{"id": d, "name": name, "database": "MONDO", **prov} for d, name in diseases.items()], infer_schema_length=None))
        if diseases else empty_frame("diseases"),
        "disease_xrefs": conform("disease_xrefs", pl.DataFrame(xrefs, infer_schema_length=None)).unique(maintain_order=True)
        if xrefs else empty_frame("disease_xrefs"),
    }
    extra = {"mondo": {"metadata": {k: meta[k] for k in (*RELEASE_KEYS, "license", "mapping_set_id") if k in meta},
                       "mappings_to_other_vocabularies": other_vocabularies}}
    return SourceOutput(files=[describe_file(str(prov["source"]), path, release)], tables=tables, report=report, extra=extra)


def _problem(subject: str, predicate: str, local: str) -> tuple[str, str] | None:
    """(field, what is wrong) for a mapping row to a disease database, or None when it is well formed."""
    if not _MONDO_ID.match(subject):
        return "subject_id", f"{subject!r} is not a MONDO id (expected MONDO: and 7 digits)"
    if predicate not in _PREDICATES:
        return "predicate_id", f"{predicate!r} is not a SKOS mapping predicate (expected one of {', '.join(_PREDICATES)})"
    if not _LOCAL_ID.match(local):
        return "object_id", f"{local!r} is not a numeric accession"
    return None
