"""Orphadata XML products 1, 4, 6 and 9_ages, read with lxml `iterparse` in constant memory.

Schemas 1.2.x (`OrphaNumber`) and 1.3.x (`OrphaCode`), ISO-8859-1 and UTF-8 files are read
alike; the product is recognised from the file's content, never from its name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

import polars as pl
from lxml import etree

from raregraph.errors import SourceFormatError
from raregraph.etl.sources.base import ParseReport, SourceFile, SourceOutput, describe_file
from raregraph.etl.sources.frequency import FrequencyClass, parse_orphanet_frequency
from raregraph.etl.tables import conform, empty_frame

__all__ = [
    "ORPHANET_INHERITANCE_TO_HPO", "PRODUCTS", "OrphaDisorder", "OrphaEntity", "OrphaGeneAssociation",
    "OrphaGenes", "OrphaHeader", "OrphaNaturalHistory", "OrphaPhenotype", "OrphaPhenotypes",
    "OrphaXref", "OrphadataPaths", "find_orphadata_files", "iter_product1", "iter_product4",
    "iter_product6", "iter_product9_ages", "load_orphadata", "read_header",
]

PRODUCTS: dict[str, str] = {  # the products read here -> their usual release file name
    "product1": "en_product1.xml", "product4": "en_product4.xml",
    "product6": "en_product6.xml", "product9_ages": "en_product9_ages.xml",
}
_ABOUT = {
    "product1": "rare diseases and cross-references", "product4": "HPO phenotypes of rare diseases",
    "product6": "genes associated with rare diseases", "product9_ages": "ages of onset and inheritance",
    "product9_prev": "epidemiology", "product7": "linearisation", "product3": "classification",
    "funct_consequences": "functional consequences", "unknown": "no DisorderList or HPODisorderSetStatusList",
}
ORPHANET_INHERITANCE_TO_HPO: dict[str, str] = {
    "Autosomal dominant": "HP:0000006", "Autosomal recessive": "HP:0000007",
    "X-linked recessive": "HP:0001419", "X-linked dominant": "HP:0001423",
    "Mitochondrial inheritance": "HP:0001427", "Multigenic/multifactorial": "HP:0001426",
    "Semi-dominant": "HP:0032113", "Y-linked": "HP:0001450", "Oligogenic": "HP:0010983",
}
_NO_MODE = frozenset({"Not applicable", "Unknown", "Not yet documented", "No data available"})
_XREF_PREFIX = {"OMIM": "OMIM", "ICD-10": "ICD10", "ICD-11": "ICD11", "MONDO": "MONDO", "UMLS": "UMLS",
                "MeSH": "MESH", "MedDRA": "MEDDRA", "GARD": "GARD"}
_RECORD_LISTS = {"DisorderList": "Disorder", "HPODisorderSetStatusList": "HPODisorderSetStatus"}
_OTHER_LISTS = {"DisorderDisabilityRelevanceList": "funct_consequences", "ClassificationList": "product3"}
_WATCHED = ("JDBOR", *_RECORD_LISTS, *_RECORD_LISTS.values(), *_OTHER_LISTS)
_HPO_ID = re.compile(r"^HP:\d{7}$")
_PMID = re.compile(r"(\d+)\[PMID\]")
_STEPS: dict[str, tuple[str, ...]] = {}


@dataclass(frozen=True)
class OrphadataPaths:
    """The Orphadata files of one release; None for a product not supplied."""

    product1: Path | None = None
    product4: Path | None = None
    product6: Path | None = None
    product9_ages: Path | None = None


@dataclass(frozen=True)
class OrphaHeader:
    """What the root `<JDBOR date=… version=…>` and the first record say about a file."""

    path: Path
    product: str | None  # "product1", …; None for a file with no record to tell
    date: str | None  # "2024-12-03 07:03:37"
    version: str | None  # "1.3.29 / 4.1.7 [2023-08-02] (orientdb version)"

    @property
    def release(self) -> str | None:
        """Release date, YYYY-MM-DD."""
        return self.date[:10] if self.date else None

    @property
    def schema_version(self) -> str | None:
        """JDBOR schema version, e.g. "1.3.29"."""
        return self.version.split()[0] if self.version else None


@dataclass(frozen=True)
class OrphaEntity:
    """The disorder a record is about."""

    orpha_code: str
    name: str
    disorder_type: str | None
    disorder_group: str | None  # absent before schema 1.3
    line: int

    @property
    def id(self) -> str:
        return f"ORPHA:{self.orpha_code}"


@dataclass(frozen=True)
class OrphaXref:
    """A product-1 external reference with its mapping relation ("E", "NTBT", "BTNT", "ND", "W")."""

    source: str
    reference: str
    relation: str | None
    relation_label: str | None
    icd_relation: str | None
    validation_status: str | None

    @property
    def xref_id(self) -> str:
        prefix = _XREF_PREFIX.get(self.source) or re.sub(r"[^A-Za-z0-9]", "", self.source).upper()
        return self.reference if self.reference.startswith(f"{prefix}:") else f"{prefix}:{self.reference}"

    @property
    def exact(self) -> bool:
        """Only Orphanet's "E" (exact mapping: the two concepts are equivalent) counts as exact."""
        return self.relation == "E"


@dataclass(frozen=True)
class OrphaDisorder:
    """A product-1 disorder: names, classification and cross-references."""

    entity: OrphaEntity
    synonyms: tuple[str, ...]
    xrefs: tuple[OrphaXref, ...]
    obsolete: bool
    replaced_by: str | None  # the "Referred to"/"Moved to" target of an obsolete entity


@dataclass(frozen=True)
class OrphaPhenotype:
    """One product-4 HPO annotation; an excluded (0%) one is a NOT annotation."""

    hpo_id: str
    hpo_label: str | None
    frequency: FrequencyClass | None
    frequency_raw: str | None
    diagnostic_criteria: str | None

    @property
    def negated(self) -> bool:
        return self.frequency is not None and self.frequency.excluded


@dataclass(frozen=True)
class OrphaPhenotypes:
    """A product-4 record: one disorder and its HPO annotations."""

    entity: OrphaEntity
    annotations: tuple[OrphaPhenotype, ...]
    validation_date: str | None


@dataclass(frozen=True)
class OrphaGeneAssociation:
    """A disorder-gene association; `hgnc_id` is the CURIE "HGNC:3603" when the XML gives one."""

    symbol: str
    name: str | None
    gene_type: str | None
    hgnc_id: str | None
    ensembl_id: str | None
    omim_id: str | None  # the gene's MIM number, "OMIM:134797"
    locus: str | None
    association_type: str | None
    association_status: str | None
    references: tuple[str, ...]  # "PMID:22587682"


@dataclass(frozen=True)
class OrphaGenes:
    """A product-6 record: one disorder and its genes."""

    entity: OrphaEntity
    associations: tuple[OrphaGeneAssociation, ...]


@dataclass(frozen=True)
class OrphaNaturalHistory:
    """A product-9_ages record: inheritance and average ages of onset."""

    entity: OrphaEntity
    inheritance: tuple[tuple[str, str | None], ...]  # (Orphanet name, HPO mode of inheritance or None for "Unknown")
    onsets: tuple[str, ...]


class _Ctx:
    """Where bad records go: raised, or counted in the report in skip mode."""

    def __init__(self, path: Path, report: ParseReport | None, skip: bool) -> None:
        self.path, self.report, self.skip = path, report if report is not None else ParseReport(), skip

    def bad(self, reason: str, elem: etree._Element, message: str) -> None:
        where = _where(elem)
        if not self.skip:
            raise SourceFormatError(self.path, elem.sourceline, f"{where}: {message}")
        self.report.skip(reason, file=str(self.path), line=elem.sourceline, detail=f"{where}: {message}")


def _where(elem: etree._Element) -> str:
    """XML path of `elem`, ids included: /JDBOR/DisorderList/Disorder[@id='2']/Name."""
    parts = []
    node: etree._Element | None = elem
    while node is not None:
        ident = node.get("id")
        parts.append(f"{node.tag}[@id='{ident}']" if ident else str(node.tag))
        node = node.getparent()
    return "/" + "/".join(reversed(parts))


def _text(elem: etree._Element, path: str) -> str | None:
    """Whitespace-normalised text at a child path like "HPO/HPOId"; walking children beats `findtext` 4x."""
    node = elem
    for step in _STEPS.get(path) or _STEPS.setdefault(path, tuple(path.split("/"))):
        for child in node:
            if child.tag == step:
                node = child
                break
        else:
            return None
    value = node.text
    return " ".join(value.split()) if value and not value.isspace() else None


def _detect(list_tag: str, record: etree._Element) -> str:
    if list_tag == "HPODisorderSetStatusList":
        return "product4"
    children = {child.tag for child in record}
    if "DisorderGeneAssociationList" in children:
        return "product6"
    if children & {"TypeOfInheritanceList", "AverageAgeOfOnsetList", "AverageAgeOfDeathList"}:
        return "product9_ages"
    if "PrevalenceList" in children:
        return "product9_prev"
    if children & {"ExternalReferenceList", "SynonymList", "DisorderFlagList"}:
        return "product1"
    return "product7" if "DisorderDisorderAssociationList" in children else "unknown"


def _scan(path: Path) -> Iterator[tuple[OrphaHeader, etree._Element | None]]:
    """Yield (header, record) per top-level record, each cleared after use; (header, None) for an empty file."""
    root, records, header = None, None, None
    def head(product: str | None) -> OrphaHeader:
        return OrphaHeader(path, product, root.get("date"), root.get("version"))  # type: ignore[union-attr]

    try:  # the file is ours to close: a reader that stops early (read_header) must not leave it open
        with Path(path).open("rb") as handle:
            # only the root, the record lists and the records raise events; libxml2 skips the rest in C
            parser = etree.iterparse(handle, events=("start", "end"), tag=_WATCHED, resolve_entities=False, huge_tree=True)
            for event, elem in parser:
                root = root if root is not None else _root(path, elem.getroottree().getroot())
                parent = elem.getparent()
                if event == "start" and parent is root:
                    if elem.tag in _OTHER_LISTS:
                        yield head(_OTHER_LISTS[elem.tag]), None
                        return
                    records = elem if elem.tag in _RECORD_LISTS else records
                elif event == "end" and records is not None and parent is records and elem.tag == _RECORD_LISTS[records.tag]:
                    header = header or head(_detect(records.tag, elem))
                    yield header, elem
                    elem.clear()
                    while elem.getprevious() is not None:
                        del records[0]
            root = root if root is not None else _root(path, parser.root)
    except etree.XMLSyntaxError as err:
        raise SourceFormatError(path, err.lineno, f"XML is not well-formed (truncated or corrupt file?): {err.msg}") from err
    if header is None:
        yield head(None if records is not None else "unknown"), None


def _root(path: Path, root: etree._Element | None) -> etree._Element:
    if root is None or root.tag != "JDBOR":
        line = root.sourceline if root is not None else None
        raise SourceFormatError(path, line, f"root element is <{getattr(root, 'tag', None)}>, expected <JDBOR> (Orphadata XML)")
    return root


def read_header(path: Path) -> OrphaHeader:
    """Release date, schema version and product of an Orphadata file; reads up to its first record."""
    scan = _scan(Path(path))
    try:
        return next(scan)[0]
    finally:
        scan.close()


def _records(path: Path, expected: str) -> Iterator[etree._Element]:
    """The records of `path`, which must be Orphadata `expected` (else SourceFormatError)."""
    for header, record in _scan(path):
        if header.product not in (expected, None):
            line = record.sourceline if record is not None else None
            where = _where(record) if record is not None else "/JDBOR"
            raise SourceFormatError(
                path, line,
                f"{where}: this is an Orphadata {header.product} file ({_ABOUT.get(header.product or '', '?')}), "
                f"expected {expected} ({_ABOUT[expected]}, usually {PRODUCTS[expected]})",
            )
        if record is not None:
            yield record


def _entity(disorder: etree._Element, ctx: _Ctx) -> OrphaEntity | None:
    code = _text(disorder, "OrphaCode") or _text(disorder, "OrphaNumber")
    name = _text(disorder, "Name")
    if not code or not code.isdigit() or not name:
        ctx.bad("disorder without OrphaCode or name", disorder, f"expected a numeric OrphaCode and a Name, got {code!r}, {name!r}")
        return None
    return OrphaEntity(code, name, _text(disorder, "DisorderType/Name"), _text(disorder, "DisorderGroup/Name"),
                       disorder.sourceline or 0)


def iter_product1(path: Path, *, report: ParseReport | None = None, skip_bad_records: bool = False) -> Iterator[OrphaDisorder]:
    """Disorders of a product-1 file: names, synonyms, type/group, cross-references, obsolescence."""
    ctx = _Ctx(Path(path), report, skip_bad_records)
    for rec in _records(ctx.path, "product1"):
        if (entity := _entity(rec, ctx)) is None:
            continue
        xrefs = []
        for ref in rec.iterfind("ExternalReferenceList/ExternalReference"):
            source, reference = _text(ref, "Source"), _text(ref, "Reference")
            if not source or not reference:
                ctx.bad("external reference without source or reference", ref, "expected <Source> and <Reference>")
                continue
            label = _text(ref, "DisorderMappingRelation/Name")
            xrefs.append(OrphaXref(source, reference, label.split()[0] if label else None, label,
                                   _text(ref, "DisorderMappingICDRelation/Name"),
                                   _text(ref, "DisorderMappingValidationStatus/Name")))
        flags = [(_text(flag, "Label") or "").lower() for flag in rec.iterfind("DisorderFlagList/DisorderFlag")]
        obsolete = any("obsolete" in f or "deprecated" in f for f in flags) or entity.name.upper().startswith(("OBSOLETE:", "DEPRECATED:"))
        replaced_by = None
        for assoc in rec.iterfind("DisorderDisorderAssociationList/DisorderDisorderAssociation"):
            if obsolete and _text(assoc, "DisorderDisorderAssociationType/Name") in ("Referred to", "Moved to"):
                targets = [c for c in (_text(d, "OrphaCode") or _text(d, "OrphaNumber") for d in assoc) if c and c != entity.orpha_code]
                replaced_by = f"ORPHA:{targets[0]}" if targets else replaced_by
        synonyms = tuple(" ".join(x.text.split()) for x in rec.iterfind("SynonymList/Synonym") if x.text and x.text.strip())
        yield OrphaDisorder(entity, synonyms, tuple(xrefs), obsolete, replaced_by)


def iter_product4(path: Path, *, report: ParseReport | None = None, skip_bad_records: bool = False) -> Iterator[OrphaPhenotypes]:
    """HPO annotations of a product-4 file, with Orphanet frequency classes (see `frequency`)."""
    ctx = _Ctx(Path(path), report, skip_bad_records)
    for rec in _records(ctx.path, "product4"):
        disorder = rec.find("Disorder")
        if disorder is None or (entity := _entity(disorder, ctx)) is None:
            continue
        annotations = []
        for assoc in disorder.iterfind("HPODisorderAssociationList/HPODisorderAssociation"):
            hpo_id, raw = _text(assoc, "HPO/HPOId"), _text(assoc, "HPOFrequency/Name")
            if not hpo_id or not _HPO_ID.match(hpo_id):
                ctx.bad("bad HPO id", assoc, f"expected an HPO id HP:nnnnnnn in HPO/HPOId, got {hpo_id!r}")
                continue
            try:
                frequency = parse_orphanet_frequency(raw) if raw else None
            except ValueError as err:
                ctx.bad("unknown frequency class", assoc.find("HPOFrequency/Name"), str(err))
                continue
            annotations.append(OrphaPhenotype(hpo_id, _text(assoc, "HPO/HPOTerm"), frequency, raw,
                                              _text(assoc, "DiagnosticCriteria/Name")))
        yield OrphaPhenotypes(entity, tuple(annotations), _text(rec, "ValidationDate"))


def iter_product6(path: Path, *, report: ParseReport | None = None, skip_bad_records: bool = False) -> Iterator[OrphaGenes]:
    """Disorder-gene associations of a product-6 file; genes carry their HGNC, Ensembl and OMIM ids."""
    ctx = _Ctx(Path(path), report, skip_bad_records)
    for rec in _records(ctx.path, "product6"):
        if (entity := _entity(rec, ctx)) is None:
            continue
        associations = []
        for assoc in rec.iterfind("DisorderGeneAssociationList/DisorderGeneAssociation"):
            gene = assoc.find("Gene")
            symbol = _text(gene, "Symbol") if gene is not None else None
            if gene is None or not symbol:
                ctx.bad("gene without symbol", assoc, "expected <Gene> with a <Symbol>")
                continue
            ids = {_text(x, "Source"): _text(x, "Reference") for x in gene.iterfind("ExternalReferenceList/ExternalReference")}
            hgnc = (ids.get("HGNC") or "").removeprefix("HGNC:")
            loci = [_text(x, "GeneLocus") for x in gene.iterfind("LocusList/Locus")]
            associations.append(OrphaGeneAssociation(
                symbol, _text(gene, "Name"), _text(gene, "GeneType/Name"), f"HGNC:{hgnc}" if hgnc.isdigit() else None,
                ids.get("Ensembl"), f"OMIM:{ids['OMIM']}" if ids.get("OMIM") else None, next((x for x in loci if x), None),
                _text(assoc, "DisorderGeneAssociationType/Name"), _text(assoc, "DisorderGeneAssociationStatus/Name"),
                tuple(dict.fromkeys(f"PMID:{n}" for n in _PMID.findall(_text(assoc, "SourceOfValidation") or ""))),
            ))
        yield OrphaGenes(entity, tuple(associations))


def iter_product9_ages(path: Path, *, report: ParseReport | None = None, skip_bad_records: bool = False) -> Iterator[OrphaNaturalHistory]:
    """Types of inheritance (mapped to HPO) and ages of onset of a product-9_ages file."""
    ctx = _Ctx(Path(path), report, skip_bad_records)
    for rec in _records(ctx.path, "product9_ages"):
        if (entity := _entity(rec, ctx)) is None:
            continue
        modes = []
        for node in rec.iterfind("TypeOfInheritanceList/TypeOfInheritance"):
            name = _text(node, "Name") or ""
            if name not in ORPHANET_INHERITANCE_TO_HPO and name not in _NO_MODE:
                ctx.bad("unknown type of inheritance", node, f"unknown Orphanet type of inheritance {name!r}; "
                        f"expected one of {', '.join(sorted([*ORPHANET_INHERITANCE_TO_HPO, *_NO_MODE]))}")
                continue
            modes.append((name, ORPHANET_INHERITANCE_TO_HPO.get(name)))
        onsets = tuple(x for x in (_text(n, "Name") for n in rec.iterfind("AverageAgeOfOnsetList/AverageAgeOfOnset")) if x)
        yield OrphaNaturalHistory(entity, tuple(modes), onsets)


def find_orphadata_files(source_dir: Path) -> OrphadataPaths | None:
    """The Orphadata files under their usual names in `source_dir` (or its `orphadata/`); None if there are none."""
    for folder in (Path(source_dir), Path(source_dir) / "orphadata"):
        found = {p: folder / name for p, name in PRODUCTS.items() if (folder / name).is_file()}
        if found:
            return OrphadataPaths(**found)
    return None


def load_orphadata(paths: OrphadataPaths | Sequence[Path] | Path, *, skip_bad_records: bool = False) -> SourceOutput:
    """Parse Orphadata files (`OrphadataPaths`, a list of files or a release folder) into the snapshot tables."""
    if isinstance(paths, (str, Path)):  # a release folder, or one file
        paths = (find_orphadata_files(Path(paths)) or OrphadataPaths()) if Path(paths).is_dir() else [Path(paths)]
    if isinstance(paths, OrphadataPaths):
        jobs = [(f.name, Path(p)) for f in fields(paths) if (p := getattr(paths, f.name)) is not None]
    else:
        jobs = []
        for path in map(Path, paths):
            product = read_header(path).product
            if product not in PRODUCTS:
                raise SourceFormatError(path, None, f"this is an Orphadata {product} file ({_ABOUT.get(product or '', '?')}); "
                                        f"expected one of {', '.join(PRODUCTS.values())}")
            jobs.append((product, path))
    jobs.sort(key=lambda job: list(PRODUCTS).index(job[0]))  # product 1 first: its disease names win
    report, files, extra = ParseReport(), list[SourceFile](), dict[str, object]()
    rows: dict[str, list[dict[str, object]]] = {name: [] for name in (
        "diseases", "disease_synonyms", "disease_xrefs", "disease_phenotypes", "disease_inheritance", "genes", "disease_genes")}
    for product, path in jobs:
        header = read_header(path)
        prov = {"source": f"orphadata:{path.name}", "release": header.release}
        _collect(product, path, prov, rows, report, skip_bad_records)
        files.append(describe_file(prov["source"], path, header.release))
        extra[str(prov["source"])] = {"product": product, "schema_version": header.schema_version,
                                      "version": header.version, "date": header.date}
    tables = {name: conform(name, pl.DataFrame(data, schema_overrides=_LISTS.get(name), infer_schema_length=None))
              if data else empty_frame(name) for name, data in rows.items()}
    for name in ("diseases", "genes"):
        tables[name] = tables[name].unique("id", keep="first", maintain_order=True)
    return SourceOutput(files=files, tables=tables, report=report, extra={"orphadata": extra})


_LISTS = {"disease_genes": {"references": pl.List(pl.Utf8)}}


def _collect(product: str, path: Path, prov: dict[str, object], rows: dict[str, list[dict[str, object]]],
             report: ParseReport, skip: bool) -> None:
    """Append the table rows of one file to `rows`."""
    def disease(entity: OrphaEntity, **more: object) -> None:
        rows["diseases"].append({"id": entity.id, "name": entity.name, "database": "ORPHA",
                                 "disorder_type": entity.disorder_type, "disorder_group": entity.disorder_group, **more, **prov})

    if product == "product1":
        for d in iter_product1(path, report=report, skip_bad_records=skip):
            disease(d.entity, obsolete=d.obsolete, replaced_by=d.replaced_by)
            rows["disease_synonyms"] += [{"disease_id": d.entity.id, "synonym": s, **prov} for s in d.synonyms]
            rows["disease_xrefs"] += [{
                "disease_id": d.entity.id, "xref_id": x.xref_id, "xref_database": x.source, "mapping_relation": x.relation,
                "mapping_relation_label": x.relation_label, "mapping_exact": x.exact, "icd_relation": x.icd_relation,
                "validation_status": x.validation_status, **prov} for x in d.xrefs]
    elif product == "product4":
        for p in iter_product4(path, report=report, skip_bad_records=skip):
            disease(p.entity)
            for a in p.annotations:
                f = a.frequency
                rows["disease_phenotypes"].append({
                    "disease_id": p.entity.id, "term_id": a.hpo_id, "negated": a.negated,
                    "frequency": f.midpoint if f else None, "frequency_min": f.minimum if f else None,
                    "frequency_max": f.maximum if f else None, "frequency_raw": a.frequency_raw,
                    "diagnostic_criteria": a.diagnostic_criteria, **prov})
    elif product == "product6":
        for g in iter_product6(path, report=report, skip_bad_records=skip):
            disease(g.entity)
            for a in g.associations:
                if a.hgnc_id is None:  # genes are keyed by HGNC id; Orphanet gives no other gene key
                    report.skip("gene without HGNC id", file=str(path), line=g.entity.line, detail=f"{g.entity.id} {a.symbol}")
                    continue
                gene = {k: getattr(a, k) for k in ("symbol", "hgnc_id", "name", "gene_type", "ensembl_id", "omim_id", "locus")}
                rows["genes"].append({"id": a.hgnc_id, **gene, **prov})
                rows["disease_genes"].append({"disease_id": g.entity.id, "gene_id": a.hgnc_id, "gene_symbol": a.symbol,
                                              "association_type": a.association_type, "association_status": a.association_status,
                                              "references": list(a.references), **prov})
    else:
        for h in iter_product9_ages(path, report=report, skip_bad_records=skip):
            disease(h.entity)
            rows["disease_inheritance"] += [{"disease_id": h.entity.id, "term_id": term, "inheritance_raw": name, **prov}
                                            for name, term in h.inheritance if term]  # not "Unknown", "Not applicable"
