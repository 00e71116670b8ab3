"""The diagnosis pipeline: retrieval → optional LLM step → answer, under one deadline, with typed events.

One owner of the flow, collaborators passed in (neo4j-graphrag's `GraphRAG(retriever, llm).search()`
shape): the HTTP routes, the SSE stream, batch and the CLI's `diagnose` and `rank` only parse
input, call it and render what it returns. Retrieval (CPU-bound) runs through `offload` (a worker
thread); the LLM step is awaited on the event loop. An LLM failure never fails the answer: it
carries the retrieval ranking and `llm.status` says why.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from pydantic import Field

from raregraph.api.errors import describe_error
from raregraph.errors import WorkCancelledError
from raregraph.llm.client import LlmClient
from raregraph.llm.diagnose import Grounding, llm_enabled, llm_rerank, llm_step
from raregraph.llm.models import LlmDiagnosis, LlmReport, RankedDiagnosis
from raregraph.llm.regrounding import retrieval_ranking
from raregraph.models import CaseRequest, DiagnosisResponse, RankingLine
from raregraph.retrieval.case import STRICT, TermPolicy
from raregraph.retrieval.retriever import Retriever
from raregraph.settings import Settings

__all__ = [
    "DiagnosisPipeline", "DiagnoseOptions", "Deadline", "LlmMode", "LlmUse", "DiagnoseResult",
    "Retrieved", "Reasoning", "Finished", "Event", "Offload",
]

T = TypeVar("T")
LlmMode = Literal["auto", "off", "on"]
# offload(fn, *args, text=bool) → fn(*args), run off the event loop; `text`: the work links clinical
# text (the HTTP runtime gives it a lane of its own, see `api/http/deps.Runtime.run`)
Offload = Callable[..., Awaitable[Any]]
_SERIALISE_RESERVE_S = 0.5  # of the deadline, kept back from the LLM step for building the answer


class LlmUse(LlmReport):
    """What the LLM step did for this answer, plus what the request asked for.

    `status`: off (not requested, or `auto` without an endpoint), unavailable (endpoint unset with
    `llm=on`, unreachable, or HTTP error), timeout, invalid_output, empty, all_ungrounded, ok.
    Anything but ok means `ranking` is the retrieval order.
    """

    requested: LlmMode


class DiagnoseResult(DiagnosisResponse):
    """The grounded differential (`candidates`), the LLM step's report and the ranking to show."""

    llm: LlmUse
    ranking: list[RankedDiagnosis] = Field(
        description="The ranking to show, at most `top` lines: retrieval merged with the model's answer when "
                    "`llm.status` is ok (rule in `llm.fusion`), else the retrieval order. Every id is a graph id.",
    )
    retrieval_ms: float | None = Field(None, description="Wall time of retrieval (ranking and evidence)")


@dataclass(frozen=True)
class DiagnoseOptions:
    """How to answer: `top` candidates, the LLM step (auto/off/on), evidence, and the policy for odd ids."""

    top: int = 10
    llm: LlmMode = "auto"
    evidence: bool = True
    policy: TermPolicy = STRICT


class Deadline:
    """A wall-clock limit shared by retrieval and the LLM step (None: only the LLM's own timeout applies)."""

    def __init__(self, seconds: float | None = None) -> None:
        self.total = seconds
        self._end = None if seconds is None else time.monotonic() + seconds

    def llm_settings(self, settings: Settings) -> tuple[Settings, bool]:
        """Settings whose LLM timeout ends before the deadline; True when that cut RAREGRAPH_LLM_TIMEOUT_S."""
        if self._end is None or self.total is None:
            return settings, False
        reserve = min(_SERIALISE_RESERVE_S, 0.1 * self.total)
        left = max(self._end - time.monotonic() - reserve, 0.001)
        if left >= settings.llm_timeout_s:
            return settings, False
        return settings.model_copy(update={"llm_timeout_s": left}), True


@dataclass(frozen=True)
class Retrieved:
    """Event: the retrieval differential as the client sees it (`top` candidates), before any LLM step."""

    response: DiagnosisResponse
    retrieval_ms: float


@dataclass(frozen=True)
class Reasoning:
    """Event: a piece of the model's reasoning as it is written (ids the graph lacks masked)."""

    text: str


@dataclass(frozen=True)
class Finished:
    """Event: the answer."""

    result: DiagnoseResult


Event = Retrieved | Reasoning | Finished


@dataclass(frozen=True)
class _Retrieval:
    """One case's retrieval: the response ranked deep enough for the LLM step, and its wall time."""

    response: DiagnosisResponse
    retrieval_ms: float
    skipped: LlmUse | None  # the LLM report when the step does not run


async def _to_thread(fn: Callable[..., T], *args: Any, text: bool = False) -> T:
    return await asyncio.to_thread(fn, *args)


def _has_text(request: CaseRequest | Exception) -> bool:
    return isinstance(request, CaseRequest) and bool(request.text and request.text.strip())


class DiagnosisPipeline:
    """Retrieval → optional LLM step → `DiagnoseResult`, for one case, a stream of events, or a batch."""

    def __init__(self, retriever: Retriever, settings: Settings, *, llm_client: LlmClient | None = None,
                 offload: Offload = _to_thread) -> None:
        self.retriever = retriever
        self.settings = settings
        self.llm_client = llm_client
        self.offload = offload
        self.grounding = Grounding(retriever.graph, retriever.engine.index.disease_ids)

    # --- one case ---------------------------------------------------------------------------------

    async def run(self, request: CaseRequest, options: DiagnoseOptions, deadline: Deadline | None = None) -> DiagnoseResult:
        """The answer for one case (retrieval errors raised; LLM failures reported in `llm`)."""
        retrieval = await self.offload(self._retrieve, request, options, text=_has_text(request))
        return await self._finish(retrieval, options, deadline or Deadline())

    def run_sync(self, request: CaseRequest, options: DiagnoseOptions) -> DiagnoseResult:
        """`run` for synchronous callers (the CLI, a worker thread); retrieval alone never starts an event loop."""
        retrieval = self._retrieve(request, options)
        if retrieval.skipped is not None:
            return self._result(retrieval.response, options, retrieval.skipped, None, retrieval.retrieval_ms)
        return asyncio.run(self._finish(retrieval, options, Deadline()))

    async def start(self, request: CaseRequest, options: DiagnoseOptions,
                    deadline: Deadline | None = None) -> tuple[Retrieved, AsyncIterator[Reasoning | Finished]]:
        """Retrieval now (its errors raised here, before any event is sent), then the rest as events."""
        retrieval = await self.offload(self._retrieve, request, options, text=_has_text(request))
        first = Retrieved(self._shown(retrieval.response, options), retrieval.retrieval_ms)
        return first, self._events(retrieval, options, deadline or Deadline())

    async def _events(self, retrieval: _Retrieval, options: DiagnoseOptions,
                      deadline: Deadline) -> AsyncIterator[Reasoning | Finished]:
        if retrieval.skipped is not None:
            yield Finished(self._result(retrieval.response, options, retrieval.skipped, None, retrieval.retrieval_ms))
            return
        llm_settings, cut = deadline.llm_settings(self.settings)
        async for item in llm_step(self.grounding, retrieval.response, llm_settings, client=self.llm_client,
                                   stream=True, top=options.top):
            if isinstance(item, str):
                yield Reasoning(item)
            else:
                yield Finished(self._llm_result(retrieval, options, item, deadline, cut))

    # --- batch and cohorts ------------------------------------------------------------------------

    async def batch(self, requests: Sequence[CaseRequest | Exception], options: DiagnoseOptions,
                    deadline: Deadline | None = None) -> list[DiagnoseResult | Exception]:
        """Answers in request order; a case that cannot be ranked gets its error (one of ours) instead.

        A request given as an exception (a case that could not be read) is passed through as its answer.

        Retrieval for every case runs in one offloaded call; the LLM steps then run concurrently
        (the client's RAREGRAPH_LLM_CONCURRENCY bounds the requests in flight).
        """
        deadline = deadline or Deadline()
        retrievals = await self.offload(self._retrieve_all, requests, options, text=any(map(_has_text, requests)))

        async def finish(item: _Retrieval | Exception) -> DiagnoseResult | Exception:
            return item if isinstance(item, Exception) else await self._finish(item, options, deadline)

        return list(await asyncio.gather(*(finish(item) for item in retrievals)))

    def rank_line(self, request: CaseRequest, *, top: int = 100) -> RankingLine:
        """One evaluation line (`raregraph rank`): retrieval only, id problems as warnings."""
        return self.retriever.rank_line(request, top=top)

    # --- steps ------------------------------------------------------------------------------------

    def skipped(self, mode: LlmMode) -> LlmUse | None:
        """The report when the LLM step does not run (off, or no endpoint); None when it runs."""
        if mode == "off":
            return LlmUse(requested=mode, status="off", detail="not requested")
        if llm_enabled(self.settings):
            return None
        if mode == "auto":
            return LlmUse(requested=mode, status="off", detail="no LLM endpoint configured (RAREGRAPH_LLM_BASE_URL)")
        return LlmUse(requested=mode, status="unavailable",
                      detail="llm=on but no LLM endpoint is configured (RAREGRAPH_LLM_BASE_URL); retrieval ranking returned")

    def _retrieve(self, request: CaseRequest, options: DiagnoseOptions) -> _Retrieval:
        """Rank (and explain) the case; with the LLM step on, deep enough for its prompt (`llm_top_k` with evidence)."""
        skipped = self.skipped(options.llm)
        top, explained = options.top, options.top if options.evidence else 0
        if skipped is None:
            top, explained = max(top, self.settings.llm_top_k), max(explained, self.settings.llm_top_k)
        started = time.perf_counter()
        response = self.retriever.diagnose(request, top=top, policy=options.policy, evidence=explained > 0,
                                           evidence_top=explained)
        return _Retrieval(response, round((time.perf_counter() - started) * 1000, 2), skipped)

    def _retrieve_all(self, requests: Sequence[CaseRequest | Exception],
                      options: DiagnoseOptions) -> list[_Retrieval | Exception]:
        out: list[_Retrieval | Exception] = []
        for request in requests:
            if isinstance(request, Exception):
                out.append(request)
                continue
            try:
                out.append(self._retrieve(request, options))
            except WorkCancelledError:
                raise  # the batch's request ended: stop, rather than fail each remaining case in turn
            except Exception as err:  # noqa: BLE001 - ours become a per-case error; anything else is a bug
                if describe_error(err) is None:
                    raise
                out.append(err)
        return out

    async def _finish(self, retrieval: _Retrieval, options: DiagnoseOptions, deadline: Deadline) -> DiagnoseResult:
        if retrieval.skipped is not None:
            return self._result(retrieval.response, options, retrieval.skipped, None, retrieval.retrieval_ms)
        llm_settings, cut = deadline.llm_settings(self.settings)
        step = await llm_rerank(self.grounding, retrieval.response, llm_settings, client=self.llm_client, top=options.top)
        return self._llm_result(retrieval, options, step, deadline, cut)

    def _llm_result(self, retrieval: _Retrieval, options: DiagnoseOptions, step: LlmDiagnosis, deadline: Deadline,
                    cut: bool) -> DiagnoseResult:
        fields = dict(step.llm)
        if cut and step.llm.status == "timeout":
            fields["detail"] = (f"{step.llm.detail or 'timeout'}; the LLM step had what was left of the request's "
                                f"{deadline.total:g} s limit (RAREGRAPH_API_REQUEST_TIMEOUT_S)")
        use = LlmUse.model_construct(**fields, requested=options.llm)
        return self._result(retrieval.response, options, use, step.ranking, retrieval.retrieval_ms)

    def _shown(self, response: DiagnosisResponse, options: DiagnoseOptions) -> DiagnosisResponse:
        """The response as the client sees it: `top` candidates, evidence only when asked for."""
        candidates = response.candidates[: options.top]
        if not options.evidence:
            candidates = [c.model_copy(update={"evidence": None}) if c.evidence is not None else c for c in candidates]
        fields = {name: getattr(response, name) for name in DiagnosisResponse.model_fields}
        return DiagnosisResponse.model_construct(**{**fields, "candidates": candidates})

    def _result(self, response: DiagnosisResponse, options: DiagnoseOptions, llm: LlmUse,
                ranking: list[RankedDiagnosis] | None, retrieval_ms: float | None) -> DiagnoseResult:
        """The answer; `ranking` None: the retrieval order (the LLM step did not run)."""
        shown = self._shown(response, options)
        fields = {name: getattr(shown, name) for name in DiagnosisResponse.model_fields}
        if ranking is None:
            ranking = retrieval_ranking(shown.candidates)
        return DiagnoseResult.model_construct(**fields, llm=llm, ranking=ranking, retrieval_ms=retrieval_ms)
