"""Request and response models shared by the CLI's JSON output and the HTTP API."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from raregraph.kg.model import is_hpo_id

__all__ = [
    "CaseRequest", "VariantIn", "Zygosity", "TermOut", "MentionOut", "LinkedMentionOut", "ExtractionOut",
    "ExtractRequest", "VariantUnderstood",
    "CaseUnderstood", "FactOut", "TermMatchOut", "ContradictionOut", "GeneEvidenceOut", "EvidenceOut",
    "ConfirmedCasesOut",
    "CandidateOut", "DiagnosisResponse", "RankingLine", "RankingEntry",
]



def _hpo_curie(value: str) -> str:
    value = value.strip()
    if not is_hpo_id(value):
        raise ValueError("expected an HPO id like HP:0001250")
    return value


HpoCurie = Annotated[str, AfterValidator(_hpo_curie)]


Zygosity = Literal["heterozygous", "homozygous", "hemizygous", "unknown"]


class VariantIn(BaseModel):
    """A candidate variant: a gene symbol/HGNC id, coordinates and/or HGVS, with zygosity.

    The fields of the evaluation JSONL map onto it directly. A structural variant names its
    type (e.g. `chromosomal_deletion`) and the gene it covers.
    """

    model_config = ConfigDict(extra="ignore")

    gene: str | None = Field(None, max_length=64, description="HGNC symbol, e.g. FBN1")
    hgnc: str | None = Field(None, pattern=r"^HGNC:\d+$")
    chrom: str | None = Field(None, max_length=32)
    pos: int | None = Field(None, ge=1)
    ref: str | None = Field(None, max_length=100_000)
    alt: str | None = Field(None, max_length=100_000)
    assembly: str | None = Field(None, max_length=32, description="GRCh38/hg38 or GRCh37/hg19")
    hgvs_c: str | None = Field(None, max_length=500)
    hgvs_p: str | None = Field(None, max_length=500)
    hgvs_g: str | None = Field(None, max_length=500)
    zygosity: Zygosity | None = None
    structural_type: str | None = Field(None, max_length=100)
    label: str | None = Field(None, max_length=500)

    @model_validator(mode="before")
    @classmethod
    def _lower_zygosity(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("zygosity"), str):
            data = {**data, "zygosity": data["zygosity"].strip().lower()}
        return data


class CaseRequest(BaseModel):
    """A case: clinical text and/or HPO terms (present and explicitly excluded), variants, sex, age.

    A GA4GH Phenopacket v2 (JSON) is read into this same model (`retrieval.case_input`).
    """

    model_config = ConfigDict(extra="ignore")

    id: str | None = Field(None, max_length=500)
    text: str | None = Field(None, description="Free clinical text (EHR notes)")
    hpo_present: list[HpoCurie] = Field(default_factory=list, description="Observed HPO terms")
    hpo_excluded: list[HpoCurie] = Field(default_factory=list, description="HPO terms observed to be absent")
    variants: list[VariantIn] = Field(default_factory=list, description="Candidate variants")
    sex: str | None = Field(None, max_length=32)
    age: str | None = Field(None, max_length=64, description="ISO 8601 duration, e.g. P5Y")


class TermOut(BaseModel):
    id: str
    label: str
    given_as: str | None = Field(None, description="The id in the request, when it was an alt or obsolete id")


class MentionOut(BaseModel):
    """A phrase found in the case text, with its assertion status."""

    text: str
    start: int
    end: int
    assertion: str = Field(description="present | negated | uncertain | family | historical")


class LinkedMentionOut(MentionOut):
    term_id: str
    label: str
    tier: str = Field(description="exact (label/synonym lookup in the graph) | embedding (nearest neighbour)")
    score: float


class ExtractionOut(BaseModel):
    """What free text yields: linked mentions (with tier and score), mentions left unlinked."""

    linked: list[LinkedMentionOut]
    unlinked: list[MentionOut]
    present: list[str] = Field(description="HPO ids asserted for the patient (present or historical)")
    excluded: list[str] = Field(description="HPO ids negated in the text")
    uncertain: list[str] = Field(description="Reported only, not scored")
    family: list[str] = Field(description="A relative's findings: reported, never the patient's phenotype")
    embedding_status: str


class ExtractRequest(BaseModel):
    text: str = Field(min_length=1, description="Free clinical text")


class VariantUnderstood(BaseModel):
    index: int = Field(description="Position in the request's variant list")
    gene_id: str | None = None
    symbol: str | None = None
    zygosity: str | None = None
    resolved: bool


class CaseUnderstood(BaseModel):
    present: list[TermOut]
    excluded: list[TermOut]
    variants: list[VariantUnderstood] = Field(default_factory=list)
    text: ExtractionOut | None = Field(None, description="What the case text yielded, when it had text")


class FactOut(BaseModel):
    source: str | None
    release: str | None
    references: list[str] = Field(default_factory=list)


class TermMatchOut(BaseModel):
    case_term: str
    case_label: str
    disease_term: str
    disease_label: str
    relation: str = Field(description="exact | more_specific | less_specific | related")
    via: str | None = Field(None, description="Shared ancestor, for related matches")
    ic: float = Field(description="Information content credited, nats, over the ranking corpus "
                                  "(GET /v1/terms/{id} `ranking_information_content`)")
    frequency: float | None = Field(None, description="Annotated frequency in the disease, 0-1 (None: not given)")
    frequency_raw: str | None = None
    provenance: FactOut | None = None
    score: float | None = Field(None, description="Nats the ranking took from this match: w·IC + log f (IC scaled "
                                                    "down for related matches)")


class ContradictionOut(BaseModel):
    case_term: str
    disease_term: str
    kind: str = Field(description="excluded_but_annotated | present_but_negated")
    frequency: float | None = None
    provenance: FactOut | None = None


class GeneEvidenceOut(BaseModel):
    gene_id: str
    symbol: str
    variant_indices: list[int]
    zygosities: list[str | None]
    provenance: FactOut | None = None


class TwinOut(BaseModel):
    """A second description of the candidate: a disease of another source sharing its gene(s)."""

    disease_id: str
    name: str
    shared_genes: list[str] = Field(description="Gene symbols the two diseases share")
    share: float = Field(description="Fraction of the candidate's phenotype likelihood this description supplies, 0-1")
    matched: list[TermMatchOut] = Field(default_factory=list, description="Case terms the twin's annotations explain")


class PriorOut(BaseModel):
    """What the ranking assumed of the disease before any phenotype: how often it is met, by two proxies."""

    log_prior: float = Field(description="Nats added to the candidate's score: literature_prior x log(1 + publications)"
                                         " + coded_prior when it has a clinical code (neither with variants), plus"
                                         " orphanet_only_prior for an Orphanet-only disorder (retrieval/prior.py)")
    publications: int = Field(description="Distinct PubMed ids its phenotype annotations cite")
    clinical_code: str | None = Field(None, description="Its exact MedDRA term (Orphadata product 1), if any: a disease "
                                                        "with its own clinical code is met in practice")
    coded_by: str | None = Field(None, description="The disease id whose cross-reference carries the code (itself, "
                                                   "an equivalent, or an Orphanet entry mapped to it)")
    provenance: list[FactOut] = Field(default_factory=list, description="Source and release of each fact used")


class ConfirmedCasesOut(BaseModel):
    """A second description of the candidate: the cases clinicians confirmed it for (feedback store, not release data)."""

    cases: list[str] = Field(description="The confirmed cases describing it: 'confirmed case #<feedback id>'")
    share: float = Field(description="Fraction of the candidate's phenotype likelihood this description supplies, 0-1")
    matched: list[TermMatchOut] = Field(
        default_factory=list, description="Case terms the confirmed cases explain; provenance: the cases showing each "
                                          "(source 'confirmed cases'), frequency: their share of the confirmed cases")


class EvidenceOut(BaseModel):
    matched: list[TermMatchOut] = Field(default_factory=list)
    unmatched: list[str] = Field(default_factory=list)
    contradicted: list[ContradictionOut] = Field(default_factory=list)
    confirmed_absent: list[str] = Field(default_factory=list)
    genes: list[GeneEvidenceOut] = Field(default_factory=list)
    twin: TwinOut | None = Field(None, description="The gene twin whose description supplies at least 5 % of the phenotype likelihood, if any")
    prior: PriorOut | None = Field(None, description="The disease prior included in the score, and its facts")
    confirmed_cases: ConfirmedCasesOut | None = Field(
        None, description="With RAREGRAPH_CASE_EVIDENCE=on, when clinicians confirmed this disease for earlier cases: "
                          "what those cases' description contributed")


class CandidateOut(BaseModel):
    rank: int
    disease_id: str
    equivalent_ids: list[str] = Field(default_factory=list)
    name: str
    score: float = Field(description="Combined log-likelihood score, nats")
    probability: float | None = Field(None, description="Posterior over the ranked universe (disease prior included)")
    phenotype_score: float | None = None
    genotype_score: float | None = None
    evidence: EvidenceOut | None = None


class DiagnosisResponse(BaseModel):
    snapshot_id: str
    method: str
    case: CaseUnderstood
    candidates: list[CandidateOut]
    warnings: list[str] = Field(default_factory=list)
    response_id: str | None = Field(
        None, description="Cite it in POST /v1/feedback; null when this answer was not recorded (CLI, store down, "
                          "RAREGRAPH_FEEDBACK_ENABLED=false)",
    )


class RankingEntry(BaseModel):
    disease_id: str
    equivalent_ids: list[str] = Field(default_factory=list)
    score: float


class RankingLine(BaseModel):
    """One line of `raregraph rank` output."""

    id: str
    ranking: list[RankingEntry]
    warnings: list[str] = Field(default_factory=list)
