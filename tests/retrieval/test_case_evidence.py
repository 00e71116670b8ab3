"""Confirmed cases as a second annotation source, on the real default snapshot (issue 18, item 4)."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from raregraph.errors import StoreUnavailableError
from raregraph.etl.snapshot import Snapshot
from raregraph.models import CaseRequest
from raregraph.retrieval.case_evidence import CASE_SOURCE, CaseDescriptions, CaseEvidence, ConfirmedCase
from raregraph.retrieval.engine import RankingEngine
from raregraph.retrieval.index import RankingIndex
from raregraph.retrieval.retriever import Retriever
from raregraph.retrieval.scoring import CaseVector, ScoringParams
from tests.api.test_http import MARFAN, service_for

# A few informative terms and diseases of the default snapshot to draw cases from.
TERMS = ["HP:0001166", "HP:0001083", "HP:0002616", "HP:0000545", "HP:0001250", "HP:0001263", "HP:0000252",
         "HP:0004322", "HP:0000316", "HP:0000348", "HP:0001382", "HP:0000768", "HP:0002650", "HP:0000098"]


@pytest.fixture(scope="module")
def engine(default_snapshot: Snapshot) -> RankingEngine:
    """No twins and a small background sample: each build of the descriptions takes a fraction of a second."""
    index = RankingIndex.load(default_snapshot, unknown_frequency=0.5, databases=("OMIM", "DECIPHER"))
    return RankingEngine(index, replace(ScoringParams(), background_sample=100))


@pytest.fixture(scope="module")
def diseases(engine: RankingEngine) -> list[str]:
    return list(engine.index.disease_ids[::500][:12]) + ["OMIM:999999"]  # the last is not in the snapshot


def cases_strategy(diseases: list[str]) -> st.SearchStrategy[list[ConfirmedCase]]:
    one = st.tuples(st.sampled_from(diseases), st.lists(st.sampled_from(TERMS), min_size=1, max_size=5, unique=True))
    return st.lists(one, min_size=1, max_size=12).map(
        lambda drawn: [ConfirmedCase(i + 1, d, tuple(t)) for i, (d, t) in enumerate(drawn)])


def _rows(descriptions: CaseDescriptions | None) -> dict[str, tuple[list[int], dict[int, float], dict[int, float]]]:
    """Disease id → (its case ids, direct frequencies, propagated frequencies)."""
    if descriptions is None:
        return {}
    index = descriptions.scorer.index
    out = {}
    for i, disease in enumerate(index.disease_ids):
        direct, freq = index.direct.getrow(i), index.freq.getrow(i)
        out[disease] = (descriptions.case_ids(i), dict(zip(direct.indices.tolist(), direct.data.tolist())),
                        dict(zip(freq.indices.tolist(), freq.data.tolist())))
    return out


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_each_case_is_counted_once_and_no_count_is_negative(engine: RankingEngine, diseases: list[str],
                                                            data: st.DataObject) -> None:
    confirmed = data.draw(cases_strategy(diseases))
    built = engine.describe_cases(confirmed)
    known = [c for c in confirmed if c.disease_id in engine.index.disease_position]
    assert (built.skipped if built else len(confirmed)) == len(confirmed) - len(known)
    rows = _rows(built)
    assert sorted(i for ids, _, _ in rows.values() for i in ids) == sorted(c.feedback_id for c in known)
    position = engine.index.term_position
    for disease, (ids, direct, freq) in rows.items():
        mine = [c for c in known if c.disease_id == disease]
        assert ids == [c.feedback_id for c in mine]
        for term, share in direct.items():  # a share of the disease's cases: a whole count of them, at least one
            count = share * len(mine)
            assert 0 < share <= 1 and abs(count - round(count)) < 1e-5
            assert round(count) == sum(engine.index.term_ids[term] in c.present for c in mine)
            assert freq[term] >= share  # a term's propagated share counts its more specific forms too
        assert all(0 < share <= 1 for share in freq.values())
        assert {engine.index.term_ids[t] for t in direct} == {t for c in mine for t in c.present if t in position}


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_withdrawing_a_case_removes_exactly_that_case(engine: RankingEngine, diseases: list[str],
                                                      data: st.DataObject) -> None:
    confirmed = data.draw(cases_strategy(diseases))
    gone = data.draw(st.sampled_from(confirmed))
    before = _rows(engine.describe_cases(confirmed))
    after = _rows(engine.describe_cases([c for c in confirmed if c is not gone]))
    for disease in set(before) | set(after):
        if disease != gone.disease_id:
            assert after.get(disease) == before.get(disease)  # every other disease's description is untouched
    if gone.disease_id in before:
        left = [i for i in before[gone.disease_id][0] if i != gone.feedback_id]
        assert (after[gone.disease_id][0] if left else after.get(gone.disease_id)) == (left or None)


def test_cases_raise_only_the_diseases_they_describe(engine: RankingEngine) -> None:
    case = CaseVector(tuple(engine.index.term_position[t] for t in MARFAN))
    plain = engine.score(case)
    target = int(np.argsort(-plain.total)[40])  # a disease well down the list
    disease = engine.index.disease_ids[target]
    confirmed = [ConfirmedCase(7, disease, tuple(MARFAN)), ConfirmedCase(9, disease, (MARFAN[0], "HP:0000545"))]
    scored = engine.score(case, cases=engine.describe_cases(confirmed))
    others = np.arange(len(plain.total)) != target
    assert np.array_equal(scored.total[others], plain.total[others])
    assert np.array_equal(scored.phenotype, plain.phenotype)  # the release description's own evidence is untouched
    assert scored.total[target] > plain.total[target] and 0.5 < float(scored.case_share[0]) < 1
    assert (scored.total > scored.total[target]).sum() < (plain.total > plain.total[target]).sum()
    # a second component adds likelihood, never removes it: a case unlike the confirmed ones loses nothing
    unlike = CaseVector((engine.index.term_position["HP:0001250"],))
    assert engine.score(unlike, cases=engine.describe_cases(confirmed)).total[target] >= engine.score(unlike).total[target]


def test_evidence_names_the_confirmed_cases_a_term_came_from(default_snapshot: Snapshot) -> None:
    service = service_for(default_snapshot.path)
    request = CaseRequest(hpo_present=MARFAN)
    before = service.diagnose(request, top=30)
    candidate = before.candidates[-1]
    confirmed = [ConfirmedCase(7, candidate.disease_id, tuple(MARFAN)), ConfirmedCase(9, candidate.disease_id, (MARFAN[0],))]
    retriever = Retriever(service.graph, service.engine, service.linker)
    retriever.use_confirmed_cases(_Source(confirmed), 60)
    after = {c.disease_id: c for c in retriever.diagnose(request, top=30).candidates}
    found = after[candidate.disease_id].evidence
    assert found is not None and found.confirmed_cases is not None
    assert found.confirmed_cases.cases == ["confirmed case #7", "confirmed case #9"]
    assert 0.5 < found.confirmed_cases.share <= 1
    by_term = {m.case_term: m for m in found.confirmed_cases.matched}
    assert set(by_term) == set(MARFAN)  # case #7 shows every term exactly
    assert by_term[MARFAN[0]].provenance.references == ["confirmed case #7", "confirmed case #9"]
    assert by_term[MARFAN[0]].frequency_raw == "2/2 confirmed cases" and by_term[MARFAN[0]].relation == "exact"
    assert by_term[MARFAN[1]].provenance.references == ["confirmed case #7"] and by_term[MARFAN[1]].frequency == 0.5
    assert all(m.provenance.source == CASE_SOURCE for m in by_term.values())
    assert all(m.provenance is None or m.provenance.source != CASE_SOURCE for m in found.matched)  # release data apart
    assert all(c.evidence.confirmed_cases is None for d, c in after.items() if d != candidate.disease_id)
    assert after[candidate.disease_id].rank < candidate.rank


class _Source:
    """A case source whose version and cases the test sets."""

    def __init__(self, cases: list[ConfirmedCase]) -> None:
        self.cases_now, self.version_now, self.reads, self.fail = cases, 1, 0, False

    def version(self) -> Hashable:
        if self.fail:
            raise StoreUnavailableError("feedback database unavailable (test)")
        return self.version_now

    def cases(self) -> list[ConfirmedCase]:
        self.reads += 1
        return list(self.cases_now)


def test_case_evidence_rereads_when_the_version_changes_at_most_every_interval() -> None:
    now = [0.0]
    source = _Source([ConfirmedCase(1, "OMIM:1", ("HP:1",))])
    built: list[list[ConfirmedCase]] = []
    evidence = CaseEvidence(source, lambda cases: built.append(list(cases)) or None, 5.0, clock=lambda: now[0])
    evidence.current()
    assert source.reads == 1 and built == [[ConfirmedCase(1, "OMIM:1", ("HP:1",))]]
    source.cases_now, source.version_now = [], 2
    now[0] = 4.0
    evidence.current()
    assert source.reads == 1  # not due yet
    now[0] = 5.0
    evidence.current()
    assert source.reads == 2 and built[-1] == []  # a withdrawal: read again, built without it
    now[0] = 10.0
    evidence.current()
    assert source.reads == 2  # same version: nothing read
    source.fail, source.version_now = True, 3
    now[0] = 20.0
    evidence.current()  # the store down: no error, the last descriptions kept
    assert source.reads == 2
