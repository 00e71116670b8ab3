"""GA4GH Phenopacket v2 JSON → `CaseRequest`, validated with the `phenopackets` protobuf schema.

Only what a clinician would submit is read: phenotypic features (present and excluded), the
variants of `interpretations[].diagnosis.genomicInterpretations[]`, subject sex and age. The
diagnosis, the disease list, interpretation status and ACMG class are never copied: they are the
answer. The result equals the matching line of the evaluation JSONL (`shared/data/eval`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from raregraph.models import CaseRequest, VariantIn, Zygosity
from raregraph.errors import InvalidCaseError, SourceFormatError

if TYPE_CHECKING:  # the generated protobuf modules are imported lazily (about 40 modules)
    from phenopackets import Phenopacket, TimeElement, VariationDescriptor

__all__ = ["case_from_phenopacket", "read_phenopacket", "fit_field"]

# GENO allelic-state ids, for descriptors that carry an id but an unexpected label.
_GENO_ZYGOSITY: dict[str, Zygosity] = {
    "GENO:0000135": "heterozygous",
    "GENO:0000136": "homozygous",
    "GENO:0000134": "hemizygous",
    "GENO:0000402": "heterozygous",  # compound heterozygous
    "GENO:0000137": "unknown",  # unspecified zygosity
}
# Optional texts longer than `VariantIn` accepts (a large dup/del spelt out) are dropped, not refused.
_MAX_LENGTH: dict[str, int] = {
    name: next(m.max_length for m in VariantIn.model_fields[name].metadata if hasattr(m, "max_length"))
    for name in ("ref", "alt", "hgvs_c", "hgvs_p", "hgvs_g", "label")
}
_HGVS_FIELDS = {"hgvs.c": "hgvs_c", "hgvs.p": "hgvs_p", "hgvs.g": "hgvs_g"}


def read_phenopacket(doc: Mapping[str, Any] | str | Path) -> Phenopacket:
    """Parse and validate a Phenopacket v2 from a dict, JSON text or a file path (a str not starting with `{` or `[`).

    Raises:
        SourceFormatError: a file that cannot be read or is not JSON (with the line of a JSON error).
        InvalidCaseError: JSON that is not a valid Phenopacket v2 (unknown field, wrong type).
    """
    from google.protobuf.json_format import ParseDict, ParseError
    from phenopackets import Phenopacket

    where = "phenopacket"
    path = _as_path(doc)
    if path is not None:
        where = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise SourceFormatError(path, None, f"cannot read phenopacket: {e}") from e
        data = _loads(text, path)
    elif isinstance(doc, str):
        data = _loads(doc, None)
    else:
        data = doc
    if not isinstance(data, Mapping):
        raise InvalidCaseError(f"{where}: a phenopacket is a JSON object, got {type(data).__name__}")
    try:
        return ParseDict(data, Phenopacket())
    except ParseError as e:
        raise InvalidCaseError(f"{where}: not a valid GA4GH Phenopacket v2: {e}") from e


def case_from_phenopacket(doc: Mapping[str, Any] | str | Path) -> CaseRequest:
    """Read a Phenopacket v2 (dict, JSON text or path) into a case: id, sex, age, HPO terms, variants.

    `age` is `subject.timeAtLastEncounter` (the age a clinician would enter), written as the
    evaluation JSONL writes it: the ISO 8601 duration (`P5Y`), `GA:22w2d` for a gestational age,
    or the onset class id (`HP:0003577`) when only that is given; an age range, timestamp or
    interval gives None. Phenotype onsets are not used for it: they are not the age at encounter.
    `sex` is the schema's enum name (`FEMALE`, `MALE`, `OTHER_SEX`, `UNKNOWN_SEX`), None without a
    subject. An empty `id` falls back to the file name's stem.

    Raises:
        SourceFormatError: the file cannot be read or is not JSON.
        InvalidCaseError: not a Phenopacket v2, or a phenotypic feature id is not an HPO id.
    """
    from phenopackets import Sex

    packet = read_phenopacket(doc)
    present: list[str] = []
    excluded: list[str] = []
    for feature in packet.phenotypic_features:
        bucket = excluded if feature.excluded else present
        if feature.type.id and feature.type.id not in bucket:
            bucket.append(feature.type.id)
    path = _as_path(doc)
    case_id = packet.id or (path.stem if path is not None else None)
    has_subject = packet.HasField("subject")
    try:
        return CaseRequest(
            id=case_id,
            hpo_present=present,
            hpo_excluded=excluded,
            variants=_variants(packet),
            sex=Sex.Name(packet.subject.sex) if has_subject else None,
            age=_age(packet.subject.time_at_last_encounter) if has_subject else None,
        )
    except ValidationError as e:
        raise InvalidCaseError(f"phenopacket {case_id or ''}: {e}") from e


def _as_path(doc: Mapping[str, Any] | str | Path) -> Path | None:
    if isinstance(doc, Path):
        return doc
    if isinstance(doc, str) and not doc.lstrip().startswith(("{", "[")):
        return Path(doc)
    return None


def _loads(text: str, path: Path | None) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        if path is None:
            raise InvalidCaseError(f"phenopacket is not JSON: {e}") from e
        raise SourceFormatError(path, e.lineno, f"not JSON: {e.msg} (column {e.colno})") from e


def _age(element: TimeElement) -> str | None:
    kind = element.WhichOneof("element")
    if kind == "age":
        return element.age.iso8601duration or None
    if kind == "gestational_age":
        return f"GA:{element.gestational_age.weeks}w{element.gestational_age.days}d"
    if kind == "ontology_class":
        return element.ontology_class.id or None
    return None


def _variants(packet: Phenopacket) -> list[VariantIn]:
    out: list[VariantIn] = []
    for interpretation in packet.interpretations:
        for gi in interpretation.diagnosis.genomic_interpretations:
            call = gi.WhichOneof("call")
            if call == "gene":  # a candidate gene without a variant
                out.append(VariantIn(gene=gi.gene.symbol or None, hgnc=_hgnc(gi.gene.value_id)))
            elif call == "variant_interpretation":
                out.append(_variant(gi.variant_interpretation.variation_descriptor))
    return out


def _variant(vd: VariationDescriptor) -> VariantIn:
    fields: dict[str, Any] = {
        "gene": vd.gene_context.symbol or None,
        "hgnc": _hgnc(vd.gene_context.value_id),
        "label": fit_field("label", vd.label),
    }
    for expression in vd.expressions:
        name = _HGVS_FIELDS.get(expression.syntax.lower())
        if name and expression.value and name not in fields:
            fields[name] = fit_field(name, expression.value)
    if vd.HasField("vcf_record"):
        record = vd.vcf_record
        fields.update(
            chrom=record.chrom or None,
            pos=record.pos or None,
            ref=fit_field("ref", record.ref),
            alt=fit_field("alt", record.alt),
            assembly=record.genome_assembly or None,
        )
    if vd.HasField("structural_type"):
        fields["structural_type"] = vd.structural_type.label or vd.structural_type.id or None
    if vd.HasField("allelic_state"):
        fields["zygosity"] = _zygosity(vd.allelic_state.id, vd.allelic_state.label)
    return VariantIn(**fields)


def _zygosity(geno_id: str, label: str) -> Zygosity:
    label = label.strip().lower()
    if label in ("heterozygous", "homozygous", "hemizygous"):
        return label  # type: ignore[return-value]
    if "heterozygous" in label:  # e.g. compound heterozygous
        return "heterozygous"
    return _GENO_ZYGOSITY.get(geno_id, "unknown")


def fit_field(name: str, value: str | None) -> str | None:
    """`value` for VariantIn field `name` (ref, alt, hgvs_*, label): None when empty or over the field's limit."""
    return value if value and len(value) <= _MAX_LENGTH[name] else None


def _hgnc(value_id: str) -> str | None:
    return value_id if value_id.startswith("HGNC:") and value_id[5:].isdigit() else None
