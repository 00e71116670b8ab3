"""Wire shapes of the diagnose routes: request bodies, batch items, query options and their OpenAPI examples."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Body, Query
from pydantic import BaseModel, Field

from raregraph.api.http.problems import Problem
from raregraph.api.pipeline import DiagnoseResult, LlmMode
from raregraph.models import CaseRequest

__all__ = [
    "DiagnoseRequest", "BatchRequest", "BatchItem", "BatchResult", "CaseBody", "BatchBody", "TopQuery", "LlmQuery",
    "EvidenceQuery", "UnknownQuery", "ObsoleteQuery", "STREAM_DOC", "STREAM_RESPONSES",
]


class DiagnoseRequest(CaseRequest):
    """A case (the CLI's JSON case), or a GA4GH Phenopacket v2 in `phenopacket` instead of the case fields."""

    phenopacket: dict[str, Any] | None = Field(
        None, description="A GA4GH Phenopacket v2 (JSON object) as the case; then leave the other case fields empty",
    )

    def as_case(self) -> CaseRequest:
        """The case itself: this request, or the case its phenopacket describes."""
        if self.phenopacket is None:
            return self
        from raregraph.retrieval.phenopacket_input import case_from_phenopacket

        return case_from_phenopacket(self.phenopacket)


class BatchRequest(BaseModel):
    cases: list[DiagnoseRequest] = Field(min_length=1, description="At most RAREGRAPH_API_BATCH_MAX_CASES cases")


class BatchItem(BaseModel):
    index: int = Field(description="Position in the request's case list")
    id: str | None = None
    result: DiagnoseResult | None = Field(None, description="The differential, when the case could be ranked")
    error: Problem | None = Field(None, description="Why the case could not be ranked (the others still are)")


class BatchResult(BaseModel):
    count: int
    failed: int
    results: list[BatchItem]


_MARFAN = {"id": "case-1", "hpo_present": ["HP:0001166", "HP:0001083", "HP:0002616"], "hpo_excluded": ["HP:0001250"],
           "variants": [{"gene": "FBN1", "hgvs_c": "NM_000138.5:c.8080C>T", "zygosity": "heterozygous"}]}
CaseBody = Annotated[DiagnoseRequest, Body(openapi_examples={
    "terms_and_variant": {"summary": "HPO terms and a variant", "value": _MARFAN},
    "text": {"summary": "Clinical text", "value": {"text": "Tall, with arachnodactyly and ectopia lentis. No seizures."}},
})]
BatchBody = Annotated[BatchRequest, Body(openapi_examples={
    "two_cases": {"summary": "Two cases", "value": {"cases": [_MARFAN, {"id": "case-2", "hpo_present": ["HP:0001250"]}]}},
})]
TopQuery = Annotated[int | None, Query(ge=1, le=1000, description="Candidates returned (default RAREGRAPH_DEFAULT_TOP)")]
LlmQuery = Annotated[LlmMode, Query(
    description="auto: run the LLM step when an endpoint is configured (RAREGRAPH_LLM_BASE_URL); on: run it, "
                "and say `unavailable` when there is no endpoint; off: retrieval only. The step never fails the "
                "request: `llm.status` says what happened",
)]
EvidenceQuery = Annotated[bool, Query(description="Attach each candidate's grounded evidence")]
UnknownQuery = Annotated[Literal["error", "drop"], Query(description="Unknown HPO ids: 422, or drop them with a warning")]
ObsoleteQuery = Annotated[
    Literal["error", "replace"], Query(description="Obsolete HPO ids: 422 naming the replacement, or use it with a warning")
]

STREAM_DOC = (
    "The same case, query and answer as POST /v1/diagnose, as server-sent events (`text/event-stream`): "
    "`retrieval` (data: the retrieval differential, a DiagnosisResponse, `top` candidates), then `reasoning` "
    "events as the model writes (data: `{\"text\": ...}`, disease ids the graph lacks masked), then `result` "
    "(data: the DiagnoseResult that POST /v1/diagnose returns). Without the LLM step: `retrieval` then "
    "`result` (llm.status off or unavailable). Errors in the case (unknown HPO id, empty case, limits) are "
    "answered before the stream starts, as the usual application/problem+json."
)
_EVENT_EXAMPLE = ('event: retrieval\ndata: {"snapshot_id": "...", "candidates": [...]}\n\n'
                  'event: reasoning\ndata: {"text": "Ectopia lentis with "}\n\n'
                  'event: result\ndata: {"snapshot_id": "...", "llm": {"status": "ok", ...}, "ranking": [...]}\n\n')
# One event, as OpenAPI 3.2's `itemSchema` of an event stream (what FastAPI writes for its own SSE routes).
_EVENT_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["event", "data"],
    "properties": {
        "event": {"type": "string", "enum": ["retrieval", "reasoning", "result"]},
        "data": {"type": "string", "contentMediaType": "application/json",
                 "description": "retrieval: a DiagnosisResponse (`top` candidates); reasoning: {\"text\": ...}; "
                                "result: the DiagnoseResult of POST /v1/diagnose"},
    },
}
STREAM_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "An event stream: `retrieval`, `reasoning` (zero or more), `result`",
          "content": {"text/event-stream": {"itemSchema": _EVENT_SCHEMA, "example": _EVENT_EXAMPLE}}},
}
