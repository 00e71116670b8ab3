"""Sentence splitting, ConText-style assertion cues and candidate chunks on crafted clinical text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from raregraph.retrieval.mentions import Mention, analyze, chunks, detect_mentions, sentences


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
