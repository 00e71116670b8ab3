"""Request and response models shared by the CLI's JSON output and the HTTP API."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from raregraph.kg.model import is_hpo_id

__all__ = ["CaseRequest", "CandidateOut", "TermOut", "CaseUnderstood", "DiagnosisResponse", "RankingLine", "RankingEntry"]



def _hpo_curie(value: str) -> str:
    value = value.strip()
    if not is_hpo_id(value):
        raise ValueError("expected an HPO id like HP:0001250")
    return value


HpoCurie = Annotated[str, AfterValidator(_hpo_curie)]


class CaseRequest(BaseModel):
    """A case as HPO terms (present and explicitly excluded)."""

    model_config = ConfigDict(extra="ignore")

    id: str | None = None
    hpo_present: list[HpoCurie] = Field(default_factory=list, description="Observed HPO terms")
    hpo_excluded: list[HpoCurie] = Field(default_factory=list, description="HPO terms observed to be absent")
    sex: str | None = None
    age: str | None = Field(None, description="ISO 8601 duration, e.g. P5Y")


class TermOut(BaseModel):
    id: str
    label: str
    given_as: str | None = Field(None, description="The id in the request, when it was an alt or obsolete id")


class CaseUnderstood(BaseModel):
    present: list[TermOut]
    excluded: list[TermOut]


class CandidateOut(BaseModel):
    rank: int
    disease_id: str
    name: str
    score: float


class DiagnosisResponse(BaseModel):
    snapshot_id: str
    method: str
    case: CaseUnderstood
    candidates: list[CandidateOut]
    warnings: list[str] = Field(default_factory=list)


class RankingEntry(BaseModel):
    disease_id: str
    score: float


class RankingLine(BaseModel):
    """One line of `raregraph rank` output."""

    id: str
    ranking: list[RankingEntry]
    warnings: list[str] = Field(default_factory=list)
