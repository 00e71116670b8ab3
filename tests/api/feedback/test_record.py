"""`record_response_json`: the answer's JSON and the stored differential come from one encoding of the differential,
and equal encoding each on its own (what the diagnose route did before)."""

from __future__ import annotations

import gc
import json
from pathlib import Path

import pytest
from pydantic import BaseModel

from raregraph.api.feedback.record import record_response, record_response_json
from raregraph.api.feedback.store import FeedbackStore
from raregraph.api.pipeline import DiagnoseOptions, DiagnosisPipeline
from raregraph.etl.snapshot import Snapshot
from raregraph.models import CaseRequest
from tests.api.test_http import MARFAN, api_settings, service_for

CASES = {
    "terms": CaseRequest(hpo_present=MARFAN, hpo_excluded=["HP:0001250"]),
    "text": CaseRequest(text="Tall boy with ectopia lentis and aortic root dilatation, no seizures."),
}


@pytest.mark.parametrize("store_text", [False, True])
@pytest.mark.parametrize("kind", sorted(CASES))
def test_the_answer_and_the_stored_differential_equal_encoding_each(default_snapshot: Snapshot, tmp_path: Path,
                                                                    kind: str, store_text: bool) -> None:
    case = CASES[kind]
    pipeline = DiagnosisPipeline(service_for(default_snapshot.path), api_settings(default_snapshot))
    result = pipeline.run_sync(case, DiagnoseOptions(top=5, llm="off"))  # a DiagnoseResult: llm, ranking after the differential
    store = FeedbackStore(f"sqlite:///{tmp_path / 'feedback.sqlite'}")
    try:
        answer = json.loads(record_response_json(store, case, result, client="clin", store_text=store_text,
                                                 llm=result.llm, ranking=[r.disease_id for r in result.ranking]))
        assert answer["response_id"] and answer["candidates"][0]["evidence"]["matched"]
        again = record_response(store, case, result, client="clin", store_text=store_text, llm=result.llm,
                                ranking=[r.disease_id for r in result.ranking])
        expected = json.loads(again.model_copy(update={"response_id": answer["response_id"]}).model_dump_json())
        assert answer == expected
        stored = store.responses([answer["response_id"], again.response_id])
        one, other = stored[answer["response_id"]], stored[again.response_id]  # type: ignore[index]
        assert (one.retrieval, one.case, one.ranking, one.llm) == (other.retrieval, other.case, other.ranking, other.llm)
        assert "response_id" not in one.retrieval and one.retrieval["candidates"] == answer["candidates"]
    finally:
        store.close()


def test_without_a_store_the_json_is_the_answers(default_snapshot: Snapshot) -> None:
    pipeline = DiagnosisPipeline(service_for(default_snapshot.path), api_settings(default_snapshot))
    result = pipeline.run_sync(CASES["terms"], DiagnoseOptions(top=3, llm="off"))
    assert record_response_json(None, CASES["terms"], result) == result.model_dump_json().encode()


@pytest.mark.parametrize("store_text", [False, True])
def test_the_stored_case_is_the_request_as_given(default_snapshot: Snapshot, tmp_path: Path, store_text: bool) -> None:
    case = CaseRequest(id="Zoë", text="Tall, ectopia lentis — œdème", hpo_present=MARFAN, sex="female",
                       variants=[{"gene": "FBN1", "hgvs_c": "NM_000138.5:c.718C>T", "zygosity": "Heterozygous"},
                                 {"chrom": "15", "pos": 48_700_000, "ref": "G", "alt": "A"}])
    pipeline = DiagnosisPipeline(service_for(default_snapshot.path), api_settings(default_snapshot))
    result = pipeline.run_sync(case, DiagnoseOptions(top=3, llm="off"))
    store = FeedbackStore(f"sqlite:///{tmp_path / 'feedback.sqlite'}")
    try:
        answer = json.loads(record_response_json(store, case, result, store_text=store_text))
        stored = store.responses([answer["response_id"]])[answer["response_id"]]
    finally:
        store.close()
    expected = {"id": "Zoë", "hpo_present": MARFAN, "hpo_excluded": [], "sex": "female", "age": None,  # None kept
                "variants": [{"gene": "FBN1", "hgvs_c": "NM_000138.5:c.718C>T", "zygosity": "heterozygous"},
                             {"chrom": "15", "pos": 48_700_000, "ref": "G", "alt": "A"}]}  # a variant's unset fields left out
    assert stored.case == ({**expected, "text": case.text} if store_text else expected)


def _reachable(root: object, limit: int = 200_000) -> list[object]:
    seen, todo, out = {id(root)}, [root], []
    while todo and len(out) < limit:
        for child in gc.get_referents(todo.pop()):
            if id(child) not in seen and not isinstance(child, type):
                seen.add(id(child))
                out.append(child)
                todo.append(child)
    return out


def test_a_queued_answer_holds_none_of_the_answers_models(default_snapshot: Snapshot, tmp_path: Path) -> None:
    """An answer with evidence is thousands of objects: held while it waits for the writer, every GC pass walked them."""
    pipeline = DiagnosisPipeline(service_for(default_snapshot.path), api_settings(default_snapshot))
    result = pipeline.run_sync(CASES["terms"], DiagnoseOptions(top=5, llm="off"))
    store = FeedbackStore(f"sqlite:///{tmp_path / 'feedback.sqlite'}")
    store.migrate()
    store._writer._linger_s = 60.0  # noqa: SLF001 - the answer stays queued until close
    try:
        answer = json.loads(record_response_json(store, CASES["terms"], result, llm=result.llm,
                                                 ranking=[r.disease_id for r in result.ranking]))
        [queued] = list(store._writer._queue)  # noqa: SLF001
        held = _reachable(queued)
        assert not [o for o in held if isinstance(o, BaseModel) and not isinstance(o, CaseRequest)]
        assert all(o is not result for o in held)
    finally:
        store.close()
    assert store.responses([answer["response_id"]])[answer["response_id"]].retrieval["candidates"] == answer["candidates"]
