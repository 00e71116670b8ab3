"""OMIM release files `mim2gene.txt`, `genemap2.txt` and `morbidmap.txt`, read by column position.

OMIM files are licensed: this code reads the files a user supplies; nothing is bundled.
Header names differ between releases ("Gene Symbols" / "Gene/Locus And Other Related
Symbols"), so columns are taken by position and lines starting with `#` are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from raregraph.errors import SourceFormatError
from raregraph.etl.sources.base import ParseReport, SourceFile, SourceOutput, describe_file
from raregraph.etl.tables import conform, empty_frame

__all__ = [
    "MAPPING_KEYS", "OMIM_INHERITANCE_TO_HPO", "GeneMapRow", "Mim2GeneRow", "MorbidMapRow", "OmimPaths",
    "OmimPhenotype", "find_omim_files", "iter_genemap2", "iter_mim2gene", "iter_morbidmap", "load_omim",
    "parse_phenotype", "parse_phenotypes", "read_release",
]

FILE_NAMES = {"mim2gene": "mim2gene.txt", "genemap2": "genemap2.txt", "morbidmap": "morbidmap.txt"}
MAPPING_KEYS = {
    1: "mapped by association, defect unknown", 2: "mapped by linkage, no mutation found",
    3: "molecular basis known", 4: "contiguous gene deletion or duplication syndrome",
}
OMIM_INHERITANCE_TO_HPO = {
    "Autosomal dominant": "HP:0000006", "Autosomal recessive": "HP:0000007", "X-linked": "HP:0001417",
    "X-linked recessive": "HP:0001419", "X-linked dominant": "HP:0001423", "Y-linked": "HP:0001450",
    "Mitochondrial": "HP:0001427", "Digenic dominant": "HP:0010984", "Digenic recessive": "HP:0010984",
    "Multifactorial": "HP:0001426", "Somatic mosaicism": "HP:0001442", "Isolated cases": "HP:0003745",
    "Pseudoautosomal dominant": "HP:0034340", "Pseudoautosomal recessive": "HP:0034341",
}
# "<name>[, <6-digit MIM>] (<mapping key>)[, <inheritance>, …]"
_PHENOTYPE = re.compile(r"^(?P<name>.+?)(?:,\s*(?P<mim>\d{6}))?\s*\((?P<key>[1-4])\)(?:,\s*(?P<inheritance>.*?))?\s*$")
_GENERATED = re.compile(r"^#\s*Generated:\s*(\d{4}-\d{2}-\d{2})")
_GENEMAP2_COLUMNS, _MORBIDMAP_COLUMNS, _MIM2GENE_COLUMNS = 14, 4, 5


@dataclass(frozen=True)
class OmimPaths:
    """The OMIM files of one release; None for a file not supplied."""

    mim2gene: Path | None = None
    genemap2: Path | None = None
    morbidmap: Path | None = None


@dataclass(frozen=True)
class OmimPhenotype:
    """One entry of a Phenotypes field, its markers kept as flags."""

    name: str
    mim: str | None  # absent when the phenotype has no MIM entry of its own
    mapping_key: int  # 1-4, see MAPPING_KEYS
    inheritance: tuple[str, ...]
    provisional: bool  # "?": the phenotype-gene relationship is provisional
    susceptibility: bool  # "{ }": susceptibility to multifactorial disorders or infection
    nondisease: bool  # "[ ]": e.g. abnormal laboratory values

    @property
    def disease_id(self) -> str | None:
        return f"OMIM:{self.mim}" if self.mim else None


@dataclass(frozen=True)
class Mim2GeneRow:
    """A mim2gene line: MIM number, entry type and gene ids."""

    mim: str
    entry_type: str  # "gene", "phenotype", "gene/phenotype", "predominantly phenotypes", "moved/removed"
    entrez_id: str | None
    symbol: str | None
    ensembl_id: str | None


@dataclass(frozen=True)
class GeneMapRow:
    """A genemap2 line: a gene (or locus) and the phenotypes mapped to it."""

    line: int
    chrom: str
    mim: str
    gene_symbols: tuple[str, ...]
    gene_name: str | None
    symbol: str | None
    entrez_id: str | None
    ensembl_id: str | None
    cyto_location: str | None
    phenotypes: tuple[OmimPhenotype, ...]


@dataclass(frozen=True)
class MorbidMapRow:
    """A morbidmap line: one phenotype and the gene/locus it maps to."""

    line: int
    phenotype: OmimPhenotype
    gene_symbols: tuple[str, ...]
    gene_mim: str
    cyto_location: str | None


def parse_phenotype(text: str) -> OmimPhenotype:
    """Parse one Phenotypes entry; ValueError if it does not have the documented form.

    >>> p = parse_phenotype("?{Deafness, autosomal recessive 26, modifier of}, 605429 (3), Autosomal dominant")
    >>> (p.name, p.mim, p.mapping_key, p.inheritance, p.provisional, p.susceptibility)
    ('Deafness, autosomal recessive 26, modifier of', '605429', 3, ('Autosomal dominant',), True, True)
    """
    match = _PHENOTYPE.match(text.strip())
    if match is None:
        raise ValueError(f"expected 'name[, MIM number] (mapping key 1-4)[, inheritance]', got {text.strip()!r}")
    name = match.group("name").strip().lstrip(":").strip()  # a stray leading ":" occurs in real files
    provisional = susceptibility = nondisease = False
    while name[:1] in ("?", "{", "["):
        if name[0] == "?":
            provisional, name = True, name[1:].lstrip()
        elif name[0] == "{":
            susceptibility, name = True, name[1:].removesuffix("}").strip()
        else:
            nondisease, name = True, name[1:].removesuffix("]").strip()
    name = name.removesuffix("}").removesuffix("]").strip()
    if not name:
        raise ValueError(f"phenotype without a name in {text.strip()!r}")
    modes = match.group("inheritance") or ""
    return OmimPhenotype(
        name=name, mim=match.group("mim"), mapping_key=int(match.group("key")),
        inheritance=tuple(m.strip() for m in modes.split(",") if m.strip()),
        provisional=provisional, susceptibility=susceptibility, nondisease=nondisease,
    )


def parse_phenotypes(field: str) -> tuple[OmimPhenotype, ...]:
    """Parse a genemap2 Phenotypes field: entries separated by "; "; empty gives ()."""
    return tuple(parse_phenotype(part) for part in field.split(";") if part.strip())


def read_release(path: Path) -> str | None:
    """The "# Generated: YYYY-MM-DD" date in the header of an OMIM file."""
    with Path(path).open(encoding="utf-8") as handle:
        for line in handle:
            if not line.startswith("#"):
                return None
            if match := _GENERATED.match(line):
                return match.group(1)
    return None


def _lines(path: Path, columns: int, needed: int, report: ParseReport | None, skip: bool) -> Iterator[tuple[int, list[str]]]:
    """Data lines split on tabs and padded to `columns` (1-based line number); comments and blank lines skipped."""
    with Path(path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            text = line.rstrip("\r\n")
            if not text.strip() or text.startswith("#"):
                continue
            cells = text.split("\t")
            if len(cells) < needed:
                _bad(Path(path), number, f"expected at least {needed} tab-separated columns, got {len(cells)}",
                     report, skip, f"line with fewer than {needed} columns")
                continue
            yield number, cells + [""] * (columns - len(cells))


def _none(value: str) -> str | None:
    return value.strip() or None


def _symbols(value: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in value.split(",") if s.strip())


def _bad(path: Path, line: int, message: str, report: ParseReport | None, skip: bool, reason: str, field: str | None = None) -> None:
    if not skip:
        raise SourceFormatError(path, line, message, field=field)
    (report if report is not None else ParseReport()).skip(reason, file=str(path), line=line, detail=message)


def iter_mim2gene(path: Path, *, report: ParseReport | None = None, skip_bad_records: bool = False) -> Iterator[Mim2GeneRow]:
    """Rows of mim2gene.txt (MIM number, entry type, Entrez id, HGNC symbol, Ensembl id)."""
    for line, cells in _lines(path, _MIM2GENE_COLUMNS, 2, report, skip_bad_records):
        mim, entry_type, entrez, symbol, ensembl = (c.strip() for c in cells[:5])
        if not mim.isdigit() or not entry_type or (entrez and not entrez.isdigit()):
            _bad(Path(path), line, f"expected 'MIM number<TAB>entry type<TAB>Entrez id<TAB>symbol<TAB>Ensembl id', got {cells!r}",
                 report, skip_bad_records, "bad mim2gene line")
            continue
        yield Mim2GeneRow(mim, entry_type, entrez or None, symbol or None, ensembl or None)


def iter_genemap2(path: Path, *, report: ParseReport | None = None, skip_bad_records: bool = False) -> Iterator[GeneMapRow]:
    """Rows of genemap2.txt with the Phenotypes column (13th) parsed."""
    for line, cells in _lines(path, _GENEMAP2_COLUMNS, 13, report, skip_bad_records):
        mim, entrez = cells[5].strip(), cells[9].strip()
        if not mim.isdigit() or (entrez and not entrez.isdigit()):
            _bad(Path(path), line, f"expected a MIM number in column 6 and an Entrez id (or nothing) in column 10, got {mim!r}, {entrez!r}",
                 report, skip_bad_records, "bad genemap2 line")
            continue
        try:
            phenotypes = parse_phenotypes(cells[12])
        except ValueError as err:
            _bad(Path(path), line, f"Phenotypes column (13): {err}", report, skip_bad_records, "bad genemap2 phenotype", field="Phenotypes")
            continue
        yield GeneMapRow(line, cells[0].strip(), mim, _symbols(cells[6]), _none(cells[7]), _none(cells[8]),
                         entrez or None, _none(cells[10]), _none(cells[3]), phenotypes)


def iter_morbidmap(path: Path, *, report: ParseReport | None = None, skip_bad_records: bool = False) -> Iterator[MorbidMapRow]:
    """Rows of morbidmap.txt: phenotype, gene symbols, gene/locus MIM number, cyto location."""
    for line, cells in _lines(path, _MORBIDMAP_COLUMNS, 3, report, skip_bad_records):
        gene_mim = cells[2].strip()
        try:
            if not gene_mim.isdigit():
                raise ValueError(f"expected a MIM number in column 3, got {gene_mim!r}")
            phenotype = parse_phenotype(cells[0])
        except ValueError as err:
            _bad(Path(path), line, str(err), report, skip_bad_records, "bad morbidmap line")
            continue
        yield MorbidMapRow(line, phenotype, _symbols(cells[1]), gene_mim, _none(cells[3]))


def find_omim_files(source_dir: Path) -> OmimPaths | None:
    """The OMIM files under their usual names in `source_dir` (or its `omim/`); None if there are none."""
    for folder in (Path(source_dir), Path(source_dir) / "omim"):
        found = {key: folder / name for key, name in FILE_NAMES.items() if (folder / name).is_file()}
        if found:
            return OmimPaths(**found)
    return None


def load_omim(paths: OmimPaths | Path, *, skip_bad_records: bool = False) -> SourceOutput:
    """Parse OMIM files (an `OmimPaths` or a folder) into `diseases`, `genes`, `disease_genes`, `disease_inheritance`."""
    if not isinstance(paths, OmimPaths):
        found = find_omim_files(Path(paths))
        paths = found if found is not None else OmimPaths()
    report, files = ParseReport(), list[SourceFile]()
    rows: dict[str, list[dict[str, object]]] = {"diseases": [], "genes": [], "disease_genes": [], "disease_inheritance": []}
    gene_of_mim: dict[str, tuple[str, str | None]] = {}  # gene MIM -> (Entrez id, symbol)

    def provenance(path: Path) -> dict[str, object]:
        release = read_release(path)
        files.append(describe_file(f"omim:{path.name}", path, release))
        return {"source": f"omim:{path.name}", "release": release}

    def gene(entrez: str, symbol: str | None, mim: str, ensembl: str | None, prov: dict[str, object], **more: object) -> str:
        gene_id = f"NCBIGene:{entrez}"  # OMIM gives no HGNC id; the builder joins on ncbi_gene_id
        rows["genes"].append({"id": gene_id, "symbol": symbol, "ncbi_gene_id": entrez, "omim_id": f"OMIM:{mim}",
                              "ensembl_id": ensembl, **more, **prov})
        return gene_id

    def link(phenotype: OmimPhenotype, gene_id: str | None, symbol: str | None, where: tuple[Path, int], prov: dict[str, object]) -> None:
        if phenotype.disease_id is None:
            report.skip("phenotype without its own MIM number", file=str(where[0]), line=where[1], detail=phenotype.name)
            return
        rows["diseases"].append({"id": phenotype.disease_id, "name": phenotype.name, "database": "OMIM", **prov})
        if gene_id is None:
            report.skip("gene/locus without Entrez id", file=str(where[0]), line=where[1], detail=f"{phenotype.disease_id} {symbol}")
            return
        rows["disease_genes"].append({
            "disease_id": phenotype.disease_id, "gene_id": gene_id, "gene_symbol": symbol,
            "association_type": MAPPING_KEYS[phenotype.mapping_key],
            "association_status": "provisional" if phenotype.provisional else "confirmed",
            "mapping_key": phenotype.mapping_key, "provisional": phenotype.provisional,
            "susceptibility": phenotype.susceptibility, "nondisease": phenotype.nondisease, **prov})

    if paths.genemap2 is not None:
        prov = provenance(paths.genemap2)
        for g in iter_genemap2(paths.genemap2, report=report, skip_bad_records=skip_bad_records):
            symbol = g.symbol or (g.gene_symbols[0] if g.gene_symbols else None)
            gene_id = None
            if g.entrez_id:
                gene_of_mim[g.mim] = (g.entrez_id, symbol)
                gene_id = gene(g.entrez_id, symbol, g.mim, g.ensembl_id, prov, name=g.gene_name, locus=g.cyto_location)
            for phenotype in g.phenotypes:
                link(phenotype, gene_id, symbol, (paths.genemap2, g.line), prov)
                for mode in phenotype.inheritance if phenotype.disease_id else ():
                    term = OMIM_INHERITANCE_TO_HPO.get(mode.lstrip("?"))
                    if term is None:  # e.g. "Somatic mutation", "Inherited chromosomal imbalance": no HPO mode
                        report.skip("OMIM inheritance without HPO term", file=str(paths.genemap2), line=g.line, detail=mode)
                        continue
                    rows["disease_inheritance"].append({"disease_id": phenotype.disease_id, "term_id": term,
                                                        "inheritance_raw": mode, **prov})
    if paths.mim2gene is not None:
        prov = provenance(paths.mim2gene)
        for m in iter_mim2gene(paths.mim2gene, report=report, skip_bad_records=skip_bad_records):
            if m.entrez_id and "gene" in m.entry_type:
                gene_of_mim[m.mim] = (m.entrez_id, m.symbol)
                gene(m.entrez_id, m.symbol, m.mim, m.ensembl_id, prov)
    if paths.morbidmap is not None:
        prov = provenance(paths.morbidmap)
        for r in iter_morbidmap(paths.morbidmap, report=report, skip_bad_records=skip_bad_records):
            entrez, symbol = gene_of_mim.get(r.gene_mim, (None, r.gene_symbols[0] if r.gene_symbols else None))
            link(r.phenotype, f"NCBIGene:{entrez}" if entrez else None, symbol, (paths.morbidmap, r.line), prov)
    tables = {name: conform(name, pl.DataFrame(data, infer_schema_length=None)) if data else empty_frame(name)
              for name, data in rows.items()}
    keys = {"diseases": ["id"], "genes": ["id"], "disease_genes": ["disease_id", "gene_id"],
            "disease_inheritance": ["disease_id", "term_id"]}
    tables = {name: frame.unique(keys[name], keep="first", maintain_order=True) for name, frame in tables.items()}
    return SourceOutput(files=files, tables=tables, report=report)
