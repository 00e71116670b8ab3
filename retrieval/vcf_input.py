"""A small VCF 4.x reader: records → `VariantIn` (gene from INFO annotations, zygosity from GT).

Reads plain or gzip/bgzip text. Gene symbols come from snpEff `ANN`, VEP `CSQ` (its header gives
the field order), ClinVar `GENEINFO`, or `GENE`/`SYMBOL`; zygosity from one sample's GT;
structural variants (`SVTYPE`, symbolic or breakend ALT) get a Sequence Ontology type name.
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Generator, Iterator
from contextlib import closing, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from pydantic import ValidationError

from raregraph.models import VariantIn, Zygosity
from raregraph.errors import InvalidCaseError, SourceFormatError
from raregraph.retrieval.phenopacket_input import fit_field

__all__ = ["variants_from_vcf", "zygosity_from_gt", "assembly_hint", "FIXED_COLUMNS"]

FIXED_COLUMNS = ("CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO")
TEXT_SOURCE = "<vcf text>"  # the path named in errors for VCF given as text

# VCF SVTYPE → the Sequence Ontology names phenopackets use for `structuralType`.
SV_TYPES = {
    "DEL": "chromosomal_deletion",
    "DUP": "chromosomal_duplication",
    "INV": "chromosomal_inversion",
    "INS": "insertion",
    "CNV": "copy_number_variation",
    "BND": "chromosomal_translocation",
    "TRA": "chromosomal_translocation",
}
_SV_OTHER = "chromosome_structure_variation"
_COLUMN_OF = {"chrom": "CHROM", "gene": "INFO", "structural_type": "INFO"}  # VariantIn field → the VCF column at fault
_ANN_GENE, _ANN_FEATURE, _ANN_HGVS_C, _ANN_HGVS_P = 3, 6, 9, 10  # snpEff ANN field positions
_BASES = re.compile(r"^[ACGTNacgtn]+$")
_BREAKEND = re.compile(r"[\[\]]")
# chr1 length → assembly, for VCFs whose ##contig lines name no assembly.
_CHR1_LENGTH = {"249250621": "GRCh37", "248956422": "GRCh38"}
_ASSEMBLY_PATTERNS = (
    (re.compile(r"grch38|hg38|hs38|assembly38|\bb38\b", re.IGNORECASE), "GRCh38"),
    (re.compile(r"grch37|hg19|hs37|b37|g1k_v37|assembly19|\bv37\b", re.IGNORECASE), "GRCh37"),
)


@dataclass
class _Header:
    """What the meta lines and the #CHROM line told us."""

    assembly: str | None = None
    contig_assembly: str | None = None
    csq_fields: list[str] = field(default_factory=list)
    n_columns: int = 0
    sample_column: int | None = None  # index into the record's columns


def assembly_hint(text: str) -> str | None:
    """GRCh37 or GRCh38 when `text` (a ##reference value or contig assembly) names one, else None.

    >>> assembly_hint("file:///ref/human_g1k_v37.fasta"), assembly_hint("hg38"), assembly_hint("x")
    ('GRCh37', 'GRCh38', None)
    """
    for pattern, name in _ASSEMBLY_PATTERNS:
        if pattern.search(text):
            return name
    return None


def zygosity_from_gt(gt: str, allele: int) -> Zygosity | None:
    """Zygosity of ALT allele number `allele` (1-based) in a GT value; None when the sample lacks it.

    Haploid `1` → hemizygous; all calls the allele → homozygous; some → heterozygous; a missing
    call beside it, or no call at all (`./.`, `.`) → unknown. Raises ValueError for a malformed GT.

    >>> zygosity_from_gt("0/1", 1), zygosity_from_gt("1|1", 1), zygosity_from_gt("1", 1), zygosity_from_gt("0/2", 1)
    ('heterozygous', 'homozygous', 'hemizygous', None)
    """
    calls: list[int | None] = []
    for part in re.split(r"[/|]", gt):
        if part == ".":
            calls.append(None)
        elif part.isdigit():
            calls.append(int(part))
        else:
            raise ValueError(f"malformed GT {gt!r}")
    carried = sum(1 for c in calls if c == allele)
    missing = any(c is None for c in calls)
    if carried == 0:
        return "unknown" if missing else None
    if missing:
        return "unknown"
    if len(calls) == 1:
        return "hemizygous"
    return "homozygous" if carried == len(calls) else "heterozygous"


def variants_from_vcf(
    path_or_text: Path | str, *, default_assembly: str | None = None, sample: str | None = None
) -> list[VariantIn]:
    """Every ALT allele of a VCF as a `VariantIn` (multi-allelic records split); linear in file size.

    A `str` holding a newline or starting with `#` is VCF text, else a path (plain or gzip/bgzip).
    Assembly comes from `##reference`, then `##contig` (its `assembly=` or chr1's length), else
    `default_assembly`; it is written GRCh37/GRCh38. Zygosity is read from `sample`'s GT (the first
    sample when not named; `unknown` without samples); alleles the sample does not carry (GT 0/0,
    or 0/2 for ALT 1) are left out, as are ALT `.` and `*`. FILTER is not applied. CHROM is kept
    as written (`1` or `chr1`). An allele longer than `VariantIn` holds is dropped (ref/alt None).

    Raises:
        SourceFormatError: unreadable file or gzip, no #CHROM line, a record with the wrong column
            count, a non-integer POS, a bad REF or GT (1-based line, and the field when one is at fault).
        InvalidCaseError: `sample` is not a sample column of the file.
    """
    is_text = isinstance(path_or_text, str) and ("\n" in path_or_text or path_or_text.startswith("#"))
    source = Path(TEXT_SOURCE) if is_text else Path(path_or_text)
    lines = iter(str(path_or_text).splitlines()) if is_text else _read_lines(source)
    header = _Header()
    variants: list[VariantIn] = []
    line_no = 0
    with closing(lines) if isinstance(lines, Generator) else nullcontext():
        for line_no, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            if line.startswith("##"):
                _meta_line(line, header)
            elif line.startswith("#"):
                _column_line(line, header, sample, source, line_no)
            elif header.n_columns == 0:
                raise SourceFormatError(source, line_no, "record before the #CHROM header line")
            else:
                variants.extend(_record(line, header, default_assembly, source, line_no))
    if header.n_columns == 0:
        raise SourceFormatError(source, line_no or None, "no #CHROM header line: not a VCF")
    return variants


def _read_lines(path: Path) -> Generator[str, None, None]:
    line_no = 0
    try:
        with path.open("rb") as probe:
            gzipped = probe.read(2) == b"\x1f\x8b"
        with gzip.open(path, "rb") if gzipped else path.open("rb") as handle:
            for line_no, raw in enumerate(handle, start=1):  # noqa: B007 (read in except); decoded per line, so an error names its line
                yield raw.decode("utf-8").rstrip("\r\n")
    except (gzip.BadGzipFile, EOFError, zlib.error) as e:
        raise SourceFormatError(path, line_no + 1, f"unreadable gzip: {e}") from e
    except UnicodeDecodeError as e:
        raise SourceFormatError(path, line_no, f"not UTF-8 text: {e}") from e
    except OSError as e:
        raise SourceFormatError(path, None, f"cannot read VCF: {e}") from e


def _meta_line(line: str, header: _Header) -> None:
    key, _, value = line[2:].partition("=")
    if key == "reference":
        header.assembly = header.assembly or assembly_hint(value)
    elif key == "contig":
        hint = re.search(r"assembly=\"?([^,>\"]+)", value)
        length = re.search(r"(?:^<|,)ID=(?:chr)?1,(?:.*,)?length=(\d+)", value)
        guess = (assembly_hint(hint.group(1)) if hint else None) or (_CHR1_LENGTH.get(length.group(1)) if length else None)
        header.contig_assembly = header.contig_assembly or guess
    elif key == "INFO" and value.startswith("<ID=CSQ,"):
        fmt = re.search(r"Format: ?([^\"]+)", value)
        if fmt:
            header.csq_fields = fmt.group(1).strip().split("|")


def _column_line(line: str, header: _Header, sample: str | None, source: Path, line_no: int) -> None:
    columns = line[1:].split("\t")
    if tuple(c.strip().upper() for c in columns[:8]) != FIXED_COLUMNS:
        raise SourceFormatError(
            source, line_no, f"#CHROM line must start with the 8 tab-separated columns {', '.join(FIXED_COLUMNS)}"
        )
    header.n_columns = len(columns)
    samples = columns[9:]
    if sample is not None:
        if sample not in samples:
            raise InvalidCaseError(f"sample {sample!r} is not in {source} (samples: {', '.join(samples) or 'none'})")
        header.sample_column = 9 + samples.index(sample)
    elif samples:
        header.sample_column = 9


def _record(line: str, header: _Header, default_assembly: str | None, source: Path, line_no: int) -> Iterator[VariantIn]:
    columns = line.split("\t")
    if len(columns) != header.n_columns:
        raise SourceFormatError(
            source, line_no, f"expected {header.n_columns} tab-separated columns as in the #CHROM line, got {len(columns)}"
        )
    chrom, pos_text, _id, ref, alt_text, _qual, _filter, info_text = columns[:8]
    if not chrom or chrom == ".":
        raise SourceFormatError(source, line_no, "missing chromosome", field="CHROM")
    if not pos_text.isdigit() or int(pos_text) < 1:
        raise SourceFormatError(source, line_no, f"POS must be a positive integer, got {pos_text!r}", field="POS")
    if not _BASES.match(ref):
        raise SourceFormatError(source, line_no, f"REF must be bases (A, C, G, T, N), got {ref[:40]!r}", field="REF")
    info = _info(info_text)
    genotype = _genotype(columns, header)
    assembly = header.assembly or header.contig_assembly or default_assembly
    for index, alt in enumerate(alt_text.split(","), start=1):
        if alt in (".", "*", ""):
            continue
        zygosity: Zygosity | None = "unknown"
        if genotype is not None:
            try:
                zygosity = zygosity_from_gt(genotype, index)
            except ValueError as e:
                raise SourceFormatError(source, line_no, str(e), field="GT") from e
            if zygosity is None:
                continue
        structural = _structural_type(alt, info)
        gene, hgvs_c, hgvs_p = _annotation(info, header, ref, alt, index)
        fields = {
            "gene": gene,
            "chrom": chrom,
            "pos": int(pos_text),
            "ref": fit_field("ref", ref.upper()),
            "alt": fit_field("alt", alt if structural else alt.upper()),
            "assembly": assembly,
            "hgvs_c": fit_field("hgvs_c", hgvs_c),
            "hgvs_p": fit_field("hgvs_p", hgvs_p),
            "hgvs_g": fit_field("hgvs_g", _per_allele(info.get("CLNHGVS"), index, alt_text.count(",") + 1)),
            "zygosity": zygosity,
            "structural_type": structural,
            "label": f"{info.get('SVTYPE') or alt.strip('<>')} {chrom}:{pos_text}-{info['END']}"
            if structural and "END" in info
            else None,
        }
        try:
            yield VariantIn.model_validate(fields)
        except ValidationError as e:
            problem = e.errors()[0]
            name = str(problem["loc"][0]) if problem["loc"] else None
            raise SourceFormatError(source, line_no, problem["msg"], field=_COLUMN_OF.get(name or "", name)) from e


def _info(text: str) -> dict[str, str]:
    if text in ("", "."):
        return {}
    out: dict[str, str] = {}
    for item in text.split(";"):
        key, _, value = item.partition("=")
        out[key] = value
    return out


def _genotype(columns: list[str], header: _Header) -> str | None:
    if header.sample_column is None:
        return None
    keys = columns[8].split(":")
    if "GT" not in keys:
        return "."
    values = columns[header.sample_column].split(":")
    index = keys.index("GT")
    return values[index] if index < len(values) else "."


def _structural_type(alt: str, info: dict[str, str]) -> str | None:
    svtype = info.get("SVTYPE")
    if alt.startswith("<") and alt.endswith(">"):
        svtype = svtype or alt[1:-1].split(":")[0]
    elif _BREAKEND.search(alt):
        svtype = svtype or "BND"
    elif svtype is None:
        return None
    return SV_TYPES.get(svtype.upper(), _SV_OTHER)


def _annotation(
    info: dict[str, str], header: _Header, ref: str, alt: str, index: int
) -> tuple[str | None, str | None, str | None]:
    """Gene, HGVS c. and p. for one ALT: snpEff ANN, then VEP CSQ, then GENEINFO/GENE/SYMBOL.

    ANN/CSQ entries of this allele give gene and HGVS; entries of other alleles give only a gene.
    """
    if "ANN" in info:
        entries = [e.split("|") for e in info["ANN"].split(",")]
        mine = [e for e in entries if e[0] == alt]
        for entry in mine or entries:
            if len(entry) > _ANN_GENE and entry[_ANN_GENE]:
                if not mine:
                    return entry[_ANN_GENE], None, None
                feature = entry[_ANN_FEATURE] if len(entry) > _ANN_FEATURE else ""
                return entry[_ANN_GENE], _hgvs(entry, _ANN_HGVS_C, feature), _hgvs(entry, _ANN_HGVS_P, "")
    if "CSQ" in info and "SYMBOL" in header.csq_fields:
        entries = [dict(zip(header.csq_fields, e.split("|"), strict=False)) for e in info["CSQ"].split(",")]
        vep_alt = (alt[1:] or "-") if ref[:1] == alt[:1] else alt  # VEP drops a shared first base
        mine = [e for e in entries if e.get("ALLELE_NUM") == str(index)] or [
            e for e in entries if "ALLELE_NUM" not in e and e.get("Allele") in (alt, vep_alt)
        ]
        for entry in sorted(mine or entries, key=lambda e: (e.get("PICK") != "1", e.get("CANONICAL") != "YES")):
            if entry.get("SYMBOL"):
                if not mine:
                    return entry["SYMBOL"], None, None
                return entry["SYMBOL"], unquote(entry.get("HGVSc", "")) or None, unquote(entry.get("HGVSp", "")) or None
    if "GENEINFO" in info:
        symbols = [pair.partition(":")[0] for pair in info["GENEINFO"].split("|") if pair]
        named = [s for s in symbols if not s.startswith("LOC")] or symbols
        if named:
            return named[0], None, None
    for key in ("GENE", "SYMBOL", "Gene"):
        if info.get(key):
            return info[key].split(",")[0].split("|")[0], None, None
    return None, None, None


def _hgvs(entry: list[str], position: int, feature: str) -> str | None:
    value = entry[position] if len(entry) > position else ""
    if not value:
        return None
    return f"{feature}:{value}" if feature and ":" not in value else value


def _per_allele(value: str | None, index: int, n_alts: int) -> str | None:
    if not value:
        return None
    parts = value.split(",")
    return unquote(parts[index - 1] if len(parts) == n_alts else parts[0])
