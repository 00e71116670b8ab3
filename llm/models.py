"""Pydantic models of the LLM layer: the answer asked of the model, and what the client receives.

Two families, kept apart:

- `LlmAnswer` is the JSON the model is asked to write (its JSON Schema goes into the request as
  structured output). It is parsed leniently: a small model writes `"confidence": "high"` or a
  bare string where an object was asked, and that is coerced rather than thrown away.
- `LlmDiagnosis` is what a client gets: the retrieval response, the LLM report (status, reasoning,
  the four clinical tiers, what could not be grounded) and the merged ranking. Every disease id in
  it is a graph id; the model's own text appears only in `reasoning`, `explains`/`contradicts`,
  `next_workup` and the `ungrounded` list, never as an id.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from raregraph.models import DiagnosisResponse

__all__ = [
    "LlmStatus", "ResolvedBy", "AnswerDiagnosis", "LlmAnswer", "TierEntry", "LlmTiers", "UngroundedName",
    "RankedDiagnosis", "LlmContribution", "LlmReport", "LlmDiagnosis", "LlmStreamEvent", "STATUS_MEANING",
]

LlmStatus = Literal["off", "unavailable", "timeout", "invalid_output", "empty", "all_ungrounded", "ok"]

STATUS_MEANING: dict[str, str] = {
    "off": "no LLM endpoint configured (RAREGRAPH_LLM_BASE_URL unset) or not requested",
    "unavailable": "the endpoint could not be reached or answered with an HTTP error",
    "timeout": "no complete answer within RAREGRAPH_LLM_TIMEOUT_S",
    "invalid_output": "the answer was not the JSON asked for (or was cut off)",
    "empty": "the answer named no disease",
    "all_ungrounded": "no disease the answer named could be resolved to a graph id",
    "ok": "the answer was parsed and re-grounded; the ranking merges it with retrieval",
}

ResolvedBy = Literal["candidate_id", "graph_id", "exact_name", "fuzzy_name"]

_CONFIDENCE_WORDS = {
    "very high": 0.9, "high": 0.8, "moderate": 0.5, "medium": 0.5, "intermediate": 0.5, "low": 0.2, "very low": 0.1,
}


def _as_list_of_str(value: Any) -> Any:
    """A lone string becomes a one-item list; items that are objects keep their text."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, list):
        out = []
        for item in value:
            if isinstance(item, str):
                out.append(item)
            elif isinstance(item, dict):
                text = next((item[k] for k in ("id", "disease_id", "name", "disease", "text", "test") if item.get(k)), None)
                out.append(str(text) if text is not None else str(item))
            elif item is not None:
                out.append(str(item))
        return out
    return value


class AnswerDiagnosis(BaseModel):
    """One diagnosis as the model writes it: a candidate id, a name, or both."""

    model_config = ConfigDict(extra="ignore")

    id: str | None = Field(None, max_length=200, description="Disease id copied from the candidate list, if any")
    name: str | None = Field(None, max_length=500, description="Disease name")
    confidence: float | None = Field(None, description="0-1")
    explains: list[str] = Field(default_factory=list, description="Case findings this diagnosis explains")
    contradicts: list[str] = Field(default_factory=list, description="Case findings that argue against it")

    @model_validator(mode="before")
    @classmethod
    def _lenient(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"name": data}
        if isinstance(data, dict):
            data = dict(data)
            for alias in ("disease_id", "omim", "curie"):
                if not data.get("id") and data.get(alias):
                    data["id"] = data[alias]
            for alias in ("disease", "disease_name", "diagnosis", "label"):
                if not data.get("name") and isinstance(data.get(alias), str):
                    data["name"] = data[alias]
            for key in ("id", "name"):
                if data.get(key) is not None and not isinstance(data[key], str):
                    data[key] = str(data[key])
        return data

    @field_validator("confidence", mode="before")
    @classmethod
    def _confidence(cls, value: Any) -> float | None:
        if value is None or isinstance(value, bool):
            return None
        if isinstance(value, str):
            text = value.strip().lower().rstrip("%")
            if text in _CONFIDENCE_WORDS:
                return _CONFIDENCE_WORDS[text]
            try:
                number = float(text)
            except ValueError:
                return None
            value = number / 100 if value.strip().endswith("%") else number
        if isinstance(value, (int, float)):
            number = float(value)
            if 1 < number <= 100:  # a percentage
                number /= 100
            return min(max(number, 0.0), 1.0)
        return None

    @field_validator("explains", "contradicts", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return _as_list_of_str(value)

    def mention(self) -> str:
        """How the model named it, for reports: `id name`, either part optional."""
        return " ".join(p for p in (self.id, self.name) if p) or ""


class LlmAnswer(BaseModel):
    """The structured answer: reasoning first (so a constrained decoder writes it before the lists)."""

    model_config = ConfigDict(extra="ignore")

    reasoning: str | None = Field(None, description="Step-by-step reasoning over the findings and candidates")
    diagnoses: list[AnswerDiagnosis] = Field(default_factory=list, description="Ranked diagnoses, most likely first")
    most_likely: list[str] = Field(default_factory=list, description="Disease ids or names")
    possible_alternatives: list[str] = Field(default_factory=list, description="Disease ids or names")
    cant_miss: list[str] = Field(default_factory=list, description="Serious diseases that must be excluded")
    next_workup: list[str] = Field(default_factory=list, description="Recommended tests or referrals")

    @model_validator(mode="before")
    @classmethod
    def _lenient(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            for alias in ("differential", "ranked_diagnoses", "diagnosis", "ranking"):
                if not data.get("diagnoses") and data.get(alias):
                    data["diagnoses"] = data[alias]
            if isinstance(data.get("diagnoses"), (dict, str)):
                data["diagnoses"] = [data["diagnoses"]]
            for alias, key in (("cannot_miss", "cant_miss"), ("can_t_miss", "cant_miss"), ("next_steps", "next_workup"),
                               ("workup", "next_workup"), ("alternatives", "possible_alternatives")):
                if not data.get(key) and data.get(alias):
                    data[key] = data[alias]
            if data.get("reasoning") is not None and not isinstance(data["reasoning"], str):
                data["reasoning"] = str(data["reasoning"])
        return data

    @field_validator("most_likely", "possible_alternatives", "cant_miss", "next_workup", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return _as_list_of_str(value)

    def named(self) -> list[str]:
        """Every distinct disease mention in the answer: the diagnoses in order, then the tiers."""
        seen: dict[str, None] = {}
        for item in self.diagnoses:
            if item.mention():
                seen.setdefault(item.mention(), None)
        for tier in (self.most_likely, self.possible_alternatives, self.cant_miss):
            for text in tier:
                if text.strip():
                    seen.setdefault(text.strip(), None)
        return list(seen)

    def is_empty(self) -> bool:
        return not self.named()


# --- what the client receives ------------------------------------------------------------------


class TierEntry(BaseModel):
    """A grounded disease in one of the clinical tiers."""

    disease_id: str
    name: str
    resolved_by: ResolvedBy


class LlmTiers(BaseModel):
    """The four tiers clinicians expect; diseases grounded, work-up as the model wrote it."""

    most_likely: list[TierEntry] = Field(default_factory=list)
    possible_alternatives: list[TierEntry] = Field(default_factory=list)
    cant_miss: list[TierEntry] = Field(default_factory=list, description="Serious diseases that must be excluded")
    next_workup: list[str] = Field(default_factory=list, description="Recommended tests (model text, not grounded)")


class UngroundedName(BaseModel):
    """A disease the model named that resolves to no graph id: dropped from every ranking and tier."""

    text: str = Field(description="The model's id and/or name, as written")
    reason: str
    nearest: str | None = Field(None, description="Closest graph name seen, below the threshold")
    similarity: float | None = None


class RankedDiagnosis(BaseModel):
    """One line of the merged ranking."""

    rank: int
    disease_id: str = Field(description="A graph id (never an id the model wrote without it existing)")
    name: str
    equivalent_ids: list[str] = Field(default_factory=list)
    fused_score: float | None = Field(None, description="Merged score (rule in `LlmReport.fusion`); None when the "
                                                        "model contributed nothing and the order is retrieval's")
    retrieval_rank: int | None = Field(None, description="Rank in the retrieval list (None: not among its candidates)")
    retrieval_score: float | None = Field(None, description="Retrieval log-likelihood score, nats")
    probability: float | None = Field(None, description="Retrieval posterior")
    llm_rank: int | None = Field(None, description="Rank in the model's answer (None: not named by the model)")
    confidence: float | None = Field(None, description="The model's confidence, 0-1")
    resolved_by: ResolvedBy | None = Field(None, description="How the model's mention was grounded")
    explains: list[str] = Field(default_factory=list, description="Findings the model says it explains")
    contradicts: list[str] = Field(default_factory=list, description="Findings the model says argue against it")


class LlmContribution(BaseModel):
    """What the model changed, in counts."""

    named: int = Field(0, description="Distinct disease mentions in the answer (id and/or name as written)")
    grounded: int = Field(0, description="…of which resolved to a graph id")
    ungrounded: int = Field(0, description="…of which were dropped (listed in `ungrounded`)")
    diseases: int = Field(0, description="Distinct graph diseases the grounded mentions resolved to")
    from_candidates: int = Field(0, description="Grounded diseases that were retrieval candidates")
    added: int = Field(0, description="Grounded diseases outside the retrieval candidates")
    top1_changed: bool = False


class LlmReport(BaseModel):
    status: LlmStatus
    detail: str | None = Field(None, description="What happened, for any status but ok/off")
    model: str | None = None
    reasoning: str | None = Field(None, description="The model's chain of thought, separate from the answer")
    tiers: LlmTiers | None = None
    ungrounded: list[UngroundedName] = Field(default_factory=list)
    contribution: LlmContribution = Field(default_factory=LlmContribution)
    fusion: str | None = Field(None, description="The rule that merged the model's order with retrieval")
    prompt_tokens: int | None = None
    prompt_tokens_counted_by: str | None = Field(None, description="server tokenizer endpoint, or 'estimate'")
    completion_tokens: int | None = None
    candidates_in_prompt: int | None = None
    llm_ms: float | None = Field(None, description="Wall time of the LLM step (prompt, call, parsing, grounding)")


class LlmDiagnosis(BaseModel):
    """Retrieval response + LLM report + the ranking the client should show."""

    retrieval: DiagnosisResponse
    llm: LlmReport
    ranking: list[RankedDiagnosis]
    retrieval_ms: float | None = None


class LlmStreamEvent(BaseModel):
    """One server-sent event: `retrieval` (DiagnosisResponse JSON), `reasoning` ({"text"}), `result` (LlmDiagnosis JSON)."""

    event: Literal["retrieval", "reasoning", "result"]
    data: str

    def sse(self) -> str:
        """The event as `text/event-stream` text (one `data:` line per line of data)."""
        lines = "".join(f"data: {line}\n" for line in self.data.split("\n"))
        return f"event: {self.event}\n{lines}\n"
