"""The store's one writer thread: answers are logged without waiting for the database, verdicts are
committed in groups and acknowledged only once committed (also across a kill -9 of a real server)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import event, text

from raregraph.api.feedback.models import ResponseRow
from raregraph.api.feedback.schemas import FeedbackIn
from raregraph.api.feedback.store import FeedbackStore, new_response_id
from raregraph.api.feedback.writer import StoreWriter
from raregraph.errors import InvalidFeedbackError
from raregraph.etl.snapshot import Snapshot
from tests.api.feedback.test_store import SNAPSHOT, ground, record
from tests.api.live import live_process
from tests.process_tree import wait_for

VERDICTS = 16


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[FeedbackStore]:
    opened = FeedbackStore(f"sqlite:///{tmp_path / 'feedback.sqlite'}")
    opened.migrate()
    try:
        yield opened
    finally:
        opened.close()


@contextmanager
def write_lock_held(store: FeedbackStore) -> Iterator[None]:
    """Another process's write transaction on the SQLite file: every writer waits until it ends."""
    other = sqlite3.connect(store.engine.url.database, timeout=30, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        other.execute("COMMIT")
        other.close()


def test_an_answer_is_logged_without_waiting_for_the_database(sqlite_store: FeedbackStore) -> None:
    with write_lock_held(sqlite_store):
        # a commit per answer on the request's thread would wait here for the lock (then fail after the busy timeout)
        response_id = record(sqlite_store)
    assert response_id in sqlite_store.responses([response_id])  # a read sees what was logged before it


def _answer_row(response_id: str) -> dict[str, object]:
    return {"id": response_id, "created_at": datetime.now(UTC), "client": "clin", "snapshot_id": SNAPSHOT,
            "method": "phenotype+genotype", "model": None, "llm_status": None, "case": {"hpo_present": ["HP:0001166"]},
            "retrieval": {"snapshot_id": SNAPSHOT}, "llm": None, "ranking": ["OMIM:154700"]}


@pytest.mark.parametrize("then", ["flush", "close"])
def test_answers_linger_to_share_a_transaction_and_a_job_or_close_writes_them_at_once(
        sqlite_store: FeedbackStore, then: str) -> None:
    """One transaction per answer cost ~1 ms of CPU an answer; a job (a verdict, a flush) never waits for the linger."""
    commits: list[int] = []
    event.listen(sqlite_store.engine, "commit", lambda _connection: commits.append(1))
    writer = StoreWriter(sqlite_store.engine, ResponseRow.__table__, lambda: nullcontext(), linger_s=3600)
    ids = [new_response_id() for _ in range(3)]
    for response_id in ids:
        writer.log_answer(lambda response_id=response_id: _answer_row(response_id))
    if then == "flush":
        writer.flush()  # written now, with the job: not after the hour's linger
    writer.close()
    assert len(commits) == 1
    assert set(sqlite_store.responses(ids)) == set(ids)


def test_verdicts_that_queue_together_commit_together_and_a_refused_one_refuses_only_itself(
        sqlite_store: FeedbackStore) -> None:
    response_id = record(sqlite_store)
    sqlite_store.flush()
    commits: list[int] = []
    event.listen(sqlite_store.engine, "commit", lambda _connection: commits.append(1))
    items = [FeedbackIn(response_id=response_id, confirmed_disease_id="OMIM:154700", comment=str(i))
             for i in range(VERDICTS)]
    items[5] = FeedbackIn(response_id=response_id, confirmed_disease_id="OMIM:000000")  # not in the snapshot

    def add(item: FeedbackIn) -> object:
        try:
            return sqlite_store.add_feedback([("body", item)], author="clin", ground=ground)[0].id
        except InvalidFeedbackError as err:
            return err

    with ThreadPoolExecutor(VERDICTS) as pool:
        with write_lock_held(sqlite_store):
            outcomes = [pool.submit(add, item) for item in items]
            wait_for(lambda: sqlite_store.writer_backlog() == VERDICTS, "every verdict queued", 60)  # the first batch waits for the lock
        results = [o.result() for o in outcomes]
    refused = [r for r in results if isinstance(r, InvalidFeedbackError)]
    assert len(refused) == 1 and "OMIM:000000" in str(refused[0])
    ids = [r for r in results if isinstance(r, int)]
    assert len(set(ids)) == VERDICTS - 1
    assert len(commits) <= 2  # the batch that waited for the lock, then all that queued meanwhile
    assert sqlite_store.counts() == {"responses": 1, "feedback": VERDICTS - 1, "audit": VERDICTS - 1}


@pytest.mark.integration
def test_a_kill_9_during_a_burst_of_verdicts_loses_no_acknowledged_one(
        default_snapshot: Snapshot, free_port: Callable[[], int], tmp_path: Path) -> None:
    database = tmp_path / "feedback.sqlite"
    headers = {"X-API-Key": "k-clin"}
    env = {**os.environ, "RAREGRAPH_SNAPSHOT": str(default_snapshot.path), "RAREGRAPH_EMBEDDING_ENABLED": "false",
           "RAREGRAPH_FEEDBACK_URL": f"sqlite:///{database}", "RAREGRAPH_API_RATE_LIMIT_PER_MINUTE": "0",
           "RAREGRAPH_API_KEYS": json.dumps({"clin": "k-clin"}),
           "RAREGRAPH_API_KEY_SCOPES": json.dumps({"clin": ["feedback"]})}
    acknowledged: list[int] = []
    with live_process(env, free_port(), tmp_path / "server.log", headers) as (base, server):
        answer = httpx.post(f"{base}/v1/diagnose", json={"hpo_present": ["HP:0001166", "HP:0001083"]},
                            headers=headers, timeout=60).json()
        verdict = {"response_id": answer["response_id"], "confirmed_disease_id": answer["candidates"][0]["disease_id"]}
        stop = threading.Event()

        def client() -> None:
            with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
                while not stop.is_set():
                    try:
                        response = http.post("/v1/feedback", json=verdict)
                    except httpx.TransportError:  # cut by the kill
                        return
                    if response.status_code == 201:
                        acknowledged.append(response.json()["id"])

        threads = [threading.Thread(target=client) for _ in range(8)]
        for thread in threads:
            thread.start()
        wait_for(lambda: len(acknowledged) >= 50, "50 acknowledged verdicts", 60)
        server.send_signal(signal.SIGKILL)
        server.wait()
        stop.set()
        for thread in threads:
            thread.join()
    store = FeedbackStore(f"sqlite:///{database}")
    try:
        stored = {f.id for f in store.feedback()}
        with store.engine.connect() as connection:
            assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"
            unaudited = connection.execute(text("SELECT count(*) FROM feedback f WHERE NOT EXISTS "
                                                "(SELECT 1 FROM audit a WHERE a.target = 'feedback:' || f.id)")).scalar()
    finally:
        store.close()
    assert set(acknowledged) <= stored and unaudited == 0
