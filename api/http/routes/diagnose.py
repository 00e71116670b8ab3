"""POST /v1/diagnose (one case), /v1/diagnose/stream (the same, as server-sent events) and /v1/diagnose/batch.

Each route parses the request, checks its limits, calls the `DiagnosisPipeline` and renders what
it returns; the flow (retrieval in a worker thread, then the LLM step on the event loop, within
RAREGRAPH_API_REQUEST_TIMEOUT_S) is the pipeline's. Every LLM failure keeps HTTP 200: the answer
carries the retrieval ranking and `llm.status` says what happened.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from starlette.responses import Response, StreamingResponse

from raregraph.api.errors import describe_error
from raregraph.api.feedback.http import record_result, record_result_json
from raregraph.api.http.deps import PipelineDep, RuntimeDep, SettingsDep
from raregraph.api.http.limits import check_batch, check_case
from raregraph.api.http.problems import RateLimitExceeded, problem_for_error
from raregraph.api.http.schemas import (
    STREAM_DOC, STREAM_RESPONSES, BatchBody, BatchItem, BatchResult, CaseBody, DiagnoseRequest, EvidenceQuery, LlmQuery,
    ObsoleteQuery, TopQuery, UnknownQuery,
)
from raregraph.api.pipeline import Deadline, DiagnoseOptions, DiagnoseResult, DiagnosisPipeline, Finished, Reasoning
from raregraph.llm.models import LlmStreamEvent
from raregraph.models import CaseRequest
from raregraph.retrieval.case import TermPolicy
from raregraph.settings import Settings

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["diagnosis"])
log = logging.getLogger("raregraph.api")


def diagnose_options(
    settings: SettingsDep, top: TopQuery = None, llm: LlmQuery = "auto", evidence: EvidenceQuery = True,
    unknown: UnknownQuery = "error", obsolete: ObsoleteQuery = "error",
) -> DiagnoseOptions:
    return DiagnoseOptions(top or settings.default_top, llm, evidence, TermPolicy(unknown=unknown, obsolete=obsolete))


OptionsDep = Annotated[DiagnoseOptions, Depends(diagnose_options)]


class EventStreamResponse(StreamingResponse):
    """A `text/event-stream` response (server-sent events), never buffered by a proxy."""

    media_type = "text/event-stream"

    def __init__(self, content: AsyncIterator[str]) -> None:
        super().__init__(content, headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _log_body(settings: Settings, body: BaseModel) -> None:
    if settings.api_log_patient_text:  # debug setting: the body holds patient text
        log.debug("case body", extra={"body": body.model_dump(mode="json", exclude_none=True)})


def _json(model: BaseModel) -> bytes:
    return model.model_dump_json().encode()


def _answer_json(pipeline: DiagnosisPipeline, body: DiagnoseRequest, options: DiagnoseOptions,
                 record_json: Callable[[DiagnoseResult], bytes]) -> bytes:
    return record_json(pipeline.run_sync(body.as_case(), options))


def _sse(kind: str, model: BaseModel) -> str:
    return LlmStreamEvent(event=kind, data=model.model_dump_json()).sse()  # type: ignore[arg-type]


@router.post(
    "/diagnose", response_model=DiagnoseResult,
    summary="A grounded differential for one case (text, HPO terms, variants, or a phenopacket)",
    description="`candidates` is the retrieval differential with its evidence; `llm` reports the LLM step "
                "(status, reasoning, clinical tiers, what could not be grounded, timings); `ranking` is the "
                "order to show: merged with the model's answer when `llm.status` is ok, else retrieval's. "
                "An LLM failure never fails the request (HTTP 200, retrieval ranking).",
)
async def diagnose(body: CaseBody, request: Request, pipeline: PipelineDep, runtime: RuntimeDep,
                   settings: SettingsDep, options: OptionsDep) -> Response:
    check_case(body, settings, options.top, options.evidence)
    _log_body(settings, body)
    request.state.case = body if body.phenopacket is None else None  # lets an unknown-id problem name its field
    if pipeline.skipped(options.llm) is not None:  # retrieval only: answer and its JSON in one worker-thread call
        return Response(await runtime.run(_answer_json, pipeline, body, options,
                                          functools.partial(record_result_json, request, body), text=bool(body.text)),
                        media_type="application/json")
    # A hard cap (503 past it); the LLM deadline ends before it, so an LLM timeout is still a 200.
    with anyio.fail_after(settings.api_request_timeout_s):
        result = await pipeline.run(body.as_case(), options, Deadline(settings.api_request_timeout_s))
        # its response_id, for feedback; a 10-candidate answer is ~50 kB of JSON: encoded off the loop
        content = await runtime.run(record_result_json, request, body, result)
    return Response(content, media_type="application/json")


@router.post(
    "/diagnose/stream", response_class=EventStreamResponse, status_code=200,
    summary="POST /v1/diagnose as server-sent events: retrieval first, the model's reasoning as it is written, "
            "then the answer",
    description=STREAM_DOC, responses=STREAM_RESPONSES,
)
async def diagnose_stream(body: CaseBody, request: Request, pipeline: PipelineDep, runtime: RuntimeDep,
                          settings: SettingsDep, options: OptionsDep) -> EventStreamResponse:
    check_case(body, settings, options.top, options.evidence)
    _log_body(settings, body)
    request.state.case = body if body.phenopacket is None else None
    # Retrieval before the response starts: its errors become the usual 4xx problem.
    first, rest = await pipeline.start(body.as_case(), options, Deadline(settings.api_request_timeout_s))
    opening = await runtime.run(_sse, "retrieval", first.response)

    async def events() -> AsyncIterator[str]:
        yield opening
        async for event in rest:
            if isinstance(event, Reasoning):
                yield LlmStreamEvent(event="reasoning", data=json.dumps({"text": event.text})).sse()
            elif isinstance(event, Finished):  # the answer, with the response_id feedback cites
                yield await runtime.run(_recorded_sse, request, body, event.result)

    return EventStreamResponse(events())


def _recorded_sse(request: Request, body: DiagnoseRequest, result: DiagnoseResult) -> str:
    return _sse("result", record_result(request, body, result))


def _record_answers(request: Request, cases: list[CaseRequest | Exception],
                    outcomes: list[DiagnoseResult | Exception]) -> list[DiagnoseResult | Exception]:
    """Each answered case recorded (its response_id, for feedback); failed ones as they are."""
    return [outcome if isinstance(outcome, Exception) else record_result(request, case, outcome)  # type: ignore[arg-type]
            for case, outcome in zip(cases, outcomes, strict=True)]


def _read_cases(cases: list[DiagnoseRequest]) -> list[CaseRequest | Exception]:
    """Each case as given, or the error of one that cannot be read (a bad phenopacket), reported in its item."""
    out: list[CaseRequest | Exception] = []
    for case in cases:
        try:
            out.append(case.as_case())
        except Exception as err:  # noqa: BLE001 - ours become the case's problem; anything else is a bug
            if describe_error(err) is None:
                raise
            out.append(err)
    return out


@router.post(
    "/diagnose/batch", response_model=BatchResult,
    summary="Differentials for up to RAREGRAPH_API_BATCH_MAX_CASES cases in one synchronous request",
    description="Each case counts as one request against the rate limit; a batch of more cases than the burst "
                "(RAREGRAPH_API_RATE_LIMIT_BURST) goes ahead when the client's bucket is full, and the client then waits "
                "off the difference. A case that cannot be ranked gets an "
                "`error` problem in its item; the others are still answered (HTTP 200). With the LLM step on, it "
                "runs per case, concurrently up to RAREGRAPH_LLM_CONCURRENCY requests to the endpoint, all within "
                "the request's time limit; each item's `result.llm` says what it did for that case.",
)
async def diagnose_batch(body: BatchBody, request: Request, pipeline: PipelineDep, runtime: RuntimeDep,
                         settings: SettingsDep, options: OptionsDep) -> Response:
    check_batch(body.cases, settings, options.top, options.evidence)
    limiter, rate_client = request.app.state.rate_limiter, getattr(request.state, "rate_client", None)
    # The middleware took one token for the request; a batch larger than the burst goes ahead on a full bucket.
    wait = limiter.take(rate_client, len(body.cases) - 1, spent=1) if rate_client else None
    if wait is not None:
        raise RateLimitExceeded(wait, f"a batch of {len(body.cases)} cases counts as {len(body.cases)} requests, more "
                                      f"than the rate limit allows now (RAREGRAPH_API_RATE_LIMIT_PER_MINUTE, burst "
                                      f"RAREGRAPH_API_RATE_LIMIT_BURST); retry in {wait} s")
    _log_body(settings, body)
    request_id = getattr(request.state, "request_id", None)
    with anyio.fail_after(settings.api_request_timeout_s):
        cases = await runtime.run(_read_cases, body.cases)
        outcomes = await pipeline.batch(cases, options, Deadline(settings.api_request_timeout_s))
        outcomes = await runtime.run(_record_answers, request, cases, outcomes)
        items = []
        for i, (case, outcome) in enumerate(zip(body.cases, outcomes)):
            if isinstance(outcome, Exception):
                problem = problem_for_error(outcome, describe_error(outcome), graph=pipeline.retriever.graph,  # type: ignore[arg-type]
                                            case=case if case.phenopacket is None else None,
                                            case_field=f"body.cases.{i}", request_id=request_id)
                items.append(BatchItem(index=i, id=case.id, error=problem))
            else:
                items.append(BatchItem.model_construct(index=i, id=case.id, error=None, result=outcome))
        result = BatchResult(count=len(items), failed=sum(item.error is not None for item in items), results=items)
        content = await runtime.run(_json, result)
    return Response(content, media_type="application/json")
