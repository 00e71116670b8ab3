"""The feedback store on both real engines (SQLite WAL and PostgreSQL): migrations, writes, audit, refusals."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from raregraph.api.feedback.models import Base, FeedbackRow
from raregraph.api.feedback.schemas import FeedbackIn
from raregraph.api.feedback.store import FeedbackStore, new_response_id
from raregraph.errors import InvalidFeedbackError, StoreUnavailableError

SNAPSHOT = "hpo-test"
DISEASES = {"OMIM:154700": "Marfan syndrome", "ORPHA:558": "Marfan syndrome"}


def ground(snapshot_id: str, ids: Sequence[str]) -> Mapping[str, str]:
    """The diseases of one fixed snapshot (the HTTP tests ground against a real one)."""
    return {i: DISEASES[i] for i in ids if snapshot_id == SNAPSHOT and i in DISEASES}


def record(store: FeedbackStore, **overrides: object) -> str:
    response_id = new_response_id()
    fields = dict(client="clin", snapshot_id=SNAPSHOT, method="phenotype+genotype",
                  model=None, llm_status=None, case={"hpo_present": ["HP:0001166"], "variants": [], "sex": None,
                                                     "age": None, "id": None, "hpo_excluded": []},
                  retrieval={"snapshot_id": SNAPSHOT}, llm=None, ranking=["OMIM:154700"])
    fields.update(overrides)
    store.record_response(response_id, lambda: fields)
    return response_id


def test_migrations_build_exactly_the_models(store: FeedbackStore) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    assert store.migrate() == "0001"
    assert store.migrate() == "0001"  # idempotent
    with store.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_a_verdict_is_stored_with_its_audit_row(store: FeedbackStore) -> None:
    rid = record(store)
    item = FeedbackIn(response_id=rid, confirmed_disease_id="OMIM:154700", ratings={"accuracy": 5, "safety": 4},
                      comment="confirmed by sequencing")
    [stored] = store.add_feedback([("body", item)], author="clin", ground=ground)
    assert stored.confirmed_name == "Marfan syndrome" and stored.snapshot_id == SNAPSHOT
    assert stored.ratings == {"accuracy": 5, "safety": 4} and stored.author == "clin"
    assert store.feedback() == [stored]
    [audit] = store.audit_trail()
    assert (audit.actor, audit.action, audit.target) == ("clin", "feedback.create", f"feedback:{stored.id}")
    assert store.counts() == {"responses": 1, "feedback": 1, "audit": 1}
    assert store.responses([rid, "nope"])[rid].case["hpo_present"] == ["HP:0001166"]


@pytest.mark.parametrize(("change", "field"), [
    ({"response_id": "no-such-response"}, "body.response_id"),
    ({"confirmed_disease_id": "OMIM:999999"}, "body.confirmed_disease_id"),
    ({"snapshot_id": "another-snapshot"}, "body.snapshot_id"),
    ({"preference": {"other_response_id": "no-such-response", "preferred": "A"}}, "body.preference.other_response_id"),
])
def test_bad_verdicts_store_nothing(store: FeedbackStore, change: dict[str, object], field: str) -> None:
    rid = record(store)
    good = FeedbackIn(response_id=rid, confirmed_disease_id="OMIM:154700")
    bad = FeedbackIn.model_validate({"response_id": rid, "confirmed_disease_id": "OMIM:154700", **change})
    with pytest.raises(InvalidFeedbackError) as caught:
        store.add_feedback([("body", good), ("body", bad)], author="clin", ground=ground)  # all or none
    assert caught.value.field == field
    assert store.counts() == {"responses": 1, "feedback": 0, "audit": 0}


def test_the_database_itself_refuses_a_rating_outside_1_to_5(store: FeedbackStore) -> None:
    rid = record(store)
    with pytest.raises(IntegrityError), store.engine.begin() as connection:
        connection.execute(insert(FeedbackRow).values(
            created_at=datetime.now(UTC), author="x", response_id=rid,
            snapshot_id=SNAPSHOT, method="m", rating_overall=6))
    assert store.counts()["feedback"] == 0


def test_withdrawn_verdicts_leave_the_live_list_and_are_audited(store: FeedbackStore) -> None:
    rid = record(store)
    [stored] = store.add_feedback([("body", FeedbackIn(response_id=rid, confirmed_disease_id="ORPHA:558"))],
                                  author="clin", ground=ground)
    assert store.withdraw(stored.id, actor="admin").withdrawn
    assert store.feedback() == [] and len(store.feedback(include_withdrawn=True)) == 1
    assert [a.action for a in store.audit_trail()] == ["feedback.withdraw", "feedback.create"]
    with pytest.raises(InvalidFeedbackError):
        store.withdraw(stored.id + 100, actor="admin")


def test_a_database_that_is_down_is_store_unavailable(free_port, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    down = FeedbackStore(f"postgresql+psycopg://raregraph@127.0.0.1:{free_port()}/none")
    with pytest.raises(StoreUnavailableError, match="unavailable"):
        down.ping()
    (tmp_path / "file").write_text("")
    blocked = FeedbackStore(f"sqlite:///{tmp_path / 'file' / 'feedback.sqlite'}")
    with pytest.raises(StoreUnavailableError):
        blocked.ping()


@pytest.mark.parametrize(("mode", "level"), [("normal", 1), ("full", 2)])
def test_sqlite_runs_in_wal_mode(tmp_path: Path, mode: str, level: int) -> None:
    store = FeedbackStore(f"sqlite:///{tmp_path / 'f.sqlite'}", sqlite_synchronous=mode)
    store.ping()
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == level
    store.close()


def _page_size(path: Path) -> int:
    with sqlite3.connect(path) as connection:
        return int(connection.execute("PRAGMA page_size").fetchone()[0])


def test_a_new_sqlite_store_has_16_kib_pages_and_an_existing_one_keeps_its_own(tmp_path: Path) -> None:
    new, old = tmp_path / "new.sqlite", tmp_path / "old.sqlite"
    with sqlite3.connect(old) as connection:  # a store created before: 4 KiB pages, WAL
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE before (x)")
    for path in (new, old):
        store = FeedbackStore(f"sqlite:///{path}")
        try:
            rid = record(store, retrieval={"candidates": ["x" * 100_000]})  # a row of many pages
            assert store.responses([rid])[rid].retrieval == {"candidates": ["x" * 100_000]}
        finally:
            store.close()
    assert (_page_size(new), _page_size(old)) == (16_384, 4_096)


def test_json_columns_read_back_as_written(store: FeedbackStore) -> None:
    case = {"id": "Zoë, 3 ans", "hpo_present": ["HP:0001166"], "hpo_excluded": [], "sex": None, "age": "P3Y",
            "variants": [{"gene": "FBN1", "pos": 48_700_000, "zygosity": "heterozygous"}], "text": "œdème ✓ \"quoted\"\n"}
    llm = {"status": "ok", "model": "m", "confidence": 0.125, "nested": {"empty": [], "none": None, "flag": True}}
    rid = record(store, case=case, llm=llm, ranking=["OMIM:154700", "ORPHA:558"])
    stored = store.responses([rid])[rid]
    assert (stored.case, stored.llm, stored.ranking) == (case, llm, ["OMIM:154700", "ORPHA:558"])
    store.audit(actor="clin", action="export", target=None, detail={"file": "é.jsonl", "rows": 2})
    assert store.audit_trail()[0].detail == {"file": "é.jsonl", "rows": 2}
