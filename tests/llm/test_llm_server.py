"""Diagnoses through a real OpenAI-compatible server: llama-cpp-python + SmolLM2-135M-Instruct on CPU.

Whatever the small model writes, the response must be valid and grounded: every id in the
ranking and the tiers is a graph id (a retrieval candidate or a resolved name), no disease id the
graph lacks appears anywhere in the JSON, and `llm` says what the model contributed. Completions
are kept short (RAREGRAPH_LLM_MAX_TOKENS 160, 3 candidates in the prompt) so this module takes
about a minute on two cores.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from raregraph.api.cli import app
from raregraph.api.pipeline import DiagnoseResult
from raregraph.models import CaseRequest, DiagnosisResponse
from raregraph.retrieval.retriever import Retriever
from raregraph.etl.snapshot import Snapshot
from raregraph.kg.graph import KnowledgeGraph
from raregraph.llm.client import LlmClient
from tests.llm.flow import diagnose_with_llm, stream_llm_events
from raregraph.llm.local_server import LocalServer, LocalServerError, local_server
from raregraph.llm.models import LlmDiagnosis
from tests.llm.conftest import MARFAN, base_settings

pytestmark = pytest.mark.integration

SHORT = {"max_tokens": 160, "top_k": 3, "timeout_s": 180, "max_prompt_tokens": 1200}
_DISEASE_ID = re.compile(r"\b(?:OMIM|ORPHA|DECIPHER|MONDO):\d+\b")
_CASE = CaseRequest(hpo_present=["HP:0001250", "HP:0001263", "HP:0000252"], hpo_excluded=["HP:0000256"])


@pytest.fixture(scope="module")
def llama(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """The local server for this module; skipped without the `llm` extra, except under CI=true (a failure there)."""
    try:
        with local_server(tmp_path_factory.mktemp("llama"), n_ctx=4096) as server:
            yield server
    except LocalServerError as err:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true: {err}", pytrace=False)
        pytest.skip(str(err))


def assert_grounded(result: LlmDiagnosis, graph: KnowledgeGraph) -> None:
    """Every disease id the client sees is a graph id; the report is consistent with the ranking."""
    candidates = {c.disease_id for c in result.retrieval.candidates}
    for row in result.ranking:
        assert row.disease_id in candidates or row.resolved_by is not None, row
    tier_ids = [e.disease_id for tier in ([result.llm.tiers.most_likely, result.llm.tiers.possible_alternatives,
                                           result.llm.tiers.cant_miss] if result.llm.tiers else []) for e in tier]
    every_id = set(_DISEASE_ID.findall(result.model_dump_json()))
    assert every_id >= {r.disease_id for r in result.ranking} | set(tier_ids)
    assert set(graph.diseases(sorted(every_id))) == every_id, every_id - set(graph.diseases(sorted(every_id)))
    c = result.llm.contribution
    if result.llm.status == "ok":
        assert c.diseases >= sum(r.llm_rank is not None for r in result.ranking) >= 1
        assert c.named == c.grounded + c.ungrounded and c.grounded >= c.diseases
        assert result.llm.fusion and all(r.fused_score is not None for r in result.ranking)
    else:
        assert c.grounded == 0 and all(r.llm_rank is None for r in result.ranking)
        assert [r.disease_id for r in result.ranking] == [x.disease_id for x in result.retrieval.candidates][: len(result.ranking)]
    assert result.llm.status in {"ok", "invalid_output", "empty", "all_ungrounded"}, result.llm.detail


def test_cli_diagnose_with_llm(llama: LocalServer, default_snapshot: Snapshot, llm_service: Retriever) -> None:
    env = {"RAREGRAPH_SNAPSHOT": str(default_snapshot.path), "RAREGRAPH_EMBEDDING_ENABLED": "false",
           "RAREGRAPH_LLM_BASE_URL": llama.base_url, **{f"RAREGRAPH_LLM_{k.upper()}": str(v) for k, v in SHORT.items()}}
    result = CliRunner().invoke(app, ["diagnose", "--hpo", ",".join(MARFAN.hpo_present), "--exclude", "HP:0001250",
                                      "--variant", "FBN1", "--top", "5", "--llm", "--json"], env=env)
    assert result.exit_code == 0, result.output
    answer = DiagnoseResult.model_validate(json.loads(result.stdout))  # the answer POST /v1/diagnose gives
    retrieval = DiagnosisResponse(**{name: getattr(answer, name) for name in DiagnosisResponse.model_fields})
    doc = LlmDiagnosis(retrieval=retrieval, llm=answer.llm, ranking=answer.ranking)
    assert doc.llm.model == llama.model and doc.llm.prompt_tokens_counted_by == "/extras/tokenize/count"
    assert doc.llm.completion_tokens is not None and doc.llm.completion_tokens <= 160
    assert len(doc.ranking) <= 5
    assert_grounded(doc, llm_service.graph)
    table = CliRunner().invoke(app, ["diagnose", "--hpo", ",".join(MARFAN.hpo_present), "--top", "5", "--llm"],
                               env={**env, "RAREGRAPH_LLM_MAX_TOKENS": "24"})
    assert table.exit_code == 0, table.output
    assert "Differential, retrieval + LLM" in table.stdout


@pytest.mark.parametrize("mode", ["json_schema", "none"])
def test_service_level_diagnosis_is_grounded(llama: LocalServer, default_snapshot: Snapshot,
                                             llm_service: Retriever, mode: str) -> None:
    settings = base_settings(default_snapshot, base_url=llama.base_url, structured_output=mode, **SHORT)
    result = asyncio.run(diagnose_with_llm(llm_service, _CASE, settings, top=5))
    assert_grounded(result, llm_service.graph)
    assert result.retrieval_ms is not None and result.llm.llm_ms is not None


def test_answer_cut_off_by_max_tokens_falls_back(llama: LocalServer, default_snapshot: Snapshot,
                                                 llm_service: Retriever) -> None:
    settings = base_settings(default_snapshot, base_url=llama.base_url, **{**SHORT, "max_tokens": 16})
    result = asyncio.run(diagnose_with_llm(llm_service, MARFAN, settings, top=5))
    assert result.llm.status in {"invalid_output", "empty"} and "finish_reason=length" in (result.llm.detail or "")
    assert_grounded(result, llm_service.graph)


def test_stream_reasoning_from_the_real_server(llama: LocalServer, default_snapshot: Snapshot,
                                               llm_service: Retriever) -> None:
    settings = base_settings(default_snapshot, base_url=llama.base_url, **SHORT)

    async def collect() -> list[tuple[str, str]]:
        return [(e.event, e.data) async for e in stream_llm_events(llm_service, MARFAN, settings, top=5)]

    events = asyncio.run(collect())
    assert events[0][0] == "retrieval" and events[-1][0] == "result"
    final = LlmDiagnosis.model_validate_json(events[-1][1])
    assert_grounded(final, llm_service.graph)
    streamed = "".join(json.loads(d)["text"] for k, d in events if k == "reasoning")
    if final.llm.status == "ok" and final.llm.reasoning:  # JSON mode: no prose before the object
        assert streamed.strip() == final.llm.reasoning


def test_server_tokenizer_counts_prompt_tokens(llama: LocalServer, default_snapshot: Snapshot) -> None:
    settings = base_settings(default_snapshot, base_url=llama.base_url)

    async def count() -> tuple[tuple[int, str] | None, list[str]]:
        async with LlmClient.from_settings(settings) as client:
            return await client.count_tokens("Arachnodactyly and ectopia lentis"), await client.list_models()

    counted, models = asyncio.run(count())
    assert counted is not None and counted[1] == "/extras/tokenize/count" and 4 <= counted[0] <= 20
    assert models == [llama.model]


def test_llm_ping_lists_the_model(llama: LocalServer, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["llm", "ping"], env={"RAREGRAPH_LLM_BASE_URL": llama.base_url})
    assert result.exit_code == 0 and result.stdout.strip() == llama.model


def test_default_settings_end_to_end_keep_the_server_alive(llama: LocalServer, default_snapshot: Snapshot,
                                                           llm_service: DiagnosisService) -> None:
    """RAREGRAPH_LLM_* defaults (max_tokens 1024, 10 candidates, json_schema): the grammar builds and the server lives.

    Before the schema dropped its `maxLength`s, this request made llama.cpp fail to parse the
    grammar and the server crash, and every later request was `unavailable`.
    """
    settings = base_settings(default_snapshot, base_url=llama.base_url, timeout_s=900)  # a slow CPU, not a setting under test
    assert (settings.llm_max_tokens, settings.llm_top_k, settings.llm_structured_output) == (1024, 10, "json_schema")

    async def twice() -> tuple[list[LlmDiagnosis], list[str]]:
        async with LlmClient.from_settings(settings) as client:
            results = [await diagnose_with_llm(llm_service, case, settings, client=client) for case in (MARFAN, _CASE)]
            return results, await client.list_models()  # still serving

    results, models = asyncio.run(twice())
    assert models == [llama.model]
    for result in results:
        assert_grounded(result, llm_service.graph)
        # llama-cpp-python answers json_schema with HTTP 500; the schema then goes in its own form
        # (json_object + schema), the grammar path that crashed the server before
        assert "dropped" not in (result.llm.detail or "") and "used json_object" in (result.llm.detail or "")
    log = llama.log.read_text(errors="replace")
    assert "failed to parse grammar" not in log and "parse: error" not in log


_GRAMMAR_PROBE = """
import json, sys
from llama_cpp import Llama
llm = Llama(sys.argv[1], n_ctx=256, n_threads=1, verbose=False)
out = llm.create_chat_completion(messages=[{"role": "user", "content": "Hi"}], max_tokens=2,
                                 response_format={"type": "json_object", "schema": json.loads(sys.argv[2])})
print("ANSWERED", json.dumps(out["choices"][0]["message"]["content"]))
"""


@pytest.mark.parametrize("max_tokens", [16, 1024, 100_000])
def test_llama_cpp_builds_the_grammar_of_any_answer_schema(max_tokens: int, tmp_path: Path) -> None:
    """In a child process (a grammar llama.cpp cannot build crashes the process): 50 candidates, any budget.

    The schema of before (maxLength 1638 at 1024 tokens) fails here with "error parsing grammar:
    number of rules that are going to be repeated ... exceeds sane defaults" and exit code 139.
    """
    import subprocess
    import sys

    from raregraph.llm.local_server import small_model_path
    from raregraph.llm.prompt import answer_schema

    try:
        model = small_model_path()
    except LocalServerError as err:
        pytest.skip(str(err))
    schema = answer_schema([f"OMIM:{600000 + i}" for i in range(50)], max_tokens=max_tokens)
    run = subprocess.run([sys.executable, "-c", _GRAMMAR_PROBE, str(model), json.dumps(schema)], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and "ANSWERED" in run.stdout, (run.returncode, run.stderr[-1000:])
