"""The LLM step of a diagnosis: retrieval result in, re-grounded and merged ranking out; failure is normal.

`llm_step(grounding, response, settings)` runs it on a retrieval response: it yields the model's
reasoning as it is written (stream mode) and, last, the `LlmDiagnosis`; `llm_rerank` awaits just
that result. The flow around it (retrieval, deadline, events, the answer) is `api.pipeline`'s.

Whatever goes wrong on the LLM side — no endpoint, connection refused, HTTP error, timeout,
malformed or empty answer, nothing grounded — the client gets the retrieval ranking and
`llm.status` says what happened. Nothing here runs when the LLM is off, so `llm=off` is never
slowed by the endpoint.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass, field
from typing import Any

from raregraph.models import DiagnosisResponse
from raregraph.settings import Settings
from raregraph.kg.graph import KnowledgeGraph
from raregraph.llm.client import (
    ChatDelta, ChatResult, LlmClient, LlmTimeoutError, LlmUnavailableError, StructuredOutputRejectedError,
)
from raregraph.llm.models import (
    STATUS_MEANING, LlmContribution, LlmDiagnosis, LlmReport, LlmStatus, LlmTiers, UngroundedName,
)
from raregraph.llm.output import EmptyAnswerError, InvalidAnswerError, ParsedAnswer, ReasoningStream, parse_answer
from raregraph.llm.prompt import answer_schema, fit_prompt, structured_output_options
from raregraph.llm.fusion import fuse, policy_for
from raregraph.llm.regrounding import DiseaseResolver, ground_answer, retrieval_ranking, scrub_ids

__all__ = ["Grounding", "llm_step", "llm_rerank", "llm_enabled"]


@dataclass(frozen=True)
class Grounding:
    """What the model's answer is grounded against: the graph, and the disease ids the ranking can hold."""

    graph: KnowledgeGraph
    universe: Collection[str] = ()


def llm_enabled(settings: Settings) -> bool:
    """True when an endpoint is configured (RAREGRAPH_LLM_BASE_URL)."""
    return bool(settings.llm_base_url)


@dataclass
class _Outcome:
    """What one LLM step produced; turned into `LlmDiagnosis` by `_finish`."""

    status: LlmStatus
    detail: str | None = None
    model: str | None = None
    result: ChatResult | None = None
    prompt_tokens: int | None = None
    counted_by: str | None = None
    shown: int | None = None
    parsed: ParsedAnswer | None = None
    notes: list[str] = field(default_factory=list)


async def llm_rerank(grounding: Grounding, response: DiagnosisResponse, settings: Settings, *,
                     client: LlmClient | None = None, top: int | None = None) -> LlmDiagnosis:
    """The LLM step on a retrieval response: prompt, call, parse, re-ground, merge (or fall back).

    `client` is reused when given (one per app, created in its event loop); otherwise one is made
    and closed here. `top` caps the merged ranking (default: as many as retrieval returned).
    """
    final: LlmDiagnosis | None = None
    async for item in llm_step(grounding, response, settings, client=client, stream=False, top=top):
        if isinstance(item, LlmDiagnosis):
            final = item
    assert final is not None
    return final


# --- the step ------------------------------------------------------------------------------------


async def llm_step(grounding: Grounding, response: DiagnosisResponse, settings: Settings, *,
                   client: LlmClient | None = None, stream: bool = True,
                   top: int | None = None) -> AsyncIterator[str | LlmDiagnosis]:
    """Reasoning text pieces as the model writes them (stream mode, ids the graph lacks masked) and, last, the `LlmDiagnosis`."""
    started = time.perf_counter()
    if not llm_enabled(settings):
        yield _fallback(response, _Outcome("off", STATUS_MEANING["off"]), started, top)
        return
    owned = client is None
    if client is None:
        client = LlmClient.from_settings(settings)
    outcome = _Outcome("ok")
    scrubber = _StreamScrubber(grounding.graph)
    try:
        async for piece in _call_model(client, response, settings, outcome, stream=stream):
            released = scrubber.feed(piece)
            if released:
                yield released
        if stream:
            rest = scrubber.flush()
            if rest:
                yield rest
    finally:
        if owned:
            await client.aclose()
    if outcome.status != "ok" or outcome.parsed is None:
        yield _fallback(response, outcome, started, top)
        return
    # Grounding reads the graph (a network round-trip per look-up on Neo4j): off the event loop.
    yield await asyncio.to_thread(_ground, grounding, response, settings, outcome, started, top)


async def _call_model(client: LlmClient, response: DiagnosisResponse, settings: Settings, outcome: _Outcome, *,
                      stream: bool) -> AsyncIterator[str]:
    """Fill `outcome` (status, result); yield reasoning pieces as they stream."""
    deadline = time.monotonic() + settings.llm_timeout_s
    try:
        outcome.model = await client.model(deadline)

        async def count(text: str) -> tuple[int, str] | None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise LlmTimeoutError(f"no complete answer within {settings.llm_timeout_s:g} s")
            try:
                return await asyncio.wait_for(client.count_tokens(text), remaining)
            except (asyncio.TimeoutError, TimeoutError) as e:
                raise LlmTimeoutError(f"no complete answer within {settings.llm_timeout_s:g} s") from e

        prompt = await fit_prompt(response, top_k=settings.llm_top_k, max_tokens=settings.llm_max_prompt_tokens,
                                  count=count, answer_tokens=settings.llm_max_tokens)
        outcome.prompt_tokens, outcome.counted_by, outcome.shown = prompt.tokens, prompt.counted_by, len(prompt.candidate_ids)
        if not prompt.fits:
            outcome.notes.append(f"prompt over budget ({prompt.tokens} > {settings.llm_max_prompt_tokens} tokens) "
                                 "at the tersest rendering; sent anyway")
        schema = answer_schema(prompt.candidate_ids, max_tokens=settings.llm_max_tokens)
        modes = _mode_chain(settings.llm_structured_output, client.accepted_structured_mode)
        crashed = False  # the server dropped a request carrying the schema: send it no schema again
        for mode in modes:
            if crashed and mode in ("json_schema", "guided_json", "json_object") and mode != modes[-1]:
                continue
            response_format, extra_body = structured_output_options(mode, schema)
            try:
                if stream:
                    reader = ReasoningStream()
                    async for item in client.stream_chat(
                        prompt.messages, max_tokens=settings.llm_max_tokens, temperature=settings.llm_temperature,
                        response_format=response_format, extra_body=extra_body, deadline=deadline,
                    ):
                        if isinstance(item, ChatDelta):
                            piece = item.reasoning + reader.feed(item.content)
                            if piece:
                                yield piece
                        else:
                            outcome.result = item
                else:
                    outcome.result = await client.chat(
                        prompt.messages, max_tokens=settings.llm_max_tokens, temperature=settings.llm_temperature,
                        response_format=response_format, extra_body=extra_body, deadline=deadline,
                    )
                if mode != settings.llm_structured_output:
                    client.accepted_structured_mode = mode
                    outcome.notes.append(f"structured output: the server refuses {settings.llm_structured_output}, "
                                         f"used {mode}")
                break
            except StructuredOutputRejectedError as err:
                if mode == modes[-1]:
                    raise
                outcome.notes.append(f"structured output {mode} refused by the server ({str(err)[:90]}…)")
                crashed = crashed or err.dropped
    except LlmTimeoutError as err:
        outcome.status, outcome.detail = "timeout", str(err)
    except LlmUnavailableError as err:
        outcome.status, outcome.detail = "unavailable", str(err)
    if outcome.status == "ok" and outcome.result is not None:
        result = outcome.result
        try:
            outcome.parsed = parse_answer(result.content, result.reasoning_content, result.finish_reason)
        except EmptyAnswerError as err:
            outcome.status, outcome.detail = "empty", str(err)
        except InvalidAnswerError as err:
            outcome.status, outcome.detail = "invalid_output", str(err)


class _StreamScrubber:
    """Streamed model text with ids the graph lacks masked (as `scrub_ids`), released at word boundaries.

    Holds back the unfinished last word, and an id prefix still waiting for its digits ("OMIM:"),
    so an id is never split between two releases.
    """

    _PENDING = re.compile(r"(?:\b(?:OMIM|MIM|ORPHA|ORPHANET|DECIPHER|MONDO|HP)\s*:?\s*)?\S*$", re.IGNORECASE)

    def __init__(self, graph: Any) -> None:
        self._graph = graph
        self._buffer = ""

    def feed(self, piece: str) -> str:
        self._buffer += piece
        match = self._PENDING.search(self._buffer)
        cut = match.start() if match else len(self._buffer)
        released, self._buffer = self._buffer[:cut], self._buffer[cut:]
        return scrub_ids([released], self._graph)[0] if released else ""

    def flush(self) -> str:
        released, self._buffer = self._buffer, ""
        return scrub_ids([released], self._graph)[0] if released else ""


def _mode_chain(configured: str, accepted: str | None) -> list[str]:
    """Modes to try in order: what this server accepted before, else the configured one, then lighter ones.

    Lighter: json_object (the schema in llama-cpp-python's form), json (any JSON object, no
    schema), none (the prompt alone; the parser finds the JSON).
    """
    order = ["json_schema", "guided_json", "json_object", "json", "none"]
    start = accepted or configured
    return [start] + [m for m in ("json_object", "json", "none") if order.index(m) > order.index(start)]


def _report(outcome: _Outcome, started: float, **extra: Any) -> LlmReport:
    detail = "; ".join(p for p in [outcome.detail, *outcome.notes] if p) or None
    result = outcome.result
    return LlmReport(
        status=outcome.status, detail=detail, model=outcome.model, prompt_tokens=outcome.prompt_tokens,
        prompt_tokens_counted_by=outcome.counted_by, candidates_in_prompt=outcome.shown,
        completion_tokens=result.completion_tokens if result else None,
        llm_ms=round((time.perf_counter() - started) * 1000, 2), **extra,
    )


def _fallback(response: DiagnosisResponse, outcome: _Outcome, started: float, top: int | None,
              ungrounded: list[UngroundedName] | None = None, reasoning: str | None = None) -> LlmDiagnosis:
    ranking = retrieval_ranking(response.candidates)[: top or None]
    report = _report(outcome, started, reasoning=reasoning,
                     ungrounded=ungrounded or [],
                     contribution=LlmContribution(named=len(ungrounded or []), ungrounded=len(ungrounded or [])))
    return LlmDiagnosis(retrieval=response, llm=report, ranking=ranking)


def _ground(grounding: Grounding, response: DiagnosisResponse, settings: Settings, outcome: _Outcome,
            started: float, top: int | None) -> LlmDiagnosis:
    parsed = outcome.parsed
    assert parsed is not None
    graph = grounding.graph
    resolver = DiseaseResolver(graph, response.candidates, universe=grounding.universe,
                               fuzzy_threshold=settings.llm_fuzzy_threshold)
    grounded = ground_answer(parsed.answer, resolver)
    ungrounded = _scrub_ungrounded(grounded.ungrounded, graph)
    if not grounded.ordered:
        outcome.status = "all_ungrounded"
        outcome.detail = f"none of the {grounded.named} disease(s) named could be resolved to a graph id"
        return _fallback(response, outcome, started, top, ungrounded, _scrub_one(parsed.reasoning, graph))
    policy = policy_for(outcome.model, settings)
    ranking = fuse(response.candidates, grounded, policy)
    # Model-written text reaches the client only with ids the graph holds.
    texts = [parsed.reasoning or "", *parsed.answer.next_workup]
    for row in ranking:
        texts += [*row.explains, *row.contradicts]
    clean = iter(scrub_ids(texts, graph))
    reasoning = next(clean) or None
    workup = [next(clean) for _ in parsed.answer.next_workup]
    ranking = [row.model_copy(update={"explains": [next(clean) for _ in row.explains],
                                      "contradicts": [next(clean) for _ in row.contradicts]}) for row in ranking]
    candidate_ids = {c.disease_id for c in response.candidates}
    contribution = LlmContribution(
        named=grounded.named, grounded=grounded.named - len(ungrounded), ungrounded=len(ungrounded),
        diseases=len(grounded.ordered),
        from_candidates=sum(r.disease_id in candidate_ids for r, _ in grounded.ordered),
        added=sum(r.disease_id not in candidate_ids for r, _ in grounded.ordered),
        top1_changed=bool(response.candidates) and ranking[0].disease_id != response.candidates[0].disease_id,
    )
    tiers = LlmTiers(most_likely=grounded.tiers_most_likely, possible_alternatives=grounded.tiers_alternatives,
                     cant_miss=grounded.tiers_cant_miss, next_workup=workup)
    report = _report(outcome, started, reasoning=reasoning, tiers=tiers, ungrounded=ungrounded,
                     contribution=contribution,
                     fusion=policy.describe())
    return LlmDiagnosis(retrieval=response, llm=report, ranking=ranking[: top or None])


def _scrub_one(text: str | None, graph: KnowledgeGraph) -> str | None:
    return scrub_ids([text], graph)[0] if text else None


def _scrub_ungrounded(items: list[UngroundedName], graph: KnowledgeGraph) -> list[UngroundedName]:
    texts = [t for u in items for t in (u.text, u.reason)]
    clean = iter(scrub_ids(texts, graph))
    return [u.model_copy(update={"text": next(clean), "reason": next(clean)}) for u in items]
