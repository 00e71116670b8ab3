"""Exports of the feedback store: sft (OpenAI chat JSONL), preference (DPO pairs), arena (Bradley–Terry) (issue 18).

The 1,000 confirmed cases are real differentials of the default snapshot: 25 cases made of the
annotated terms of 25 diseases, each recorded 40 times and confirmed as a disease of its list
or (every fifth) a disease the list does not hold.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from raregraph.api.feedback.arena import arena_table
from raregraph.api.feedback.export import export_feedback
from raregraph.api.feedback.grounding import SnapshotDiseases
from raregraph.api.feedback.record import record_response
from raregraph.api.feedback.schemas import FeedbackIn
from raregraph.api.feedback.store import FeedbackStore
from raregraph.retrieval.retriever import Retriever as DiagnosisService
from raregraph.etl.snapshot import Snapshot
from raregraph.llm.models import LlmReport
from raregraph.llm.output import parse_answer
from raregraph.llm.prompt import SYSTEM, answer_schema, fit_prompt
from raregraph.models import CaseRequest, DiagnosisResponse
from raregraph.settings import Settings
from tests.api.test_http import service_for

N_CASES, REPEATS = 25, 40


@pytest.fixture(scope="module")
def service(default_snapshot: Snapshot) -> DiagnosisService:
    return service_for(default_snapshot.path)


@pytest.fixture(scope="module")
def settings(default_snapshot: Snapshot) -> Settings:
    return Settings(snapshot_dir=default_snapshot.path.parent)


def _cases(service: DiagnosisService) -> list[tuple[CaseRequest, str]]:
    """Cases of the first diseases (in id order) with at least 5 annotated terms: their first 5 terms."""
    ids = sorted(service.engine.index.disease_ids)
    annotations = service.graph.disease_phenotypes(ids[:400])
    out = []
    for disease_id in ids[:400]:
        terms = sorted({a.term_id for a in annotations.get(disease_id, [])})
        if len(terms) >= 5:
            out.append((CaseRequest(hpo_present=terms[:5]), disease_id))
        if len(out) == N_CASES:
            break
    return out


@pytest.fixture(scope="module")
def filled(service: DiagnosisService, settings: Settings, tmp_path_factory: pytest.TempPathFactory,
           ) -> Iterator[tuple[FeedbackStore, dict[str, DiagnosisResponse]]]:
    """1,000 recorded answers, each with a confirmed diagnosis."""
    store = FeedbackStore(f"sqlite:///{tmp_path_factory.mktemp('export') / 'feedback.sqlite'}")
    outside = sorted(service.engine.index.disease_ids)[-1]  # a real disease none of these lists holds
    items, answers = [], {}
    for case, source in _cases(service):
        response = service.diagnose(case, top=10)
        for repeat in range(REPEATS):
            recorded = record_response(store, case, response, client="clin")
            assert recorded.response_id is not None
            answers[recorded.response_id] = recorded
            confirmed = outside if repeat % 5 == 4 else source
            items.append(("body", FeedbackIn(response_id=recorded.response_id, confirmed_disease_id=confirmed)))
    store.add_feedback(items, author="clin", ground=SnapshotDiseases(settings.snapshot_dir, lambda: service.graph))
    yield store, answers
    store.close()


def test_the_sft_export_of_1000_confirmed_cases_loads_with_datasets_and_fits_the_schema(
        filled: tuple[FeedbackStore, dict[str, DiagnosisResponse]], settings: Settings, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    store, answers = filled
    out = tmp_path / "sft.jsonl"
    summary = export_feedback(store, settings, "sft", out, actor="test")
    assert summary.rows == N_CASES * REPEATS == 1000

    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    import datasets

    data = datasets.load_dataset("json", data_files=str(out), split="train", cache_dir=str(tmp_path / "hf"))
    assert len(data) == 1000 and data.column_names == ["messages"]
    assert {k: v.dtype for k, v in data.features["messages"].feature.items()} == {"role": "string", "content": "string"}

    verdicts = {v.response_id: v for v in store.feedback()}
    prompts: dict[int, Any] = {}  # 25 distinct differentials behind the 1,000 answers
    validators: dict[tuple[str, ...], Any] = {}
    for row, (response_id, response) in zip(data, answers.items(), strict=True):
        system, user, assistant = row["messages"]
        assert [system["role"], user["role"], assistant["role"]] == ["system", "user", "assistant"]
        key = hash(response.model_dump_json(exclude={"response_id"}))
        if key not in prompts:
            prompts[key] = asyncio.run(fit_prompt(response, top_k=settings.llm_top_k,
                                                  max_tokens=settings.llm_max_prompt_tokens))
        prompt = prompts[key]
        assert [system, user] == prompt.messages and system["content"] == SYSTEM  # exactly llm/'s prompt
        answer = json.loads(assistant["content"])
        if prompt.candidate_ids not in validators:
            schema = answer_schema(prompt.candidate_ids, max_tokens=settings.llm_max_tokens)
            validators[prompt.candidate_ids] = jsonschema.Draft202012Validator(schema)
        validators[prompt.candidate_ids].validate(answer)
        parsed = parse_answer(assistant["content"]).answer
        confirmed = verdicts[response_id]
        first = parsed.diagnoses[0]
        if first.id:
            shown = next(c for c in response.candidates if c.disease_id == first.id)
            assert confirmed.confirmed_disease_id in (shown.disease_id, *shown.equivalent_ids)
        else:
            assert first.name == confirmed.confirmed_name
            assert confirmed.confirmed_disease_id not in prompt.candidate_ids
        assert parsed.most_likely == [first.id or first.name]
    assert store.audit_trail(1)[0].action == "export.sft"


def test_preference_pairs_put_the_confirmed_answer_above_the_systems(
        filled: tuple[FeedbackStore, dict[str, DiagnosisResponse]], settings: Settings, tmp_path: Path) -> None:
    store, answers = filled
    out = tmp_path / "pref.jsonl"
    summary = export_feedback(store, settings, "preference", out, actor="test")
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == summary.rows > 0
    assert summary.rows + summary.skipped["confirmed case the system already ranked first"] == 1000
    for row in rows[:50]:
        assert [m["role"] for m in row["prompt"]] == ["system", "user"]
        chosen = json.loads(row["chosen"][0]["content"])
        rejected = json.loads(row["rejected"][0]["content"])
        assert chosen["diagnoses"][0] != rejected["diagnoses"][0]
        assert chosen["reasoning"].endswith(".") and "confirmed diagnosis" in chosen["reasoning"]


def _pair_store(tmp_path: Path, response: DiagnosisResponse, outcomes: dict[str, int]) -> FeedbackStore:
    """Two models' answers to one case, compared `outcomes` times (A, B, tie) with A = model-x."""
    store = FeedbackStore(f"sqlite:///{tmp_path / 'arena.sqlite'}")
    case = CaseRequest(hpo_present=[t.id for t in response.case.present])
    items = []
    for preferred, count in outcomes.items():
        for _ in range(count):
            a, b = (record_response(store, case, response, llm=LlmReport(status="ok", model=name))
                    for name in ("model-x", "model-y"))
            items.append(("body", FeedbackIn(response_id=a.response_id or "", ratings={"overall": 4},
                                             preference={"other_response_id": b.response_id, "preferred": preferred})))
    store.add_feedback(items, author="clin", ground=lambda *_: {})
    return store


def test_arena_ratings_follow_bradley_terry_with_bootstrap_intervals(
        filled: tuple[FeedbackStore, dict[str, DiagnosisResponse]], tmp_path: Path) -> None:
    response = next(iter(filled[1].values()))
    store = _pair_store(tmp_path, response, {"A": 30, "B": 10, "tie": 4})
    table: dict[str, Any] = arena_table(store.feedback(), store)
    x, y = table["models"]
    assert (x["model"], y["model"]) == ("model-x", "model-y")
    assert (x["wins"], x["losses"], x["ties"], x["comparisons"]) == (30, 10, 4, 44)
    # two players: strength ratio = (wins + ties/2 + 0.5) / (losses + ties/2 + 0.5)
    assert x["rating"] - y["rating"] == pytest.approx(400 * math.log10(32.5 / 12.5), abs=0.2)
    assert x["ci95"][0] < x["rating"] < x["ci95"][1] and x["ci95"][0] > 1000  # better than average, clearly
    assert x["dimensions"]["overall"] == {"n": 44, "mean": 4.0, "ci95": [4.0, 4.0]}
    store.close()


def test_preferences_between_two_models_become_pairs_and_ties_are_skipped(
        filled: tuple[FeedbackStore, dict[str, DiagnosisResponse]], settings: Settings, tmp_path: Path) -> None:
    store = _pair_store(tmp_path, next(iter(filled[1].values())), {"A": 2, "tie": 1})
    summary = export_feedback(store, settings, "preference", tmp_path / "p.jsonl", actor="t")
    assert summary.rows == 2 and summary.skipped["A/B tie"] == 1
    store.close()


def test_an_export_removes_what_a_killed_export_to_the_same_file_left(
        filled: tuple[FeedbackStore, dict[str, DiagnosisResponse]], settings: Settings, tmp_path: Path) -> None:
    """Issue #19: a kill -9 mid-export leaves its temporary file; the next export to that file removes it."""
    import subprocess
    import sys

    store = _pair_store(tmp_path, next(iter(filled[1].values())), {"A": 1})
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    (tmp_path / f".tmp-p.jsonl-{done.pid}").write_text('{"prompt": [', encoding="utf-8")  # a gone process's half file
    export_feedback(store, settings, "preference", tmp_path / "p.jsonl", actor="t")
    store.close()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
