"""Sentence splitting, ConText-style assertion cues and candidate chunks on crafted clinical text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from raregraph.retrieval.mentions import (
    Cue, Mention, Sentence, analyze, chunks, detect_mentions, find_cues, overlapped, sentences,
)
from tests.retrieval.work import SliceCountingText, growth, lines_run


def _status(text: str) -> dict[str, tuple[str, str | None]]:
    """Mention text (lower case) → (assertion, cue)."""
    return {m.text.lower(): (m.assertion, m.cue) for m in detect_mentions(text)}


@pytest.mark.parametrize(
    ("text", "mention", "assertion", "cue"),
    [
        ("No seizures.", "seizures", "negated", "No"),
        ("He denies headache.", "headache", "negated", "denies"),
        ("Negative for ataxia.", "ataxia", "negated", "Negative for"),
        ("Absence of nystagmus on examination.", "nystagmus on examination", "negated", "Absence of"),
        ("Seizures were ruled out.", "seizures", "negated", "were ruled out"),
        ("Fever was not seen.", "fever", "negated", "not seen"),
        ("Mother has hearing loss.", "hearing loss", "family", "Mother"),
        ("Family history of deafness.", "deafness", "family", "Family history of"),
        ("There is no family history of seizures.", "seizures", "family", "family history of"),
        ("Hearing loss was also present in his mother.", "hearing loss", "family", "in his mother"),
        ("Possible hypotonia.", "hypotonia", "uncertain", "Possible"),
        ("Rule out cardiomyopathy.", "cardiomyopathy", "uncertain", "Rule out"),
        ("Suspected scoliosis.", "scoliosis", "uncertain", "Suspected"),
        ("History of seizures.", "seizures", "historical", "History of"),
        ("No history of seizures.", "seizures", "negated", "No history of"),
        ("No recent history of seizures.", "seizures", "negated", "No"),
        ("Arachnodactyly and scoliosis.", "arachnodactyly", "present", None),
    ],
)
def test_assertion_cues(text: str, mention: str, assertion: str, cue: str | None) -> None:
    assert _status(text)[mention] == (assertion, cue)


def test_without_negates_only_what_follows() -> None:
    found = _status("Seizures without fever.")
    assert found["seizures"] == ("present", None)
    assert found["fever"] == ("negated", "without")


def test_terminators_end_a_negation_scope() -> None:
    found = _status("No fever but he has hypotonia. Denies headache, presented with ataxia.")
    assert found["fever"][0] == "negated"
    assert found["hypotonia"][0] == "present"
    assert found["headache"][0] == "negated"
    assert found["ataxia"][0] == "present"


def test_a_list_after_a_negation_is_negated_whole() -> None:
    found = _status("No fever, cough or rash.")
    assert {found[w][0] for w in ("fever", "cough", "rash")} == {"negated"}


def test_a_new_cue_takes_over_from_a_negation() -> None:
    found = _status("No fever, possible seizures.")
    assert found["fever"][0] == "negated"
    assert found["seizures"] == ("uncertain", "possible")


def test_family_scope_ends_at_the_patient() -> None:
    found = _status("Mother has hearing loss while the proband has cataract.")
    assert found["hearing loss"][0] == "family"
    assert found["cataract"][0] == "present"


def test_protected_span_suppresses_a_negation_cue_inside_a_label() -> None:
    text = "Migraine without aura."
    sentence = sentences(text)[0]
    assert [c.text for c in analyze(sentence).cues] == ["without"]
    assert analyze(sentence, protected=[(0, 21)]).cues == ()


def test_family_cues_stay_inside_protected_spans() -> None:
    sentence = sentences("Family history of deafness.")[0]
    assert [c.rule.category for c in analyze(sentence, protected=[(0, 14)]).cues] == ["family"]


def test_sentences_split_on_punctuation_and_list_lines_not_abbreviations() -> None:
    text = "Dr. Smith saw him. He had seizures; no ataxia.\nHypotonia\n- scoliosis\nwrapped line"
    spans = [text[s.start:s.end].strip() for s in sentences(text)]
    assert spans == ["Dr. Smith saw him.", "He had seizures; no ataxia.", "Hypotonia", "- scoliosis\nwrapped line"]


def test_chunks_skip_stop_words_generic_words_and_covered_spans() -> None:
    text = "The patient has severe scoliosis and arachnodactyly."
    context = analyze(sentences(text)[0])
    assert [m.text for m in chunks(text, context)] == ["severe scoliosis", "arachnodactyly"]
    covered = [(text.index("arachnodactyly"), len(text) - 1)]
    assert [m.text for m in chunks(text, context, covered)] == ["severe scoliosis"]


def test_stop_word_only_text_yields_no_mention() -> None:
    assert detect_mentions("It was the one that they had.") == []


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=200)
       | st.lists(st.sampled_from(["no", "No", "seizures", "without", "fever", ".", ",", "\n", "mother", "has",
                                   "possible", "history of", "é", "  ", "ruled out", "(", ")", "Dr."]),
                  max_size=30).map(" ".join))
def test_mention_offsets_slice_the_text(text: str) -> None:
    for m in detect_mentions(text):
        assert isinstance(m, Mention)
        assert text[m.start:m.end] == m.text
        assert m.text == m.text.strip() and m.text
        assert m.assertion in {"present", "negated", "uncertain", "family", "historical"}


# --- cost: linear in the text (issue 19) -------------------------------------------------------------


def test_scope_work_is_linear_in_a_long_sentence() -> None:
    """Issue 19: family and history scopes run to the sentence's end, so each cue rewalked them (quadratic)."""
    def work(repeats: int) -> int:
        sentence = sentences("mother father sister has seizures and hypotonia, " * repeats)[0]
        return lines_run(analyze, sentence)[1]

    assert growth(work, 150) < 2.5


def test_chunk_work_is_linear_in_the_covered_spans() -> None:
    """Issue 19: each token was compared with every covered span of its sentence (tokens × spans)."""
    def work(repeats: int) -> int:
        text = "seizures hypotonia blorf, " * repeats
        context = analyze(sentences(text)[0])
        covered = [(i, i + len("seizures")) for i in range(0, len(text), len("seizures hypotonia blorf, "))]
        return lines_run(chunks, text, context, covered)[1]

    assert growth(work, 150) < 2.5


def test_sentence_splitting_copies_each_character_a_bounded_number_of_times() -> None:
    """Issue 19: each boundary sliced the rest of the text (and rescanned the sentence so far) before deciding."""
    def work(repeats: int) -> int:
        SliceCountingText.sliced = 0
        found = sentences(SliceCountingText("seizures. hypotonia. e.g. ataxia. " * repeats))
        assert len(found) == 1  # a lower-case word after each stop: one sentence, whose start never moves
        return SliceCountingText.sliced

    assert growth(work, 200) < 2.5


@pytest.mark.parametrize("text", [
    "Dr. Smith saw him. He had seizures.", "e.g. seizures. Hypotonia", "x" * 40 + "e.g. Then", "Approx. 3 cm.\nnext",
    "Mr.Smith. Seizures!? Yes.\n\n- item\n  lower", "ends with a stop.",
])
def test_sentence_bounds_match_the_rule_as_first_written(text: str) -> None:
    assert [(s.start, s.end) for s in sentences(text)] == _reference_bounds(text)


def _reference_bounds(text: str) -> list[tuple[int, int]]:
    """The splitter before issue 19 (quadratic), kept as the oracle of the linear one."""
    import re

    from raregraph.retrieval.mentions import _ABBREVIATIONS

    bounds, start = [], 0
    for m in re.finditer(r"[.!?]+(?=\s)|\n", text):
        if m.group() == "\n":
            if text[m.end():].lstrip(" \t")[:1].islower():
                continue
        else:
            word = re.search(r"([\w.]+)$", text[start:m.start()])
            if word and word.group(1).lower() in _ABBREVIATIONS:
                continue
            if text[m.end():].lstrip()[:1].islower():
                continue
        bounds.append((start, m.end()))
        start = m.end()
    bounds.append((start, len(text)))
    return [(s, e) for s, e in bounds if text[s:e].strip()]


_SCOPE_WORDS = ["no", "not", "seizures", "fever", "mother", "father", "in", "his", "sister", "has", "was", "ruled",
                "out", "possible", "history", "of", "previous", "but", "he", "patient", "family", "denies", ",", ";",
                "(", ")", "without", "resolved", "is", "suspected", "unlikely", "hypotonia", "prior", "whose"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_SCOPE_WORDS), max_size=40).map(" ".join),
       st.lists(st.tuples(st.integers(0, 200), st.integers(1, 12)), max_size=4))
def test_scopes_match_the_rule_as_first_written(text: str, protected: list[tuple[int, int]]) -> None:
    """The linear scope walk marks every token as walking each cue's whole scope did."""
    spans = [(start, start + length) for start, length in protected]
    for sentence in sentences(text):
        assert analyze(sentence, spans).states == _reference_states(sentence, spans)


def _reference_states(sentence: Sentence, protected: list[tuple[int, int]]) -> tuple[tuple[str, str | None], ...]:
    """`analyze` before issue 19: every cue walks its whole scope (quadratic in a sentence of many cues)."""
    from raregraph.retrieval.mentions import _HARD_BOUNDARY, _PRIORITY, _stops, find_cues

    cues = find_cues(sentence, protected)
    tokens = sentence.tokens
    states: list[tuple[str, str | None]] = [("present", None)] * len(tokens)
    starts, ends = {c.first: c for c in cues}, {c.last - 1: c for c in cues}

    def mark(j: int, cue: Cue) -> None:
        if _PRIORITY[cue.rule.category] > _PRIORITY[states[j][0]]:
            states[j] = (cue.rule.category, cue.text)

    for cue in cues:
        if cue.rule.category in ("pseudo", "terminate"):
            continue
        if cue.rule.category in ("family", "historical"):
            for j in range(cue.first, cue.last):
                mark(j, cue)
        if cue.rule.direction in ("forward", "both"):
            j = cue.last
            while j < len(tokens) and tokens[j].text not in _HARD_BOUNDARY and not _stops(cue, starts.get(j), False):
                mark(j, cue)
                j += 1
        if cue.rule.direction in ("backward", "both"):
            j = cue.first - 1
            while j >= 0 and tokens[j].text not in _HARD_BOUNDARY and not _stops(cue, ends.get(j), True):
                mark(j, cue)
                j -= 1
    return tuple(states)


def test_cues_inside_a_protected_label_are_dropped() -> None:
    sentence = sentences("Migraine without aura; no seizures without fever")[0]
    assert [c.text for c in find_cues(sentence, [(0, 21), (40, 47)])] == ["no"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["a", "bb", "ccc", ",", "(", "dddd"]), max_size=30).map(" ".join),
       st.lists(st.tuples(st.integers(0, 120), st.integers(0, 15)), max_size=8))
def test_overlapped_tokens_are_those_touching_a_span(text: str, spans: list[tuple[int, int]]) -> None:
    tokens = [t for s in sentences(text) for t in s.tokens]
    pairs = [(start, start + length) for start, length in spans]
    assert overlapped(tokens, pairs) == [any(s < t.end and t.start < e for s, e in pairs) for t in tokens]
