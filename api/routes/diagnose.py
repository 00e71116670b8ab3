"""POST /v1/diagnose (one case), /v1/diagnose/stream (the same, as server-sent events) and /v1/diagnose/batch.

The LLM step (`llm=auto|on` with RAREGRAPH_LLM_BASE_URL set) runs after retrieval: ranking in a
worker thread (`Runtime.run`), then `llm.diagnose.llm_rerank` awaited on the event loop (it waits
on the network, so other requests go on meanwhile). Every LLM failure keeps HTTP 200: the answer
carries the retrieval ranking and `llm.status` says what happened. Retrieval plus the LLM step fit
in the per-request limit (RAREGRAPH_API_REQUEST_TIMEOUT_S): the LLM deadline is
RAREGRAPH_LLM_TIMEOUT_S or what is left of that limit, whichever is shorter.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.responses import Response, StreamingResponse

from raregraph.api.deps import LlmClientDep, Runtime, RuntimeDep, ServiceDep, SettingsDep
from raregraph.api.errors import describe_error
from raregraph.api.feedback.http import record_for
from raregraph.api.http_errors import Problem, RateLimitExceeded, problem_for_error
from raregraph.api.service import DiagnosisService, TermPolicy
from raregraph.llm.client import LlmClient
from raregraph.llm.diagnose import llm_enabled, llm_rerank, stream_llm_step
from raregraph.llm.models import LlmReport, LlmStreamEvent, RankedDiagnosis
from raregraph.llm.regrounding import retrieval_ranking
from raregraph.models import CaseRequest, DiagnosisResponse
from raregraph.settings import Settings

__all__ = [
    "router", "DiagnoseRequest", "LlmUse", "DiagnoseResult", "BatchRequest", "BatchItem", "BatchResult",
    "llm_skipped",
]

router = APIRouter(prefix="/v1", tags=["diagnosis"])
log = logging.getLogger("raregraph.api")

LlmMode = Literal["auto", "off", "on"]
_SERIALISE_RESERVE_S = 0.5  # of the request's time limit, kept back from the LLM step for building the answer


class DiagnoseRequest(CaseRequest):
    """A case (the CLI's JSON case), or a GA4GH Phenopacket v2 in `phenopacket` instead of the case fields."""

    phenopacket: dict[str, Any] | None = Field(
        None, description="A GA4GH Phenopacket v2 (JSON object) as the case; then leave the other case fields empty",
    )


class LlmUse(LlmReport):
    """What the LLM step did for this answer: the CLI's `llm` report, plus what the request asked for.

    `status`: off (not requested, or `auto` without an endpoint), unavailable (endpoint unset with
    `llm=on`, unreachable, or HTTP error), timeout, invalid_output, empty, all_ungrounded, ok.
    Anything but ok means `ranking` is the retrieval order.
    """

    requested: LlmMode


class DiagnoseResult(DiagnosisResponse):
    """The grounded differential (`candidates`, as the CLI's `diagnose --json`), the LLM step's report and the ranking to show."""

    llm: LlmUse
    ranking: list[RankedDiagnosis] = Field(
        description="The ranking to show, at most `top` lines: retrieval merged with the model's answer when "
                    "`llm.status` is ok (rule in `llm.fusion`), else the retrieval order. Every id is a graph id.",
    )
    retrieval_ms: float | None = Field(None, description="Wall time of retrieval (ranking and evidence)")


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


class EventStreamResponse(StreamingResponse):
    """A `text/event-stream` response (server-sent events), never buffered by a proxy."""

    media_type = "text/event-stream"

    def __init__(self, content: AsyncIterator[str]) -> None:
        super().__init__(content, headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


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


@dataclass(frozen=True)
class DiagnoseOptions:
    """The query options the diagnose routes share; `top` defaults to RAREGRAPH_DEFAULT_TOP."""

    top: int
    llm: LlmMode
    evidence: bool
    policy: TermPolicy


def diagnose_options(
    settings: SettingsDep, top: TopQuery = None, llm: LlmQuery = "auto", evidence: EvidenceQuery = True,
    unknown: UnknownQuery = "error", obsolete: ObsoleteQuery = "error",
) -> DiagnoseOptions:
    return DiagnoseOptions(top or settings.default_top, llm, evidence, TermPolicy(unknown=unknown, obsolete=obsolete))


OptionsDep = Annotated[DiagnoseOptions, Depends(diagnose_options)]


# --- whether the LLM step runs --------------------------------------------------------------------


def llm_skipped(mode: LlmMode, settings: Settings) -> LlmUse | None:
    """The report when the LLM step does not run (off, or no endpoint); None when it runs."""
    if mode == "off":
        return _not_run(mode, "off", "not requested")
    if llm_enabled(settings):
        return None
    if mode == "auto":
        return _not_run(mode, "off", "no LLM endpoint configured (RAREGRAPH_LLM_BASE_URL)")
    return _not_run(mode, "unavailable",
                    "llm=on but no LLM endpoint is configured (RAREGRAPH_LLM_BASE_URL); retrieval ranking returned")


def _not_run(mode: LlmMode, status: Literal["off", "unavailable"], detail: str) -> LlmUse:
    return LlmUse(requested=mode, status=status, detail=detail)


@dataclass(frozen=True)
class _Depth:
    """How many candidates retrieval ranks, and how many of the first of them get evidence."""

    ranked: int
    explained: int

    @classmethod
    def plain(cls, top: int, evidence: bool) -> "_Depth":
        return cls(top, top if evidence else 0)

    @classmethod
    def for_llm(cls, top: int, evidence: bool, settings: Settings) -> "_Depth":
        """The prompt shows `llm_top_k` candidates with their evidence; the client gets what it asked for."""
        return cls(max(top, settings.llm_top_k), max(top if evidence else 0, settings.llm_top_k))


class _Budget:
    """The per-request time limit (RAREGRAPH_API_REQUEST_TIMEOUT_S), shared by retrieval and the LLM step."""

    def __init__(self, settings: Settings) -> None:
        self.total = settings.api_request_timeout_s
        self._deadline = time.monotonic() + self.total

    def llm_settings(self, settings: Settings) -> tuple[Settings, bool]:
        """Settings whose LLM deadline ends before the request's; True when that cut RAREGRAPH_LLM_TIMEOUT_S."""
        reserve = min(_SERIALISE_RESERVE_S, 0.1 * self.total)
        left = max(self._deadline - time.monotonic() - reserve, 0.001)
        if left >= settings.llm_timeout_s:
            return settings, False
        return settings.model_copy(update={"llm_timeout_s": left}), True

    def report(self, report: LlmReport, mode: LlmMode, cut: bool) -> LlmUse:
        """The step's report for the client; a timeout caused by the request's limit says so."""
        fields = dict(report)
        if cut and report.status == "timeout":
            fields["detail"] = (f"{report.detail or 'timeout'}; the LLM step had what was left of the request's "
                                f"{self.total:g} s limit (RAREGRAPH_API_REQUEST_TIMEOUT_S)")
        return LlmUse.model_construct(**fields, requested=mode)


async def _rerank(service: DiagnosisService, response: DiagnosisResponse, settings: Settings,
                  client: LlmClient | None, top: int, mode: LlmMode,
                  budget: _Budget) -> tuple[LlmUse, list[RankedDiagnosis]]:
    """The LLM step on a retrieval response, within the request's time limit (never raises for LLM failures)."""
    llm_settings, cut = budget.llm_settings(settings)
    result = await llm_rerank(service, response, llm_settings, client=client, top=top)
    return budget.report(result.llm, mode, cut), result.ranking


# --- request checks -------------------------------------------------------------------------------


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


def _check_case(body: DiagnoseRequest, request: Request, settings: Settings, top: int, evidence: bool) -> None:
    errors = options_errors(top, evidence, settings) + case_limit_errors(body, settings, ("body",))
    if errors:
        raise RequestValidationError(errors)
    _log_case(settings, body)
    request.state.case = body if body.phenopacket is None else None  # lets an unknown-id problem name its field


def _log_case(settings: Settings, request: DiagnoseRequest | BatchRequest) -> None:
    if settings.api_log_patient_text:  # debug setting: the body holds patient text
        log.debug("case body", extra={"body": request.model_dump(mode="json", exclude_none=True)})


# --- retrieval and answers (worker threads) -------------------------------------------------------


def _as_case(request: DiagnoseRequest) -> CaseRequest:
    if request.phenopacket is None:
        return request
    from raregraph.retrieval.phenopacket_input import case_from_phenopacket

    return case_from_phenopacket(request.phenopacket)


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def _retrieve(service: DiagnosisService, request: DiagnoseRequest, depth: _Depth,
              policy: TermPolicy) -> tuple[DiagnosisResponse, float]:
    started = time.perf_counter()
    response = service.diagnose(_as_case(request), top=depth.ranked, policy=policy, evidence=depth.explained > 0,
                                evidence_top=depth.explained)
    return response, _ms(started)


def _shown(response: DiagnosisResponse, top: int, evidence: bool) -> dict[str, Any]:
    """The response's fields as the client sees them: `top` candidates, evidence only when asked for.

    With the LLM step on, retrieval ranks `max(top, llm_top_k)` candidates with evidence (the
    prompt needs both); the client still gets what it asked for.
    """
    candidates = response.candidates[:top]
    if not evidence:
        candidates = [c.model_copy(update={"evidence": None}) if c.evidence is not None else c for c in candidates]
    return {**{name: getattr(response, name) for name in DiagnosisResponse.model_fields}, "candidates": candidates}


def _result(response: DiagnosisResponse, top: int, evidence: bool, llm: LlmUse,
            ranking: list[RankedDiagnosis] | None, retrieval_ms: float | None) -> DiagnoseResult:
    """The answer; `ranking` None: the retrieval order (the LLM step did not run)."""
    fields = _shown(response, top, evidence)
    if ranking is None:
        ranking = retrieval_ranking(fields["candidates"])
    return DiagnoseResult.model_construct(**fields, llm=llm, ranking=ranking, retrieval_ms=retrieval_ms)


def _diagnose_json(service: DiagnosisService, request: DiagnoseRequest, top: int, policy: TermPolicy, evidence: bool,
                   llm: LlmUse, record: Callable[[DiagnosisResponse], DiagnosisResponse]) -> bytes:
    """Rank one case, record it (`response_id`) and serialise the answer (in the worker thread: ~80 kB for 10)."""
    response, retrieval_ms = _retrieve(service, request, _Depth.plain(top, evidence), policy)
    response = record(response)
    return _result(response, top, evidence, llm, None, retrieval_ms).model_dump_json().encode()


def _answer_json(response: DiagnosisResponse, top: int, evidence: bool, llm: LlmUse, ranking: list[RankedDiagnosis],
                 retrieval_ms: float) -> bytes:
    return _result(response, top, evidence, llm, ranking, retrieval_ms).model_dump_json().encode()


# --- POST /v1/diagnose ----------------------------------------------------------------------------


@router.post(
    "/diagnose", response_model=DiagnoseResult,
    summary="A grounded differential for one case (text, HPO terms, variants, or a phenopacket)",
    description="`candidates` is the retrieval differential with its evidence; `llm` reports the LLM step "
                "(status, reasoning, clinical tiers, what could not be grounded, timings); `ranking` is the "
                "order to show: merged with the model's answer when `llm.status` is ok, else retrieval's. "
                "An LLM failure never fails the request (HTTP 200, retrieval ranking).",
)
async def diagnose(
    body: CaseBody, request: Request, service: ServiceDep, runtime: RuntimeDep, settings: SettingsDep,
    client: LlmClientDep, options: OptionsDep,
) -> Response:
    top, llm, evidence, policy = options.top, options.llm, options.evidence, options.policy
    _check_case(body, request, settings, top, evidence)
    skipped = llm_skipped(llm, settings)
    if skipped is not None:  # no LLM code runs: llm=off is never slowed by the endpoint
        content = await runtime.run(_diagnose_json, service, body, top, policy, evidence, skipped,
                                    functools.partial(record_for, request, body))
        return Response(content, media_type="application/json")
    budget = _Budget(settings)
    # A hard cap (503 past it); the LLM deadline is set to end before it, so an LLM timeout is still a 200.
    with anyio.fail_after(budget.total):
        depth = _Depth.for_llm(top, evidence, settings)
        response, retrieval_ms = await runtime.run(_retrieve, service, body, depth, policy)
        use, ranking = await _rerank(service, response, settings, client, top, llm, budget)
        response = await runtime.run(functools.partial(record_for, request, body, response, llm=use,
                                                       ranking=[r.disease_id for r in ranking]))
        content = await runtime.run(_answer_json, response, top, evidence, use, ranking, retrieval_ms)
    return Response(content, media_type="application/json")


# --- POST /v1/diagnose/stream ---------------------------------------------------------------------


_STREAM_DOC = (
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


def _event(kind: Literal["retrieval", "reasoning", "result"], data: str) -> str:
    return LlmStreamEvent(event=kind, data=data).sse()


def _first_event(response: DiagnosisResponse, top: int, evidence: bool) -> str:
    return _event("retrieval", DiagnosisResponse.model_construct(**_shown(response, top, evidence)).model_dump_json())


def _result_event(response: DiagnosisResponse, top: int, evidence: bool, llm: LlmUse,
                  ranking: list[RankedDiagnosis] | None, retrieval_ms: float) -> str:
    return _event("result", _result(response, top, evidence, llm, ranking, retrieval_ms).model_dump_json())


async def _events(service: DiagnosisService, response: DiagnosisResponse, retrieval_ms: float,
                  first: str, top: int, evidence: bool, mode: LlmMode, skipped: LlmUse | None, settings: Settings,
                  client: LlmClient | None, budget: _Budget, runtime: Runtime) -> AsyncIterator[str]:
    yield first
    if skipped is not None:
        yield await runtime.run(_result_event, response, top, evidence, skipped, None, retrieval_ms)
        return
    llm_settings, cut = budget.llm_settings(settings)
    final: LlmStreamEvent | None = None
    async for event in stream_llm_step(service, response, llm_settings, client=client, top=top):
        if event.event == "reasoning":
            yield event.sse()
        elif event.event == "result":
            final = event
    assert final is not None  # the LLM layer always ends with a result
    yield await runtime.run(_final_event, final.data, response, top, evidence, mode, cut, budget, retrieval_ms)


def _final_event(data: str, response: DiagnosisResponse, top: int, evidence: bool, mode: LlmMode, cut: bool,
                 budget: _Budget, retrieval_ms: float) -> str:
    """The LLM layer's result (LlmDiagnosis JSON) as the DiagnoseResult POST /v1/diagnose answers."""
    doc = json.loads(data)
    report = LlmReport.model_validate(doc["llm"])
    ranking = [RankedDiagnosis.model_validate(row) for row in doc["ranking"]]
    return _result_event(response, top, evidence, budget.report(report, mode, cut), ranking, retrieval_ms)


@router.post(
    "/diagnose/stream", response_class=EventStreamResponse, status_code=200,
    summary="POST /v1/diagnose as server-sent events: retrieval first, the model's reasoning as it is written, "
            "then the answer",
    description=_STREAM_DOC,
    responses={200: {"description": "An event stream: `retrieval`, `reasoning` (zero or more), `result`",
                     "content": {"text/event-stream": {"itemSchema": _EVENT_SCHEMA, "example": _EVENT_EXAMPLE}}}},
)
async def diagnose_stream(
    body: CaseBody, request: Request, service: ServiceDep, runtime: RuntimeDep, settings: SettingsDep,
    client: LlmClientDep, options: OptionsDep,
) -> EventStreamResponse:
    top, llm, evidence, policy = options.top, options.llm, options.evidence, options.policy
    _check_case(body, request, settings, top, evidence)
    skipped = llm_skipped(llm, settings)
    budget = _Budget(settings)
    # Retrieval before the response starts: its errors become the usual 4xx problem.
    depth = _Depth.plain(top, evidence) if skipped is not None else _Depth.for_llm(top, evidence, settings)
    response, retrieval_ms = await runtime.run(_retrieve, service, body, depth, policy)
    first = await runtime.run(_first_event, response, top, evidence)
    return EventStreamResponse(_events(service, response, retrieval_ms, first, top, evidence, llm, skipped,
                                       settings, client, budget, runtime))


# --- POST /v1/diagnose/batch ----------------------------------------------------------------------


Ranked = tuple[DiagnosisResponse, float] | Problem  # a case's retrieval (and its wall time), or why it failed


def _rank_cases(service: DiagnosisService, cases: Sequence[DiagnoseRequest], depth: _Depth, policy: TermPolicy,
                request_id: str | None) -> list[Ranked]:
    out: list[Ranked] = []
    for i, case in enumerate(cases):
        try:
            out.append(_retrieve(service, case, depth, policy))
        except Exception as err:  # noqa: BLE001 - ours become a per-case problem; anything else is a bug
            info = describe_error(err)
            if info is None:
                raise
            out.append(problem_for_error(err, info, graph=service.graph,
                                         case=case if case.phenopacket is None else None,
                                         case_field=f"body.cases.{i}", request_id=request_id))
    return out


def _batch_json(cases: Sequence[DiagnoseRequest], ranked: Sequence[Ranked], top: int, evidence: bool,
                steps: Sequence[tuple[LlmUse, list[RankedDiagnosis] | None]]) -> bytes:
    items: list[BatchItem] = []
    for i, (case, outcome, (use, ranking)) in enumerate(zip(cases, ranked, steps)):
        if isinstance(outcome, Problem):
            items.append(BatchItem(index=i, id=case.id, error=outcome))
        else:
            response, retrieval_ms = outcome
            items.append(BatchItem.model_construct(
                index=i, id=case.id, error=None,
                result=_result(response, top, evidence, use, ranking, retrieval_ms)))
    failed = sum(1 for item in items if item.error is not None)
    return BatchResult(count=len(items), failed=failed, results=items).model_dump_json().encode()


def _batch_without_llm(service: DiagnosisService, cases: Sequence[DiagnoseRequest], top: int, policy: TermPolicy,
                       evidence: bool, skipped: LlmUse, request_id: str | None) -> bytes:
    ranked = _rank_cases(service, cases, _Depth.plain(top, evidence), policy, request_id)
    return _batch_json(cases, ranked, top, evidence, [(skipped, None)] * len(cases))


async def _batch_with_llm(service: DiagnosisService, cases: Sequence[DiagnoseRequest], top: int, policy: TermPolicy,
                          evidence: bool, mode: LlmMode, settings: Settings, client: LlmClient | None,
                          runtime: Runtime, request_id: str | None) -> bytes:
    """Retrieval for every case (one worker thread), then the LLM step per case, concurrently.

    The client's limit (RAREGRAPH_LLM_CONCURRENCY) bounds the requests in flight to the endpoint;
    a case still waiting for a slot when the request's time runs out gets `llm.status = timeout`.
    """
    budget = _Budget(settings)
    with anyio.fail_after(budget.total):
        depth = _Depth.for_llm(top, evidence, settings)
        ranked = await runtime.run(_rank_cases, service, cases, depth, policy, request_id)
        skipped = LlmUse(requested=mode, status="off", detail="the case could not be ranked")

        async def step(outcome: Ranked) -> tuple[LlmUse, list[RankedDiagnosis] | None]:
            if isinstance(outcome, Problem):
                return skipped, None
            return await _rerank(service, outcome[0], settings, client, top, mode, budget)

        steps = await asyncio.gather(*(step(outcome) for outcome in ranked))
        return await runtime.run(_batch_json, cases, ranked, top, evidence, steps)


@router.post(
    "/diagnose/batch", response_model=BatchResult,
    summary="Differentials for up to RAREGRAPH_API_BATCH_MAX_CASES cases in one synchronous request",
    description="Each case counts as one request against the rate limit. A case that cannot be ranked gets an "
                "`error` problem in its item; the others are still answered (HTTP 200). With the LLM step on, it "
                "runs per case, concurrently up to RAREGRAPH_LLM_CONCURRENCY requests to the endpoint, all within "
                "the request's time limit; each item's `result.llm` says what it did for that case.",
)
async def diagnose_batch(
    body: BatchBody, request: Request, service: ServiceDep, runtime: RuntimeDep, settings: SettingsDep,
    client: LlmClientDep, options: OptionsDep,
) -> Response:
    top, llm, evidence, policy = options.top, options.llm, options.evidence, options.policy
    errors = options_errors(top, evidence, settings)
    if len(body.cases) > settings.api_batch_max_cases:
        errors.append({"type": "too_long", "loc": ("body", "cases"), "input": len(body.cases),
                       "msg": f"{len(body.cases)} cases, over the limit of {settings.api_batch_max_cases} per batch "
                              "(RAREGRAPH_API_BATCH_MAX_CASES)"})
    for i, case in enumerate(body.cases):
        errors += case_limit_errors(case, settings, ("body", "cases", i))
    if errors:
        raise RequestValidationError(errors)
    limiter, rate_client = request.app.state.rate_limiter, getattr(request.state, "rate_client", None)
    wait = limiter.take(rate_client, len(body.cases) - 1) if rate_client else None
    if wait is not None:
        raise RateLimitExceeded(wait, f"a batch of {len(body.cases)} cases counts as {len(body.cases)} requests, more "
                                      f"than the rate limit allows now (RAREGRAPH_API_RATE_LIMIT_PER_MINUTE); "
                                      f"retry in {wait} s")
    _log_case(settings, body)
    request_id = getattr(request.state, "request_id", None)
    skipped = llm_skipped(llm, settings)
    if skipped is not None:
        content = await runtime.run(_batch_without_llm, service, body.cases, top, policy, evidence, skipped, request_id)
    else:
        content = await _batch_with_llm(service, body.cases, top, policy, evidence, llm, settings, client, runtime,
                                        request_id)
    return Response(content, media_type="application/json")
