"""Case input readers: phenopackets, VCF, typed-in variants and cohorts, all into `CaseRequest`.

Phenopacket v2 reading lives in `phenopacket_input`, the VCF reader in `vcf_input`; both are
re-exported here, so callers import from this module only.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError

from raregraph.models import CaseRequest, VariantIn, Zygosity
from raregraph.errors import InvalidCaseError, RaregraphError, SourceFormatError
from raregraph.retrieval.phenopacket_input import case_from_phenopacket, fit_field, read_phenopacket
from raregraph.retrieval.vcf_input import variants_from_vcf, zygosity_from_gt

__all__ = [
    "case_from_phenopacket",
    "read_phenopacket",
    "variants_from_vcf",
    "zygosity_from_gt",
    "variant_from_text",
    "cases_from_path",
    "refseq_chromosome",
]

# RefSeq chromosome accession versions on GRCh37; GRCh38's is one more for every chromosome 1-22, X, Y.
_GRCH37_VERSION = dict(
    zip(
        [*map(str, range(1, 23)), "X", "Y"],
        [10, 11, 11, 11, 9, 11, 13, 10, 11, 10, 9, 11, 10, 8, 9, 9, 10, 9, 9, 10, 8, 10, 10, 9],
        strict=True,
    )
)
_ACCESSION = r"(?:[A-Z]{2}_\d+|ENS[TGP]\d+|LRG_\d+(?:t\d+)?)(?:\.\d+)?"
_SYMBOL = r"[A-Za-z][A-Za-z0-9-]*"
_CHROM = r"(?:chr)?(?:[1-9]|1\d|2[0-2]|X|Y|MT?)"
_SEP = r"[:\-_\s]+"
_COORDINATES = re.compile(
    rf"^(?P<chrom>{_CHROM}){_SEP}(?P<pos>\d+)(?:{_SEP}|(?=[ACGTN]))(?P<ref>[ACGTN]+)(?:[:\-_\s>/]+)(?P<alt>[ACGTN]+)$",
    re.IGNORECASE,
)
_HGVS = re.compile(
    rf"^(?:(?P<acc>{_ACCESSION})\s*(?:\(\s*(?P<gene>{_SYMBOL})\s*\))?|(?P<bare_gene>{_SYMBOL}))"
    r"(?:\s*:\s*|\s+)(?P<kind>[cgnmp])\.(?P<change>\S+?)(?:\s*\(\s*(?P<protein>p\.(?:\([^()]+\)|[^()\s]+))\s*\))?$"
)
_GENE = re.compile(rf"^{_SYMBOL}$")
_G_SUBSTITUTION = re.compile(r"^(?P<pos>\d+)(?P<ref>[ACGT])>(?P<alt>[ACGT])$")
_HGVS_FIELD = {"c": "hgvs_c", "n": "hgvs_c", "p": "hgvs_p", "g": "hgvs_g", "m": "hgvs_g"}


def refseq_chromosome(accession: str) -> tuple[str, str | None] | None:
    """Chromosome and assembly of a RefSeq chromosome accession, None for any other accession.

    >>> refseq_chromosome("NC_000015.10"), refseq_chromosome("NC_000023.10"), refseq_chromosome("NM_000138.5")
    (('chr15', 'GRCh38'), ('chrX', 'GRCh37'), None)
    """
    match = re.fullmatch(r"NC_0000(\d\d)(?:\.(\d+))?", accession)
    if accession.startswith("NC_012920"):
        return "chrM", None
    if match is None or not 1 <= int(match[1]) <= 24:
        return None
    name = {23: "X", 24: "Y"}.get(int(match[1]), str(int(match[1])))
    version = int(match[2]) if match[2] else None
    assembly = {_GRCH37_VERSION[name]: "GRCh37", _GRCH37_VERSION[name] + 1: "GRCh38"}.get(version) if version else None
    return f"chr{name}", assembly


def variant_from_text(text: str, *, assembly: str | None = None, zygosity: Zygosity | None = None) -> VariantIn:
    """One typed-in variant: a gene symbol, an HGVS (`NM_000138.5(FBN1):c.8080C>T`, `FBN1:c.8080C>T`) or coordinates.

    Coordinates are `chr15:48411241:G:A`, `15-48411241-G-A` or `15:48411241 G>A` (on `assembly`).
    An HGVS keeps its accession (`NM_000138.5:c.8080C>T`); without one, only `c.8080C>T`. A
    `NC_` genomic HGVS also gives chromosome and assembly, and a substitution its pos/ref/alt.

    Raises:
        InvalidCaseError: the text is none of these forms.
    """
    value = " ".join(text.split())
    if not value:
        raise InvalidCaseError("empty variant")
    if match := _COORDINATES.match(value):
        chrom = match["chrom"]
        chrom = ("chr" + chrom[3:].upper()) if chrom.lower().startswith("chr") else chrom.upper()
        return _variant(
            value, chrom=chrom, pos=int(match["pos"]), ref=fit_field("ref", match["ref"].upper()),
            alt=fit_field("alt", match["alt"].upper()), assembly=assembly, zygosity=zygosity,
        )
    if match := _HGVS.match(value):
        fields: dict[str, object] = {"gene": match["gene"] or match["bare_gene"], "assembly": assembly, "zygosity": zygosity}
        accession = match["acc"]
        fields[_HGVS_FIELD[match["kind"]]] = f"{accession + ':' if accession else ''}{match['kind']}.{match['change']}"
        if match["protein"]:
            fields["hgvs_p"] = match["protein"]
        location = refseq_chromosome(accession) if accession and match["kind"] == "g" else None
        if location is not None:
            fields["chrom"], fields["assembly"] = location[0], location[1] or assembly
            if sub := _G_SUBSTITUTION.match(match["change"]):
                fields.update(pos=int(sub["pos"]), ref=sub["ref"], alt=sub["alt"])
        return _variant(value, **fields)
    if _GENE.match(value) and len(value) <= 64:
        return _variant(value, gene=_normalise_symbol(value), assembly=assembly, zygosity=zygosity)
    raise InvalidCaseError(
        f"cannot read variant {text!r}: expected a gene symbol (FBN1), an HGVS (NM_000138.5(FBN1):c.8080C>T, "
        "FBN1:c.8080C>T) or coordinates (chr15:48411241:G:A, 15-48411241-G-A)"
    )


def cases_from_path(path: Path) -> Iterator[tuple[int, CaseRequest | Exception]]:
    """Cases of a cohort, each with its position, so a caller reports a bad case and goes on.

    A directory: its `*.json` phenopackets sorted by name, numbered from 1; an error is a
    `RaregraphError` (`InvalidCaseError`, `SourceFormatError`). A `.json` file: one phenopacket.
    Anything else is JSONL (`.jsonl.gz` too), one case per line with the eval README's fields,
    numbered by 1-based line (blank lines skipped); a line that is not JSON or not a valid case
    yields the pydantic `ValidationError`. Cases without an `id` keep None (phenopackets: file stem).

    Raises:
        InvalidCaseError: `path` does not exist.
        SourceFormatError: a JSONL file that cannot be read (not UTF-8, broken gzip).
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() == ".json" and p.is_file())
        for index, file in enumerate(files, start=1):
            yield index, _phenopacket_or_error(file)
    elif not path.is_file():
        raise InvalidCaseError(f"{path}: no such file or directory")
    elif path.suffix.lower() == ".json":
        yield 1, _phenopacket_or_error(path)
    else:
        yield from _jsonl_cases(path)


def _phenopacket_or_error(path: Path) -> CaseRequest | Exception:
    try:
        return case_from_phenopacket(path)
    except RaregraphError as e:
        return e


def _jsonl_cases(path: Path) -> Iterator[tuple[int, CaseRequest | Exception]]:
    line_no = 0
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8") as handle:  # type: ignore[operator]
            for line_no, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    yield line_no, CaseRequest.model_validate_json(line)
                except ValidationError as e:
                    yield line_no, e
    except (OSError, EOFError, UnicodeDecodeError) as e:
        raise SourceFormatError(path, line_no + 1, f"cannot read cases: {e}") from e


def _variant(text: str, **fields: object) -> VariantIn:
    try:
        return VariantIn.model_validate(fields)
    except ValidationError as e:
        raise InvalidCaseError(f"cannot read variant {text!r}: {e.errors()[0]['msg']}") from e


def _normalise_symbol(symbol: str) -> str:
    """HGNC case for a symbol typed all in lower case: `fbn1` → `FBN1`, `c9orf72` → `C9orf72`."""
    if not symbol.islower():
        return symbol
    return re.sub(r"(?<=\d)ORF(?=\d)", "orf", symbol.upper())
