"""The diagnosis pipeline (api/pipeline.py): one flow for one case, events, batch and cohort lines (issue 16)."""

from __future__ import annotations

import asyncio

import pytest

from raregraph.api.pipeline import DiagnoseOptions, DiagnosisPipeline, Finished, Reasoning, Retrieved
from raregraph.errors import UnknownTermError
from raregraph.etl.snapshot import Snapshot
from raregraph.kg.embedded import EmbeddedGraph
from raregraph.models import CaseRequest
from raregraph.retrieval.engine import RankingEngine
from raregraph.retrieval.index import RankingIndex
from raregraph.retrieval.retriever import Retriever
from raregraph.retrieval.scoring import ScoringParams
from raregraph.settings import Settings

MARFAN = CaseRequest(hpo_present=["HP:0001166", "HP:0001083", "HP:0002616"])


@pytest.fixture(scope="module")
def pipeline(default_graph: EmbeddedGraph, default_snapshot: Snapshot) -> DiagnosisPipeline:
    index = RankingIndex.load(default_snapshot, unknown_frequency=0.5, databases=("OMIM", "DECIPHER"))
    settings = Settings(snapshot=str(default_snapshot.path), embedding_enabled=False, llm_top_k=8)
    return DiagnosisPipeline(Retriever(default_graph, RankingEngine(index, ScoringParams())), settings)


def test_one_case_without_an_endpoint_is_retrieval_with_a_report(pipeline: DiagnosisPipeline) -> None:
    auto = pipeline.run_sync(MARFAN, DiagnoseOptions(top=3, llm="auto"))
    on = pipeline.run_sync(MARFAN, DiagnoseOptions(top=3, llm="on", evidence=False))
    assert (auto.llm.status, auto.llm.requested, on.llm.status) == ("off", "auto", "unavailable")
    assert [r.disease_id for r in auto.ranking] == [c.disease_id for c in auto.candidates] and len(auto.candidates) == 3
    assert auto.candidates[0].evidence is not None and on.candidates[0].evidence is None
    assert auto.retrieval_ms is not None and auto.candidates == asyncio.run(
        pipeline.run(MARFAN, DiagnoseOptions(top=3, llm="auto"))).candidates


def test_events_are_retrieval_then_the_answer(pipeline: DiagnosisPipeline) -> None:
    async def collect() -> tuple[Retrieved, list[object]]:
        first, rest = await pipeline.start(MARFAN, DiagnoseOptions(top=2, llm="off"))
        return first, [event async for event in rest]

    first, rest = asyncio.run(collect())
    assert len(first.response.candidates) == 2
    assert len(rest) == 1 and isinstance(rest[0], Finished) and not any(isinstance(e, Reasoning) for e in rest)
    assert rest[0].result.candidates == first.response.candidates


def test_retrieval_errors_come_before_any_event(pipeline: DiagnosisPipeline) -> None:
    with pytest.raises(UnknownTermError):
        asyncio.run(pipeline.start(CaseRequest(hpo_present=["HP:9999999"]), DiagnoseOptions(llm="off")))


def test_a_batch_answers_each_case_or_gives_its_error(pipeline: DiagnosisPipeline) -> None:
    bad = CaseRequest(hpo_present=["HP:9999999"])
    answers = asyncio.run(pipeline.batch([MARFAN, bad, ValueError("unreadable")], DiagnoseOptions(top=5, llm="off")))
    assert "OMIM:154700" in [c.disease_id for c in answers[0].candidates]  # type: ignore[union-attr]
    assert isinstance(answers[1], UnknownTermError) and isinstance(answers[2], ValueError)


def test_rank_line_is_the_retrievers(pipeline: DiagnosisPipeline) -> None:
    line = pipeline.rank_line(MARFAN.model_copy(update={"id": "c1"}), top=5)
    assert line.id == "c1" and len(line.ranking) == 5
    assert [r.disease_id for r in line.ranking] == [c.disease_id for c in pipeline.retriever.diagnose(MARFAN, top=5).candidates]
