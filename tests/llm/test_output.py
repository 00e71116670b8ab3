"""The answer parser on recorded real answers of the local server, and on the ways an answer goes wrong."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from raregraph.llm.models import AnswerDiagnosis, LlmAnswer
from raregraph.llm.output import EmptyAnswerError, InvalidAnswerError, ReasoningStream, parse_answer
from tests.llm.conftest import FIXTURES, recorded, recorded_message

RECORDED = sorted(p.stem for p in FIXTURES.glob("*.json"))
RECORDED_OK = [n for n in RECORDED if recorded(n)["expected"]["parse"] == "ok"]  # type: ignore[index]


def test_fixtures_were_recorded() -> None:
    assert len(RECORDED) >= 6 and RECORDED_OK, RECORDED


@pytest.mark.parametrize("name", RECORDED)
def test_recorded_answer_parses_as_when_recorded(name: str) -> None:
    content, reasoning, finish = recorded_message(name)
    expected = recorded(name)["expected"]["parse"]  # type: ignore[index]
    if expected == "ok":
        parsed = parse_answer(content, reasoning, finish)
        assert parsed.answer.named()
        assert parsed.json_text and json.loads(parsed.json_text)
    else:
        error = {"EmptyAnswerError": EmptyAnswerError, "InvalidAnswerError": InvalidAnswerError}[expected]
        with pytest.raises(error):
            parse_answer(content, reasoning, finish)


def test_a_cut_off_answer_says_so() -> None:
    content, reasoning, finish = recorded_message("marfan_cut_off")
    assert finish == "length"
    with pytest.raises((InvalidAnswerError, EmptyAnswerError), match="finish_reason=length"):
        parse_answer(content, reasoning, finish)


def test_streamed_reasoning_equals_the_parsed_reasoning_field() -> None:
    fixture = recorded("marfan_streamed")
    deltas: list[str] = fixture["stream_deltas"]  # type: ignore[assignment]
    reader = ReasoningStream()
    streamed = "".join(reader.feed(d) for d in deltas)
    whole = "".join(deltas)
    try:
        field = json.loads(whole).get("reasoning") or ""
    except ValueError:  # cut off: compare with the part that was written
        field = streamed
    assert streamed == field


# --- failure modes and leniency (short literal answers; shapes seen from small models) ---------------


@pytest.mark.parametrize("content", [None, "", "   \n"])
def test_blank_answer_is_empty(content: str | None) -> None:
    with pytest.raises(EmptyAnswerError):
        parse_answer(content)


@pytest.mark.parametrize("content", [
    "I think it is Marfan syndrome.",
    '{"reasoning": "Marfan", "diagnoses": [{"id": "OMIM:154700"',
    '{"unrelated": 1}',
    "[1, 2, 3]",
])
def test_no_answer_shaped_json_is_invalid(content: str) -> None:
    with pytest.raises(InvalidAnswerError):
        parse_answer(content)


def test_json_naming_no_disease_is_empty() -> None:
    with pytest.raises(EmptyAnswerError):
        parse_answer('{"reasoning": "not sure", "diagnoses": [], "most_likely": [""]}')


def test_prose_and_think_blocks_before_the_json_are_reasoning() -> None:
    content = ('<think>Lens dislocation is key.</think>\nThe aorta is involved too.\n```json\n'
               '{"reasoning": "Both point to FBN1.", "diagnoses": [{"id": "OMIM:154700", "name": "Marfan syndrome"}]}\n```')
    parsed = parse_answer(content, reasoning_content="Server-side thoughts.")
    assert parsed.reasoning == ("Server-side thoughts.\n\nLens dislocation is key.\n\nThe aorta is involved too.\n\n"
                                "Both point to FBN1.")
    assert parsed.answer.diagnoses[0].id == "OMIM:154700"


def test_lenient_shapes_are_coerced() -> None:
    answer = LlmAnswer.model_validate({
        "differential": ["Marfan syndrome", {"disease": "Homocystinuria", "confidence": "high"},
                         {"disease_id": 154700, "confidence": "85%"}],
        "cannot_miss": "Vascular Ehlers-Danlos syndrome", "next_steps": [{"test": "echocardiogram"}],
    })
    assert [d.mention() for d in answer.diagnoses] == ["Marfan syndrome", "Homocystinuria", "154700"]
    assert [d.confidence for d in answer.diagnoses] == [None, 0.8, 0.85]
    assert answer.cant_miss == ["Vascular Ehlers-Danlos syndrome"] and answer.next_workup == ["echocardiogram"]
    assert answer.named() == ["Marfan syndrome", "Homocystinuria", "154700", "Vascular Ehlers-Danlos syndrome"]
    assert AnswerDiagnosis.model_validate({"name": "x", "confidence": 7}).confidence == 0.07


def test_raw_control_characters_inside_strings_are_accepted() -> None:
    # Seen from the local server under its JSON grammar (benchmarks/llm_e2e.py, case PMID_21487760_Patient_5).
    content = '{"reasoning": "x", "diagnoses": [{"id": "OMIM:612940", "name": "Cutis laxa"}], "next_workup": ["a\n\nb"]}'
    assert parse_answer(content).answer.next_workup == ["a\n\nb"]


def test_reasoning_stream_handles_escapes_split_across_deltas() -> None:
    text = 'Thinking first. {"reasoning": "a \\"quoted\\" line\\nand \\u00e9t\\u00e9", "diagnoses": []}'
    reader = ReasoningStream()
    out = "".join(reader.feed(text[i:i + 3]) for i in range(0, len(text), 3))
    assert out == 'Thinking first. a "quoted" line\nand été'


# --- R1-style reasoning (DeepSeek-R1 distills: RareSeek-R1) -------------------------------------------

FINAL = '{"reasoning": "FBN1 and lens dislocation.", "diagnoses": [{"id": "OMIM:154700", "name": "Marfan syndrome"}]}'
DRAFT = '{"diagnoses": [{"id": "OMIM:121050", "name": "Contractural arachnodactyly"}]}'


def test_think_block_with_a_json_draft_is_reasoning_not_the_answer() -> None:
    content = f"<think>\nFirst guess: {DRAFT}. But the lens is dislocated.\n</think>\n\n{FINAL}"
    parsed = parse_answer(content)
    assert [d.id for d in parsed.answer.diagnoses] == ["OMIM:154700"]
    assert parsed.reasoning is not None and parsed.reasoning.startswith("First guess: " + DRAFT)
    assert parsed.reasoning.endswith("FBN1 and lens dislocation.") and json.loads(parsed.json_text) == json.loads(FINAL)


def test_think_opened_by_the_chat_template_ends_in_the_content() -> None:
    # R1 templates end the prompt with "<think>\n": the content starts inside the block.
    content = f"The aorta and the lens, {DRAFT} is a draft.\n</think>\n\n```json\n{FINAL}\n```"
    parsed = parse_answer(content)
    assert [d.id for d in parsed.answer.diagnoses] == ["OMIM:154700"]
    assert parsed.reasoning is not None and "is a draft." in parsed.reasoning and "</think>" not in parsed.reasoning


def test_reasoning_content_from_a_reasoning_parser_comes_first() -> None:
    # vLLM --reasoning-parser deepseek_r1: the thoughts in reasoning_content, the content only the answer.
    parsed = parse_answer(FINAL, reasoning_content=f"Thinking… {DRAFT} no.")
    assert [d.id for d in parsed.answer.diagnoses] == ["OMIM:154700"]
    assert parsed.reasoning == f"Thinking… {DRAFT} no.\n\nFBN1 and lens dislocation."


def test_reasoning_without_an_answer_is_empty_and_says_so() -> None:
    with pytest.raises(EmptyAnswerError, match="reasoning only.*finish_reason=length"):
        parse_answer(None, reasoning_content="Still thinking about", finish_reason="length")
    with pytest.raises(EmptyAnswerError, match="only reasoning"):
        parse_answer("<think>Still thinking about the lens")
    with pytest.raises(InvalidAnswerError):  # the draft inside the thoughts is not an answer
        parse_answer(f"<think>{DRAFT}</think> I am not sure.")


@pytest.mark.parametrize("opened_in_prompt", [False, True])
def test_streamed_r1_reasoning_includes_the_thoughts_and_skips_the_draft_json_state(opened_in_prompt: bool) -> None:
    thoughts = f"Weighing {DRAFT} against Marfan."
    whole = ("" if opened_in_prompt else "<think>") + thoughts + "</think>\n" + FINAL
    reader = ReasoningStream()
    streamed = "".join(reader.feed(whole[i:i + 5]) for i in range(0, len(whole), 5))
    assert streamed.endswith("FBN1 and lens dislocation.")
    if not opened_in_prompt:
        assert streamed.strip() == thoughts + "\n" + "FBN1 and lens dislocation."


@given(thought=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80)
       .filter(lambda t: "think>" not in t.lower()),
       opened_in_prompt=st.booleans())
def test_any_thought_stays_out_of_the_answer(thought: str, opened_in_prompt: bool) -> None:
    content = ("" if opened_in_prompt else "<think>") + thought + DRAFT + "</think>" + FINAL
    parsed = parse_answer(content)
    assert [d.id for d in parsed.answer.diagnoses] == ["OMIM:154700"]
    assert parsed.reasoning is not None and DRAFT in parsed.reasoning
