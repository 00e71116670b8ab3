"""Clinical text over HTTP beside requests with HPO ids (issue 19): its own lane, work that stops with its request, and a
readiness that includes the embedding tier.

The text linker here is the real exact tier behind a gate the test opens: how long text work takes
is the test's to decide, so nothing here is timed.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from raregraph.api.http.app import create_app
from raregraph.errors import WorkCancelledError
from raregraph.etl.snapshot import Snapshot
from raregraph.kg.graph import KnowledgeGraph
from raregraph.retrieval.embeddings import EncodeProgress, TermEmbeddingIndex
from raregraph.retrieval.linking import EmbeddingSettings, Extraction, TermLinker
from raregraph.retrieval.retriever import Retriever
from raregraph.settings import Settings
from tests.api.test_http import MARFAN, _problem, api_settings, service_for

HOLD_S = 30.0  # how long a gate waits before giving up (a failing test, never a passing one, waits this long)


class HeldLinker(TermLinker):
    """The real exact tier, entered only when the test opens the gate; records how each extraction ended."""

    def __init__(self, graph: KnowledgeGraph) -> None:
        super().__init__(graph, EmbeddingSettings(enabled=False))
        self.entered = threading.Semaphore(0)
        self.gate = threading.Event()
        self.outcomes: queue.Queue[Extraction | BaseException] = queue.Queue()

    def extract(self, text: str) -> Extraction:
        if text == "seizures":  # the start-up warm-up is not held
            return super().extract(text)
        self.entered.release()
        self.gate.wait(HOLD_S)
        try:
            found = super().extract(text)
        except BaseException as err:
            self.outcomes.put(err)
            raise
        self.outcomes.put(found)
        return found


@pytest.fixture
def held(default_snapshot: Snapshot) -> Iterator[tuple[Retriever, HeldLinker]]:
    service = service_for(default_snapshot.path)
    linker = HeldLinker(service.graph)
    yield Retriever(service.graph, service.engine, linker), linker
    linker.gate.set()


def test_text_requests_never_take_the_threads_of_requests_with_ids(
    default_snapshot: Snapshot, held: tuple[Retriever, HeldLinker]
) -> None:
    """Issue 19: six large texts held every ranking thread; a 4-term request sent meanwhile waited 29.5 s."""
    service, linker = held
    settings = api_settings(default_snapshot, api_threads=1, api_text_threads=1, api_request_timeout_s=10)
    with TestClient(create_app(settings, service)) as c:
        answers: list[Any] = []
        texts = [("/v1/diagnose", {"text": "Seizures and hypotonia."}), ("/v1/phenotypes/extract", {"text": "Scoliosis."}),
                 ("/v1/diagnose/batch", {"cases": [{"text": "Arachnodactyly."}, {"hpo_present": MARFAN}]})]
        senders = [threading.Thread(target=lambda p=path, b=body: answers.append(c.post(p, json=b))) for path, body in texts]
        for sender in senders:
            sender.start()
        assert linker.entered.acquire(timeout=HOLD_S)  # the text lane's one thread is busy, two more texts queue
        assert c.post("/v1/diagnose", json={"hpo_present": MARFAN}).status_code == 200  # the ranking thread is free
        assert linker.outcomes.empty()
        linker.gate.set()
        for sender in senders:
            sender.join(HOLD_S)
        assert [a.status_code for a in answers] == [200, 200, 200]


def test_a_timed_out_text_request_stops_its_work(default_snapshot: Snapshot, held: tuple[Retriever, HeldLinker]) -> None:
    """Issue 19: after the 503s the cancelled work kept both cores busy for another ~60 s."""
    service, linker = held
    with TestClient(create_app(api_settings(default_snapshot, api_request_timeout_s=0.5), service)) as c:
        _problem(c.post("/v1/phenotypes/extract", json={"text": "Seizures. Hypotonia. " * 200}), 503, "timeout")
        linker.gate.set()  # the work resumes after its request ended: it must stop at its first checkpoint
        outcome = linker.outcomes.get(timeout=HOLD_S)
        assert isinstance(outcome, WorkCancelledError), outcome
        assert c.post("/v1/phenotypes/extract", json={"text": "Scoliosis."}).status_code == 200


class SlowLoadingLinker(TermLinker):
    """An embedding tier whose load (the model and the index, seconds in production) ends when the test says."""

    def __init__(self, graph: KnowledgeGraph) -> None:
        super().__init__(graph, EmbeddingSettings(enabled=True))
        self.gate = threading.Event()
        self.loads = 0

    def build_index(self, progress: EncodeProgress | None = None) -> TermEmbeddingIndex | None:
        if self._index_error is None:
            self.gate.wait(HOLD_S)
            self.loads += 1
            self._index_error = "unavailable: loaded by the test"  # a stand-in; what matters is when it loads
        return self._index


def test_readyz_waits_for_the_embedding_tier(default_snapshot: Snapshot) -> None:
    """Issue 19: /readyz said `text_linking: ready` before the model loaded; the first text request then took 5.2 s."""
    service = service_for(default_snapshot.path)
    linker = SlowLoadingLinker(service.graph)

    def build(settings: Settings) -> Retriever:
        return Retriever(service.graph, service.engine, linker)

    app = create_app(api_settings(default_snapshot), build=build)  # the linker decides: its tier is on
    try:
        with TestClient(app) as c:
            while app.state.runtime.text_linking == "waiting":  # the ranking index loads first
                app.state.runtime.wait(0.05)
            doc = _problem(c.get("/readyz"), 503, "graph-unavailable")
            assert "text linking is still loading" in doc["detail"]
            assert c.post("/v1/diagnose", json={"hpo_present": MARFAN}).status_code == 200  # ranking is served
            linker.gate.set()
            app.state.runtime.wait(HOLD_S)
            ready = c.get("/readyz").json()
            assert (ready["text_linking"], ready["embedding"]) == ("ready", "unavailable: loaded by the test")
            assert ready["text_load_seconds"] is not None
            c.post("/v1/phenotypes/extract", json={"text": "Spider-like fingers."})
            assert linker.loads == 1  # at start-up, not by the first text request
    finally:
        linker.gate.set()
