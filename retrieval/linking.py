"""Mention → HPO term linking in two tiers: exact label/synonym lookup through the graph, then FAISS fallback.

Tier 1 (`exact`) asks `KnowledgeGraph.terms_by_label` once per text for every word n-gram (up
to `max_ngram` words, not crossing punctuation), and for its plural-folded form, so it is a
single Cypher round-trip on Neo4j; matches are taken longest first without overlaps. Score:
1.0 for a verbatim normalised match, 0.9 when only the accent-stripped form or the singular of
the last word matched.
Tier 2 (`embedding`) sends what tier 1 left uncovered (split at punctuation, cues and
conjunctions) to `TermEmbeddingIndex`; a span links only at cosine ≥ `threshold`, otherwise it
is reported in `Extraction.unlinked` — a match is never forced.
"""

from __future__ import annotations

import threading
import unicodedata
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from raregraph.kg.graph import KnowledgeGraph
from raregraph.kg.model import PHENOTYPIC_ABNORMALITY, HpoId, normalize_label
from raregraph.retrieval.cancel import checkpoint
from raregraph.retrieval.embeddings import (
    DEFAULT_MODEL, EmbeddingUnavailableError, EncodeProgress, Neighbour, TermEmbeddingIndex,
)
from raregraph.retrieval.mentions import (
    STOPWORDS, Mention, SentenceContext, Token, analyze, chunks, is_content_word, sentences,
)

__all__ = ["EmbeddingSettings", "LinkedTerm", "Extraction", "TermLinker", "DEFAULT_THRESHOLD"]

Tier = Literal["exact", "embedding"]
# Chosen on GSC+ (benchmarks/extraction.py, all-MiniLM-L6-v2): 0.85 gave the best exact-id F1 of
# the sweep 0.75-0.95 and kept exact-id precision at 0.83 (tier 1 alone: 0.88); 0.8 adds recall at
# 0.76 precision. Another encoder needs its own sweep.
DEFAULT_THRESHOLD = 0.85
_FOLDED_SCORE = 0.9
_NEIGHBOURS = 5
_UNINFORMATIVE = frozenset({"abnormal", "abnormality", "abnormalities", "anomaly", "anomalies", "morphology",
                            "morphological", "finding", "findings", "feature", "features"})
_QUALIFIER_ROOTS = frozenset({"HP:0012823", "HP:0040279"})  # Clinical modifier, Frequency


@dataclass(frozen=True)
class EmbeddingSettings:
    """The embedding tier: a sentence-transformers model name or folder, its cut-off and its index cache."""

    model: str = DEFAULT_MODEL
    threshold: float = DEFAULT_THRESHOLD
    cache_dir: Path | None = None  # e.g. snapshot.cache_dir(cache_kind(model)); None keeps the index in memory
    enabled: bool = True
    device: str | None = None  # None or "cpu": numpy for the default model (bert_numpy); else sentence-transformers
    max_span: int = 6  # longest word span inside a leftover chunk that is embedded on its own


@dataclass(frozen=True)
class LinkedTerm:
    """A mention linked to a current HPO term by one tier."""

    mention: Mention
    term_id: HpoId
    label: str
    tier: Tier
    score: float  # exact: 1.0 or 0.9 (plural folded); embedding: cosine similarity
    matched_name: str  # the label or synonym that matched


@dataclass(frozen=True)
class Extraction:
    """What a text yields: linked mentions, mentions no tier could link, and the state of the embedding tier."""

    linked: tuple[LinkedTerm, ...]
    unlinked: tuple[Mention, ...]
    embedding_status: str = "off"

    def _ids(self, assertions: set[str]) -> list[HpoId]:
        return list(dict.fromkeys(t.term_id for t in self.linked if t.mention.assertion in assertions))

    def present_terms(self) -> list[HpoId]:
        """The patient's phenotype: present and historical mentions, in text order, without repeats."""
        return self._ids({"present", "historical"})

    def excluded_terms(self) -> list[HpoId]:
        """Negated terms, less any the same text also asserts as present."""
        present = set(self.present_terms())
        return [t for t in self._ids({"negated"}) if t not in present]

    def uncertain_terms(self) -> list[HpoId]:
        """Reported only: neither scored as present nor as excluded."""
        return self._ids({"uncertain"})

    def family_terms(self) -> list[HpoId]:
        """Reported only: a relative's phenotype, never the patient's."""
        return self._ids({"family"})


@dataclass(frozen=True)
class _Hit:
    first: int  # token indices in the sentence, [first, last)
    last: int
    term_id: HpoId
    score: float
    name: str


class TermLinker:
    """Links free text to HPO terms of one graph; the embedding index is built or loaded on first use."""

    def __init__(self, graph: KnowledgeGraph, settings: EmbeddingSettings | None = None, *,
                 index: TermEmbeddingIndex | None = None, max_ngram: int = 8) -> None:
        self.graph = graph
        self.settings = settings or EmbeddingSettings()
        self.max_ngram = max_ngram
        self._index = index
        self._index_error: str | None = None
        self._index_lock = threading.Lock()  # one build: concurrent first uses wait for it, never load a second model
        self.progress: EncodeProgress | None = None  # told (done, total) while a first use builds the index

    @property
    def index(self) -> TermEmbeddingIndex | None:
        """The embedding index, or None when the tier is disabled or cannot run (see `embedding_status`)."""
        return self.build_index(self.progress)

    @property
    def loaded(self) -> bool:
        """Whether the embedding tier is settled (loaded, off or unavailable): no text request will pay for a load."""
        return not self.settings.enabled or self._index is not None or self._index_error is not None

    def build_index(self, progress: EncodeProgress | None = None) -> TermEmbeddingIndex | None:
        """`index`, built (or loaded from its cache) now; `progress(done, total)` follows a first build's encoding."""
        if self._index is not None:
            return self._index  # the common case, without the lock
        with self._index_lock:
            if self._index is None and self._index_error is None:
                if not self.settings.enabled:
                    self._index_error = "off: disabled in settings"
                else:
                    try:
                        self._index = TermEmbeddingIndex.build(
                            self.graph, model=self.settings.model, cache_dir=self.settings.cache_dir,
                            device=self.settings.device, progress=progress)
                    except EmbeddingUnavailableError as e:
                        self._index_error = f"unavailable: {e}"
        return self._index

    @property
    def embedding_status(self) -> str:
        """'on', 'off: …' or 'unavailable: …' (building the index first if it has not been)."""
        return "on" if self.index is not None else str(self._index_error)

    def extract(self, text: str) -> Extraction:
        """Mentions of `text` with assertions, linked exact-first; leftovers through the embedding tier."""
        sents = sentences(text)
        spans = {id(s): list(_ngrams(s.tokens, self.max_ngram)) for s in sents}
        found = self._lookup([text[a:b] for s in sents for _, _, a, b in spans[id(s)]])
        linked: list[tuple[Mention, _Hit]] = []
        contexts: list[SentenceContext] = []
        for sent in sents:
            checkpoint()
            hits = [_Hit(i, j, *found[text[a:b]]) for i, j, a, b in spans[id(sent)] if text[a:b] in found]
            chosen = _non_overlapping(hits)
            covered = [(sent.tokens[h.first].start, sent.tokens[h.last - 1].end) for h in chosen]
            context = analyze(sent, covered)
            contexts.append(context)
            linked.extend((_mention(text, context, h.first, h.last), h) for h in chosen)
        exact = [(m, h, "exact") for m, h in linked]
        covered = _spans_by_sentence(linked)
        leftovers = [m for c in contexts for m in chunks(text, c, covered.get(c.sentence.index, ()))]
        embedded, status = self._embed_chunks(text, contexts, leftovers)
        covered = _spans_by_sentence(linked + embedded)
        unlinked = [m for c in contexts for m in chunks(text, c, covered.get(c.sentence.index, ()))]
        ordered = sorted(exact + [(m, h, "embedding") for m, h in embedded], key=lambda x: (x[0].start, x[0].end))
        return Extraction(self._labelled(ordered), tuple(unlinked), status)

    def link_mentions(self, mentions: Sequence[Mention]) -> Extraction:
        """Link caller-made mentions whole (their assertions kept): exact lookup, then embedding, else unlinked."""
        found = self._lookup([m.text for m in mentions])
        results: list[tuple[Mention, _Hit, Tier]] = []
        rest = []
        for m in mentions:
            if m.text in found:
                results.append((m, _Hit(0, 0, *found[m.text]), "exact"))
            else:
                rest.append(m)
        index, status = self._tier2(bool(rest))
        unlinked = list(rest)
        if index is not None:
            unlinked = []
            best = self._nearest(index, [m.text for m in rest])
            for m in rest:
                hit = best.get(m.text)
                if hit is not None:
                    results.append((m, _Hit(0, 0, hit.term_id, hit.score, hit.text), "embedding"))
                else:
                    unlinked.append(m)
        return Extraction(self._labelled(results), tuple(unlinked), status)

    # --- tiers -------------------------------------------------------------------------------

    def _lookup(self, texts: Sequence[str]) -> dict[str, tuple[HpoId, float, str]]:
        """One `terms_by_label` call for the texts and their folded forms: text → (id, score, key).

        A one-word text naming a clinical modifier or a frequency ("distal", "severe") is dropped:
        alone it qualifies another mention rather than naming a phenotype.
        """
        keys: dict[str, list[tuple[str, float]]] = {}
        for text in dict.fromkeys(texts):
            plain = _strip_accents(normalize_label(text))
            folded = ([plain] if plain != normalize_label(text) else []) + _singulars(plain)
            keys[text] = [(text, 1.0)] + [(v, _FOLDED_SCORE) for v in folded]
        answer = self.graph.terms_by_label(sorted({k for options in keys.values() for k, _ in options}))
        found = {}
        for text, options in keys.items():
            for key, score in options:
                if answer.get(key):
                    found[text] = (answer[key][0], score, key)
                    break
        single = {hit[0] for text, hit in found.items() if " " not in normalize_label(text)}
        qualifiers = self._qualifiers(sorted(single))
        return {t: hit for t, hit in found.items() if not (hit[0] in qualifiers and " " not in normalize_label(t))}

    def _qualifiers(self, ids: Sequence[HpoId]) -> set[HpoId]:
        ancestors = self.graph.ancestors(ids) if ids else {}
        return {t for t, up in ancestors.items() if up & _QUALIFIER_ROOTS}

    def _embed_chunks(self, text: str, contexts: Sequence[SentenceContext],
                      leftovers: Sequence[Mention]) -> tuple[list[tuple[Mention, _Hit]], str]:
        index, status = self._tier2(bool(leftovers))
        if index is None:
            return [], status
        candidates: list[tuple[SentenceContext, int, int]] = []
        token_starts = {c.sentence.index: [t.start for t in c.sentence.tokens] for c in contexts}
        for m in leftovers:
            checkpoint()
            context = contexts[m.sentence_index]
            tokens = context.sentence.tokens
            starts = token_starts[m.sentence_index]
            inside = range(bisect_left(starts, m.start), bisect_left(starts, m.end))  # a mention ends on a token end
            words = [j for j in inside if tokens[j].is_word and tokens[j].end <= m.end]
            for a in range(len(words)):
                for b in range(a, min(len(words), a + self.settings.max_span)):
                    if is_content_word(tokens[words[a]].text) and is_content_word(tokens[words[b]].text):
                        candidates.append((context, words[a], words[b] + 1))
        queries = [text[c.sentence.tokens[i].start:c.sentence.tokens[j - 1].end] for c, i, j in candidates]
        best = self._nearest(index, queries)
        by_sentence: dict[int, list[_Hit]] = {}
        for (context, i, j), query in zip(candidates, queries):
            hit = best.get(query)
            if hit is not None:
                by_sentence.setdefault(context.sentence.index, []).append(_Hit(i, j, hit.term_id, hit.score, hit.text))
        chosen = []
        for sentence_index, hits in by_sentence.items():
            context = contexts[sentence_index]
            for h in _non_overlapping(hits, by_score=True):
                chosen.append((_mention(text, context, h.first, h.last), h))
        return chosen, status

    def _nearest(self, index: TermEmbeddingIndex, queries: Sequence[str]) -> dict[str, Neighbour]:
        """Per query, the most similar acceptable name at or above the threshold (one batched search).

        Acceptable: a phenotypic abnormality (modifiers, frequencies, inheritance and history
        terms have short generic names that attract any adjective, so only the exact tier links
        them), and a name that says no more than the query: it has no more informative words
        ("lips" never becomes "Thick lips").
        """
        unique = list(dict.fromkeys(queries))
        neighbours = dict(zip(unique, index.search(unique, k=_NEIGHBOURS)))  # checkpoints between its batches
        ids = sorted({n.term_id for found in neighbours.values() for n in found if n.score >= self.settings.threshold})
        phenotypes = {t for t, up in (self.graph.ancestors(ids) if ids else {}).items() if PHENOTYPIC_ABNORMALITY in up}
        best = {}
        for query, found in neighbours.items():
            words = _informative(query)
            for n in found:
                if n.score >= self.settings.threshold and n.term_id in phenotypes and _informative(n.text) <= words:
                    best[query] = n
                    break
        return best

    def _tier2(self, needed: bool) -> tuple[TermEmbeddingIndex | None, str]:
        """The index and status line; the index is not built when nothing is left to embed."""
        if not self.settings.enabled:
            return None, "off: disabled in settings"
        if not needed and self._index is None:
            return None, "not needed: nothing left after the exact tier"
        return self.index, self.embedding_status

    def _labelled(self, results: Sequence[tuple[Mention, _Hit, Tier]]) -> tuple[LinkedTerm, ...]:
        terms = self.graph.terms(sorted({h.term_id for _, h, _ in results}))
        return tuple(
            LinkedTerm(m, h.term_id, terms[h.term_id].label if h.term_id in terms else h.name, tier, round(h.score, 4), h.name)
            for m, h, tier in results
        )


def _ngrams(tokens: Sequence[Token], max_n: int) -> list[tuple[int, int, int, int]]:
    """(first, last, start, end) of word n-grams not crossing punctuation, edged by non-stop words."""
    found = []
    for i, tok in enumerate(tokens):
        if not tok.is_word or tok.text.lower() in STOPWORDS:
            continue
        for j in range(i, min(len(tokens), i + max_n)):
            if not tokens[j].is_word:
                break
            if tokens[j].text.lower() in STOPWORDS:
                continue
            if j == i and not is_content_word(tok.text):
                continue
            found.append((i, j + 1, tok.start, tokens[j].end))
    return found


def _spans_by_sentence(done: Sequence[tuple[Mention, _Hit]]) -> dict[int, list[tuple[int, int]]]:
    """Character spans of linked mentions, per sentence index."""
    spans: dict[int, list[tuple[int, int]]] = {}
    for m, _ in done:
        spans.setdefault(m.sentence_index, []).append((m.start, m.end))
    return spans


def _non_overlapping(hits: Sequence[_Hit], *, by_score: bool = False) -> list[_Hit]:
    """Longest first (or best score first), then earliest; a hit overlapping a taken one is dropped.

    O(hits × hit length): taken tokens are kept in a set, not compared with every taken hit.
    """
    order = sorted(hits, key=(lambda h: (-h.score, -(h.last - h.first), h.first)) if by_score
                   else (lambda h: (-(h.last - h.first), -h.score, h.first)))
    taken: list[_Hit] = []
    occupied: set[int] = set()
    for h in order:
        if occupied.isdisjoint(range(h.first, h.last)):
            taken.append(h)
            occupied.update(range(h.first, h.last))
    return sorted(taken, key=lambda h: h.first)


def _mention(text: str, context: SentenceContext, first: int, last: int) -> Mention:
    tokens = context.sentence.tokens
    start, end = tokens[first].start, tokens[last - 1].end
    assertion, cue = context.assertion_of(first, last)
    return Mention(text[start:end], start, end, context.sentence.index, assertion, cue)


def _informative(text: str) -> int:
    """How many words of a name carry meaning (stop words and "abnormality"-like words do not)."""
    return sum(1 for w in normalize_label(text).split() if w not in STOPWORDS and w not in _UNINFORMATIVE)


def _strip_accents(key: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", key) if not unicodedata.combining(c))


def _singulars(key: str) -> list[str]:
    """Singular guesses for the last word of a normalised key ("tumors" → "tumor", "vertebrae" → "vertebra")."""
    head, _, last = key.rpartition(" ")
    options: list[str] = []
    if len(last) > 4 and last.endswith("ies"):
        options.append(last[:-3] + "y")
    if len(last) > 4 and last.endswith(("ches", "shes", "sses", "xes", "zes")):
        options.append(last[:-2])
    if len(last) > 4 and last.endswith("s") and not last.endswith(("ss", "us", "is")):
        options.append(last[:-1])
    if len(last) > 4 and last.endswith("ae"):
        options.append(last[:-1])
    if len(last) > 4 and last.endswith("i"):
        options.append(last[:-1] + "us")
    return [f"{head} {o}".strip() for o in options]
