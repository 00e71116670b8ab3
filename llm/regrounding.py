"""Re-grounding: every disease the model names becomes a graph id, or is dropped and reported.

Resolution tiers, first match wins (graph access only through `KnowledgeGraph.diseases` and
`KnowledgeGraph.search`, so both back-ends work):

1. `candidate_id` — an id in the mention (or the answer's `id` field) is a retrieval candidate or one
   of its exact equivalents (`equivalent_ids`); it maps to that candidate.
2. `graph_id` — the id exists in the graph (`diseases`).
3. `exact_name` — the name equals a candidate's name, or a graph disease name or synonym, after
   `normalize_label` (`search`'s exact hits). Among several, a candidate wins, then a disease of the
   ranking universe, then the smallest id.
4. `fuzzy_name` — the most similar name among the candidates and the graph's `search` hits for the
   mention, if its similarity reaches the threshold (default 0.88). Similarity is
   `difflib.SequenceMatcher.ratio` of the normalised names, and 0 when their number tokens
   (digits and roman numerals I–X) differ, so "type 1" never matches "type 2". The embedding index
   of `retrieval/embeddings.py` covers HPO terms, not disease names, so this tier is lexical.
   Failing that, a shorthand of exactly one candidate: every word of the mention is in the
   candidate's name, the mention has more than half of the name's distinctive words (not
   "syndrome", "type", "disease", "familial", …, nor numbers) and the same numbers if it has any,
   e.g. "Weill-Marchesani syndrome 2" for "Weill-Marchesani syndrome 2, dominant" or "Stiff skin"
   for "Stiff skin syndrome" — but not "Arachnodactyly" (a finding) for "Contractural
   arachnodactyly, congenital"; its similarity is that share of distinctive words.

Anything else is dropped and listed as ungrounded, with the nearest name seen. An id the model
writes is never passed on unless the graph has it.

The merged ranking is `llm/fusion.py`'s.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from raregraph.models import CandidateOut
from raregraph.kg.graph import KnowledgeGraph
from raregraph.kg.model import normalize_label
from raregraph.llm.models import AnswerDiagnosis, LlmAnswer, RankedDiagnosis, ResolvedBy, TierEntry, UngroundedName

__all__ = [
    "Resolution", "DiseaseResolver", "GroundedAnswer", "ground_answer", "retrieval_ranking", "name_similarity",
    "scrub_ids",
]

_CURIE = re.compile(r"\b(OMIM|MIM|ORPHA|ORPHANET|DECIPHER|MONDO)\s*[:_#]\s*(\d+)\b", re.IGNORECASE)
_ANY_ID = re.compile(r"\b(?:OMIM|MIM|ORPHA|ORPHANET|DECIPHER|MONDO|HP)\s*:\s*\d+\b", re.IGNORECASE)
_PREFIX = {"mim": "OMIM", "omim": "OMIM", "orpha": "ORPHA", "orphanet": "ORPHA", "decipher": "DECIPHER", "mondo": "MONDO"}
_NUMBER_WORDS = frozenset({"i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x"})
_SEARCH_LIMIT = 25
_GENERIC_WORDS = frozenset({
    "syndrome", "disease", "disorder", "type", "deficiency", "of", "the", "and", "with", "due", "to", "in", "congenital",
    "familial", "autosomal", "dominant", "recessive", "x", "linked", "form", "classic", "classical", "s",
})


@dataclass(frozen=True)
class Resolution:
    """A mention grounded to a graph disease."""

    disease_id: str
    name: str
    resolved_by: ResolvedBy
    similarity: float | None = None


def _curies(text: str) -> list[str]:
    return [f"{_PREFIX[m.group(1).lower()]}:{m.group(2)}" for m in _CURIE.finditer(text)]


def _number_tokens(normalised: str) -> frozenset[str]:
    return frozenset(t for t in normalised.split() if t.isdigit() or t in _NUMBER_WORDS)


def name_similarity(a: str, b: str) -> float:
    """Similarity of two disease names in [0, 1]: 0 if their numbers differ, else difflib's ratio.

    >>> round(name_similarity("Marfan's syndrome", "Marfan syndrome"), 2)
    0.94
    >>> name_similarity("Ehlers-Danlos syndrome type 1", "Ehlers-Danlos syndrome type 2")
    0.0
    """
    x, y = normalize_label(a), normalize_label(b)
    if not x or not y or _number_tokens(x) != _number_tokens(y):
        return 0.0
    return difflib.SequenceMatcher(None, x, y).ratio()


class DiseaseResolver:
    """Resolves the model's disease mentions against the candidates and the graph (tiers in the module doc)."""

    def __init__(self, graph: KnowledgeGraph, candidates: Sequence[CandidateOut], *,
                 universe: Collection[str] = (), fuzzy_threshold: float = 0.88) -> None:
        self.graph = graph
        self.threshold = fuzzy_threshold
        self.universe = frozenset(universe)
        self._alias: dict[str, CandidateOut] = {}
        for c in candidates:
            for key in (c.disease_id, *c.equivalent_ids):
                self._alias.setdefault(key, c)
        self._by_name: dict[str, CandidateOut] = {}
        for c in candidates:
            self._by_name.setdefault(normalize_label(c.name), c)
        self._candidates = list(candidates)

    def resolve(self, text: str | None, given_id: str | None = None) -> Resolution | UngroundedName:
        """The graph disease a mention names, or an `UngroundedName` saying why not."""
        shown = " ".join(p for p in (given_id, text) if p and p.strip()).strip()
        ids = list(dict.fromkeys([*_curies(given_id or ""), *_curies(text or "")]))
        for curie in ids:
            if curie in self._alias:
                c = self._alias[curie]
                return Resolution(c.disease_id, c.name, "candidate_id")
        known = self.graph.diseases(ids) if ids else {}
        for curie in ids:
            if curie in known:
                return Resolution(curie, known[curie].name, "graph_id")
        name = _CURIE.sub(" ", text or "")
        name = re.sub(r"^[\s\-–:,;()\[\]]+|[\s\-–:,;()\[\]]+$", "", name)
        if not normalize_label(name):
            reason = f"id {', '.join(ids)} is not in the graph" if ids else "no disease name or id"
            return UngroundedName(text=shown or "(blank)", reason=reason)
        return self._by_name_tiers(name, shown, ids)

    def _by_name_tiers(self, name: str, shown: str, ids: list[str]) -> Resolution | UngroundedName:
        key = normalize_label(name)
        if key in self._by_name:
            c = self._by_name[key]
            return Resolution(c.disease_id, c.name, "exact_name")
        hits = [h for h in self.graph.search(name, limit=_SEARCH_LIMIT) if h.kind == "disease"]
        exact = [h for h in hits if h.exact]
        if exact:
            best = min(exact, key=lambda h: (h.id not in self._alias, h.id not in self.universe, h.id))
            if best.id in self._alias:
                c = self._alias[best.id]
                return Resolution(c.disease_id, c.name, "exact_name")
            return Resolution(best.id, best.name, "exact_name")
        pool: list[tuple[str, str, str]] = [(c.disease_id, c.name, c.name) for c in self._candidates]
        pool += [(h.id, h.name, h.matched) for h in hits] + [(h.id, h.name, h.name) for h in hits]
        scored = [(name_similarity(name, text), disease_id, disease_name) for disease_id, disease_name, text in pool]
        scored.sort(key=lambda s: (-s[0], s[1] not in self._alias, s[1] not in self.universe, s[1]))
        if scored and scored[0][0] >= self.threshold:
            similarity, disease_id, disease_name = scored[0]
            if disease_id in self._alias:
                c = self._alias[disease_id]
                disease_id, disease_name = c.disease_id, c.name
            return Resolution(disease_id, disease_name, "fuzzy_name", round(similarity, 4))
        contained = self._contained_in_one_candidate(key)
        if contained is not None:
            return contained
        reason = "no graph disease has this name"
        if ids:
            reason = f"id {', '.join(ids)} is not in the graph and " + reason
        nearest = (scored[0][2], round(scored[0][0], 4)) if scored and scored[0][0] > 0 else (None, None)
        return UngroundedName(text=shown, reason=reason, nearest=nearest[0], similarity=nearest[1])


    def _contained_in_one_candidate(self, key: str) -> Resolution | None:
        """The one candidate whose name holds every word of the mention and more than half its distinctive words."""
        words = set(key.split())
        numbers = _number_tokens(key)
        if not words - _GENERIC_WORDS - numbers:
            return None
        found = []
        for c in self._candidates:
            name = normalize_label(c.name)
            distinctive = set(name.split()) - _GENERIC_WORDS - _number_tokens(name)
            share = len(words & distinctive) / len(distinctive) if distinctive else 0.0
            if words <= set(name.split()) and share > 0.5 and (not numbers or numbers == _number_tokens(name)):
                found.append((c, share))
        if len(found) != 1:
            return None
        c, share = found[0]
        return Resolution(c.disease_id, c.name, "fuzzy_name", round(share, 4))


@dataclass(frozen=True)
class GroundedAnswer:
    """The answer after re-grounding: grounded diagnoses in model order, tiers, and what was dropped."""

    ordered: list[tuple[Resolution, AnswerDiagnosis | None]]  # distinct diseases, the model's order
    tiers_most_likely: list[TierEntry]
    tiers_alternatives: list[TierEntry]
    tiers_cant_miss: list[TierEntry]
    ungrounded: list[UngroundedName]
    named: int  # distinct mentions


def ground_answer(answer: LlmAnswer, resolver: DiseaseResolver) -> GroundedAnswer:
    """Resolve every mention once; keep the first position of each grounded disease."""
    cache: dict[str, Resolution | UngroundedName] = {}

    def resolve(text: str | None, given_id: str | None = None) -> Resolution | UngroundedName:
        key = f"{given_id or ''}\x1f{text or ''}"
        if key not in cache:
            cache[key] = resolver.resolve(text, given_id)
        return cache[key]

    ordered: dict[str, tuple[Resolution, AnswerDiagnosis | None]] = {}
    ungrounded: dict[str, UngroundedName] = {}
    mentions: set[str] = set()

    def note(result: Resolution | UngroundedName, item: AnswerDiagnosis | None, mention: str) -> Resolution | None:
        mentions.add(mention)
        if isinstance(result, UngroundedName):
            ungrounded.setdefault(result.text, result)
            return None
        ordered.setdefault(result.disease_id, (result, item))
        return result

    for item in answer.diagnoses:
        if item.mention():
            note(resolve(item.name, item.id), item, item.mention())
    tiers: list[list[TierEntry]] = []
    for tier in (answer.most_likely, answer.possible_alternatives, answer.cant_miss):
        entries: dict[str, TierEntry] = {}
        for text in tier:
            if not text.strip():
                continue
            found = note(resolve(text), None, text.strip())
            if found is not None:
                entries.setdefault(found.disease_id, TierEntry(disease_id=found.disease_id, name=found.name,
                                                               resolved_by=found.resolved_by))
        tiers.append(list(entries.values()))
    return GroundedAnswer(list(ordered.values()), tiers[0], tiers[1], tiers[2], list(ungrounded.values()), len(mentions))


def retrieval_ranking(candidates: Sequence[CandidateOut]) -> list[RankedDiagnosis]:
    """The retrieval list as the final ranking (the LLM contributed nothing)."""
    return [
        RankedDiagnosis(rank=c.rank, disease_id=c.disease_id, name=c.name, equivalent_ids=list(c.equivalent_ids),
                        retrieval_rank=c.rank, retrieval_score=c.score, probability=c.probability)
        for c in candidates
    ]


def _canonical_id(raw: str) -> str:
    prefix, _, digits = re.sub(r"\s+", "", raw).partition(":")
    return f"{_PREFIX.get(prefix.lower(), prefix.upper())}:{digits}"


def scrub_ids(texts: Sequence[str], graph: KnowledgeGraph) -> list[str]:
    """The texts with every disease or HPO id the graph does not hold replaced by `[unverified id]`.

    One `diseases` and one `terms` batch call for all texts.
    """
    found = {m.group(0) for t in texts for m in _ANY_ID.finditer(t)}
    if not found:
        return list(texts)
    canonical = {raw: _canonical_id(raw) for raw in found}
    hpo = [c for c in canonical.values() if c.startswith("HP:")]
    diseases = [c for c in canonical.values() if not c.startswith("HP:")]
    known = set(graph.diseases(diseases)) | set(graph.terms(hpo)) if (hpo or diseases) else set()
    unknown = {raw for raw, c in canonical.items() if c not in known}
    if not unknown:
        return list(texts)
    pattern = re.compile("|".join(re.escape(u) for u in sorted(unknown, key=len, reverse=True)))
    return [pattern.sub("[unverified id]", t) for t in texts]
