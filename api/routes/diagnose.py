"""POST /v1/diagnose (one case) and /v1/diagnose/batch (up to `api_batch_max_cases`, answered synchronously)."""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.responses import Response

from raregraph.api.deps import RuntimeDep, ServiceDep, SettingsDep
from raregraph.api.errors import describe_error
from raregraph.api.http_errors import Problem, RateLimitExceeded, problem_for_error
from raregraph.models import CaseRequest, DiagnosisResponse
from raregraph.api.service import DiagnosisService, TermPolicy
from raregraph.settings import Settings

__all__ = ["router", "DiagnoseRequest", "LlmUse", "DiagnoseResult", "BatchRequest", "BatchItem", "BatchResult"]

router = APIRouter(prefix="/v1", tags=["diagnosis"])
log = logging.getLogger("raregraph.api")

LlmMode = Literal["auto", "off", "on"]


class DiagnoseRequest(CaseRequest):
    """A case (the CLI's JSON case), or a GA4GH Phenopacket v2 in `phenopacket` instead of the case fields."""

    phenopacket: dict[str, Any] | None = Field(
        None, description="A GA4GH Phenopacket v2 (JSON object) as the case; then leave the other case fields empty",
    )


class LlmUse(BaseModel):
    """Whether the LLM step ran for this answer, and why not when it did not."""

    requested: LlmMode
    status: Literal["off", "unavailable"] = Field(
        description="off: not requested, or auto without an endpoint; unavailable: requested but could not run "
                    "(the retrieval ranking is returned)",
    )
    detail: str | None = None


class DiagnoseResult(DiagnosisResponse):
    """The grounded differential (as the CLI's `diagnose --json`) and the LLM step's status."""

    llm: LlmUse


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
LlmQuery = Annotated[LlmMode, Query(description="auto: use the LLM when an endpoint is configured; on: require it; off")]
EvidenceQuery = Annotated[bool, Query(description="Attach each candidate's grounded evidence")]
UnknownQuery = Annotated[Literal["error", "drop"], Query(description="Unknown HPO ids: 422, or drop them with a warning")]
ObsoleteQuery = Annotated[
    Literal["error", "replace"], Query(description="Obsolete HPO ids: 422 naming the replacement, or use it with a warning")
]


def llm_use(mode: LlmMode, settings: Settings) -> LlmUse:
    """The LLM step's status; the HTTP API serves the retrieval ranking until the LLM layer is wired into the service."""
    if mode == "off":
        return LlmUse(requested=mode, status="off", detail="not requested")
    if not getattr(settings, "llm_base_url", None):
        if mode == "auto":
            return LlmUse(requested=mode, status="off", detail="no LLM endpoint configured (RAREGRAPH_LLM_BASE_URL)")
        return LlmUse(requested=mode, status="unavailable",
                      detail="llm=on but no LLM endpoint is configured (RAREGRAPH_LLM_BASE_URL); retrieval ranking returned")
    return LlmUse(requested=mode, status="unavailable",
                  detail="the LLM step is not yet served over HTTP; retrieval ranking returned")


def case_limit_errors(case: DiagnoseRequest, settings: Settings, loc: tuple[str | int, ...]) -> list[dict[str, Any]]:
    """Request-size limits of one case, as validation errors naming the limit and its setting."""
    errors: list[dict[str, Any]] = []

    def over(field: str, message: str, value: Any) -> None:
        errors.append({"type": "too_long", "loc": (*loc, field), "msg": message, "input": value})

    terms = len(case.hpo_present) + len(case.hpo_excluded)
    if terms > settings.max_terms_per_case:
        field = "hpo_present" if len(case.hpo_present) >= len(case.hpo_excluded) else "hpo_excluded"
        over(field, f"{terms} HPO terms (present + excluded), over the limit of {settings.max_terms_per_case} "
                    "per case (RAREGRAPH_MAX_TERMS_PER_CASE)", terms)
    if len(case.variants) > settings.api_max_variants_per_case:
        over("variants", f"{len(case.variants)} variants, over the limit of {settings.api_max_variants_per_case} "
                         "per case (RAREGRAPH_API_MAX_VARIANTS_PER_CASE)", len(case.variants))
    if case.text is not None and len(case.text) > settings.api_max_text_chars:
        over("text", f"{len(case.text)} characters of text, over the limit of {settings.api_max_text_chars} "
                     "(RAREGRAPH_API_MAX_TEXT_CHARS)", len(case.text))
    if case.phenopacket is not None and (case.text or case.hpo_present or case.hpo_excluded or case.variants):
        errors.append({"type": "value_error", "loc": (*loc, "phenopacket"), "input": None,
                       "msg": "give either a phenopacket or the case fields (text, hpo_present, hpo_excluded, variants)"})
    return errors


def options_errors(top: int, evidence: bool, settings: Settings) -> list[dict[str, Any]]:
    """Evidence costs a graph read per candidate: it is attached to at most `api_max_evidence_candidates`."""
    if evidence and top > settings.api_max_evidence_candidates:
        return [{"type": "less_than_equal", "loc": ("query", "top"), "input": top,
                 "msg": f"top={top} with evidence: at most {settings.api_max_evidence_candidates} candidates carry "
                        "evidence (RAREGRAPH_API_MAX_EVIDENCE_CANDIDATES); ask evidence=false or a smaller top"}]
    return []


def _as_case(request: DiagnoseRequest) -> CaseRequest:
    if request.phenopacket is None:
        return request
    from raregraph.retrieval.phenopacket_input import case_from_phenopacket

    return case_from_phenopacket(request.phenopacket)


def _diagnose_json(
    service: DiagnosisService, request: DiagnoseRequest, top: int, policy: TermPolicy, evidence: bool, llm: LlmUse,
) -> bytes:
    """Rank one case and serialise the answer (both in the worker thread: a 10-candidate answer is ~80 kB)."""
    result = service.diagnose(_as_case(request), top=top, policy=policy, evidence=evidence)
    return _with_llm(result, llm).model_dump_json().encode()


def _with_llm(result: DiagnosisResponse, llm: LlmUse) -> DiagnoseResult:
    return DiagnoseResult.model_construct(**{name: getattr(result, name) for name in DiagnosisResponse.model_fields}, llm=llm)


def _log_case(settings: Settings, request: DiagnoseRequest | BatchRequest) -> None:
    if settings.api_log_patient_text:  # debug setting: the body holds patient text
        log.debug("case body", extra={"body": request.model_dump(mode="json", exclude_none=True)})


@router.post(
    "/diagnose", response_model=DiagnoseResult,
    summary="A grounded differential for one case (text, HPO terms, variants, or a phenopacket)",
)
async def diagnose(
    body: CaseBody, request: Request, service: ServiceDep, runtime: RuntimeDep, settings: SettingsDep,
    top: TopQuery = None, llm: LlmQuery = "auto", evidence: EvidenceQuery = True,
    unknown: UnknownQuery = "error", obsolete: ObsoleteQuery = "error",
) -> Response:
    top = top or settings.default_top
    errors = options_errors(top, evidence, settings) + case_limit_errors(body, settings, ("body",))
    if errors:
        raise RequestValidationError(errors)
    _log_case(settings, body)
    request.state.case = body if body.phenopacket is None else None  # lets an unknown-id problem name its field
    policy = TermPolicy(unknown=unknown, obsolete=obsolete)
    content = await runtime.run(_diagnose_json, service, body, top, policy, evidence, llm_use(llm, settings))
    return Response(content, media_type="application/json")


def _batch_json(
    service: DiagnosisService, cases: list[DiagnoseRequest], top: int, policy: TermPolicy, evidence: bool, llm: LlmUse,
    request_id: str | None,
) -> bytes:
    items: list[BatchItem] = []
    for i, case in enumerate(cases):
        try:
            result = service.diagnose(_as_case(case), top=top, policy=policy, evidence=evidence)
        except Exception as err:  # noqa: BLE001 - ours become a per-case problem; anything else is a bug
            info = describe_error(err)
            if info is None:
                raise
            problem = problem_for_error(err, info, graph=service.graph, case=case if case.phenopacket is None else None,
                                        case_field=f"body.cases.{i}", request_id=request_id)
            items.append(BatchItem(index=i, id=case.id, error=problem))
        else:
            items.append(BatchItem(index=i, id=case.id, result=_with_llm(result, llm)))
    failed = sum(1 for item in items if item.error is not None)
    return BatchResult(count=len(items), failed=failed, results=items).model_dump_json().encode()


@router.post(
    "/diagnose/batch", response_model=BatchResult,
    summary="Differentials for up to RAREGRAPH_API_BATCH_MAX_CASES cases in one synchronous request",
    description="Each case counts as one request against the rate limit. A case that cannot be ranked gets an "
                "`error` problem in its item; the others are still answered (HTTP 200).",
)
async def diagnose_batch(
    body: BatchBody, request: Request, service: ServiceDep, runtime: RuntimeDep, settings: SettingsDep,
    top: TopQuery = None, llm: LlmQuery = "auto", evidence: EvidenceQuery = True,
    unknown: UnknownQuery = "error", obsolete: ObsoleteQuery = "error",
) -> Response:
    top = top or settings.default_top
    errors = options_errors(top, evidence, settings)
    if len(body.cases) > settings.api_batch_max_cases:
        errors.append({"type": "too_long", "loc": ("body", "cases"), "input": len(body.cases),
                       "msg": f"{len(body.cases)} cases, over the limit of {settings.api_batch_max_cases} per batch "
                              "(RAREGRAPH_API_BATCH_MAX_CASES)"})
    for i, case in enumerate(body.cases):
        errors += case_limit_errors(case, settings, ("body", "cases", i))
    if errors:
        raise RequestValidationError(errors)
    limiter, client = request.app.state.rate_limiter, getattr(request.state, "rate_client", None)
    wait = limiter.take(client, len(body.cases) - 1) if client else None
    if wait is not None:
        raise RateLimitExceeded(wait, f"a batch of {len(body.cases)} cases counts as {len(body.cases)} requests, more "
                                      f"than the rate limit allows now (RAREGRAPH_API_RATE_LIMIT_PER_MINUTE); "
                                      f"retry in {wait} s")
    _log_case(settings, body)
    policy = TermPolicy(unknown=unknown, obsolete=obsolete)
    content = await runtime.run(
        _batch_json, service, body.cases, top, policy, evidence, llm_use(llm, settings),
        getattr(request.state, "request_id", None),
    )
    return Response(content, media_type="application/json")
