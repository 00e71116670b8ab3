"""Retrieval then the LLM step on its response, as LlmDiagnosis, for tests of the step itself.

The product's flow is `api.pipeline.DiagnosisPipeline` (tested in tests/api); these helpers keep
the LLM tests on the LLM layer's own result (`LlmDiagnosis`, with the retrieval response inside).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

from raregraph.llm.client import LlmClient
from raregraph.llm.diagnose import Grounding, llm_rerank, llm_step
from raregraph.llm.models import LlmDiagnosis, LlmStreamEvent
from raregraph.models import CaseRequest, DiagnosisResponse
from raregraph.retrieval.retriever import Retriever
from raregraph.settings import Settings

__all__ = ["diagnose_with_llm", "diagnose_with_llm_sync", "stream_llm_events"]


def _retrieve(service: Retriever, request: CaseRequest, settings: Settings, top: int) -> tuple[DiagnosisResponse, float]:
    started = time.perf_counter()
    response = service.diagnose(request, top=max(top, settings.llm_top_k))
    return response, round((time.perf_counter() - started) * 1000, 2)


def _grounding(service: Retriever) -> Grounding:
    return Grounding(service.graph, service.engine.index.disease_ids)


async def diagnose_with_llm(service: Retriever, request: CaseRequest, settings: Settings, *, top: int = 10,
                            client: LlmClient | None = None) -> LlmDiagnosis:
    response, retrieval_ms = await asyncio.to_thread(_retrieve, service, request, settings, top)
    result = await llm_rerank(_grounding(service), response, settings, client=client, top=top)
    return result.model_copy(update={"retrieval_ms": retrieval_ms})


def diagnose_with_llm_sync(service: Retriever, request: CaseRequest, settings: Settings, *,
                           top: int = 10) -> LlmDiagnosis:
    return asyncio.run(diagnose_with_llm(service, request, settings, top=top))


async def stream_llm_events(service: Retriever, request: CaseRequest, settings: Settings, *, top: int = 10,
                            client: LlmClient | None = None) -> AsyncIterator[LlmStreamEvent]:
    """`retrieval` (DiagnosisResponse JSON), `reasoning` ({"text"}), then `result` (LlmDiagnosis JSON)."""
    response, retrieval_ms = await asyncio.to_thread(_retrieve, service, request, settings, top)
    yield LlmStreamEvent(event="retrieval", data=response.model_dump_json())
    async for item in llm_step(_grounding(service), response, settings, client=client, stream=True, top=top):
        if isinstance(item, str):
            yield LlmStreamEvent(event="reasoning", data=json.dumps({"text": item}))
        else:
            final = item.model_copy(update={"retrieval_ms": retrieval_ms})
            yield LlmStreamEvent(event="result", data=final.model_dump_json())
