"""Parse the model's answer: the chain of thought apart from the structured answer, then validate it.

Reasoning can arrive three ways, and all are collected (in this order) into one text:
`reasoning_content` (servers with a reasoning parser, e.g. vLLM's `--reasoning-parser deepseek_r1`),
`<think>…</think>` blocks or prose written before the JSON, and the answer's own `reasoning` field
(the schema puts it first, so a constrained decoder writes it before the diagnoses). R1-style
models (DeepSeek-R1 distills such as RareSeek-R1) think first; their chat template opens the
`<think>` block in the prompt, so the content may hold only its end: text before a `</think>` with
no `<think>` before it is reasoning too. Thinking is removed before the answer is looked for, so
a JSON draft written while thinking is never the answer that is re-grounded. The structured
answer is the first JSON object in the rest that validates as `LlmAnswer` (code fences allowed).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from pydantic import ValidationError

from raregraph.errors import LlmOutputError
from raregraph.llm.models import LlmAnswer

__all__ = ["ParsedAnswer", "EmptyAnswerError", "InvalidAnswerError", "parse_answer", "split_thinking", "ReasoningStream"]

_THINK = re.compile(r"<think>(.*?)(?:</think>|$)", re.DOTALL | re.IGNORECASE)
_OPENED_IN_PROMPT = re.compile(r"^((?:(?!<think>).)*?)</think>", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)
_ANSWER_KEYS = frozenset({"diagnoses", "most_likely", "possible_alternatives", "cant_miss", "next_workup", "reasoning",
                          "differential", "ranked_diagnoses", "diagnosis"})


class EmptyAnswerError(LlmOutputError):
    """The model answered nothing, or an answer that names no disease."""


class InvalidAnswerError(LlmOutputError):
    """The answer holds no JSON object of the asked shape (malformed, cut off, or another shape)."""


@dataclass(frozen=True)
class ParsedAnswer:
    answer: LlmAnswer
    reasoning: str | None
    json_text: str


def parse_answer(content: str | None, reasoning_content: str | None = None, finish_reason: str | None = None) -> ParsedAnswer:
    """The validated answer and the reasoning around it.

    Raises:
        EmptyAnswerError: blank content, or valid JSON that names no disease.
        InvalidAnswerError: no JSON object that validates (the message says if the answer was cut off).
    """
    text = (content or "").strip()
    if not text:
        thought = " after reasoning only (reasoning_content)" if reasoning_content and reasoning_content.strip() else ""
        raise EmptyAnswerError(f"the model returned an empty answer{thought}" + _cut_note(finish_reason))
    thoughts, text = split_thinking(text)
    if not text:
        raise EmptyAnswerError("the model wrote only reasoning, no answer" + _cut_note(finish_reason))
    found = _first_answer(text)
    if found is None:
        raise InvalidAnswerError("no JSON object of the asked shape in the answer" + _cut_note(finish_reason))
    answer, start, end = found
    before = _FENCE_MARK.sub("", text[:start]).strip()
    parts = [reasoning_content.strip() if reasoning_content else "", *thoughts, before, (answer.reasoning or "").strip()]
    reasoning = "\n\n".join(p for p in parts if p) or None
    if answer.is_empty():
        raise EmptyAnswerError("the answer names no disease")
    return ParsedAnswer(answer, reasoning, text[start:end])


_FENCE_MARK = re.compile(r"```(?:json|JSON)?")


def split_thinking(text: str) -> tuple[list[str], str]:
    """(thoughts, the rest): `<think>` blocks, and text before a `</think>` whose `<think>` was in the prompt.

    >>> split_thinking("draft {\"a\": 1}</think>{\"b\": 2}")
    (['draft {"a": 1}'], '{"b": 2}')
    """
    thoughts: list[str] = []
    opened = _OPENED_IN_PROMPT.match(text)
    if opened:
        thoughts.append(opened.group(1).strip())
        text = text[opened.end():]
    thoughts += [m.group(1).strip() for m in _THINK.finditer(text)]
    return [t for t in thoughts if t], _THINK.sub("", text).strip()


def _cut_note(finish_reason: str | None) -> str:
    return " (cut off: finish_reason=length, raise RAREGRAPH_LLM_MAX_TOKENS)" if finish_reason == "length" else ""


def _first_answer(text: str) -> tuple[LlmAnswer, int, int] | None:
    """The first JSON object with answer keys in `text` that validates, with its span.

    A list counts (as the diagnoses) only when it is the whole answer: a list inside a cut-off
    object is a fragment, not an answer.
    """
    decoder = json.JSONDecoder(strict=False)  # raw newlines inside strings: llama.cpp's JSON grammar lets them through
    starts = [m.start(1) for m in _FENCE.finditer(text)] + [i for i, ch in enumerate(text) if ch in "{["]
    seen: set[int] = set()
    for start in starts:
        if start in seen:
            continue
        seen.add(start)
        while start < len(text) and text[start].isspace():
            start += 1
        if start >= len(text) or text[start] not in "{[":
            continue
        try:
            value, end = decoder.raw_decode(text, start)
        except ValueError:
            continue
        if isinstance(value, list):
            if text[:start].strip() or text[end:].strip():
                continue
            value = {"diagnoses": value}
        if not isinstance(value, dict) or not (_ANSWER_KEYS & set(value)):
            continue
        try:
            return LlmAnswer.model_validate(value), start, end
        except ValidationError:
            continue
    return None


class ReasoningStream:
    """Pulls reasoning text out of a streamed answer, delta by delta, for server-sent events.

    Emits prose before the JSON (minus code-fence marks and `<think>` tags), everything inside a
    `<think>` block (braces included: R1 models draft JSON while thinking), and the decoded value
    of the JSON's `"reasoning"` string as it is written; emits nothing once that string closes.
    A `</think>` seen after what looked like JSON means it was thinking (the template opened the
    block in the prompt): reading starts over after it. Cost: linear in the answer length.
    """

    _KEY = re.compile(r'"reasoning"\s*:\s*"')

    def __init__(self) -> None:
        self._buffer = ""
        self._state = "prose"  # prose ⇄ think; prose → json → string → done
        self._pos = 0  # next unread index in _buffer

    def feed(self, delta: str) -> str:
        """New reasoning text made visible by `delta` (possibly empty)."""
        self._buffer += delta
        out: list[str] = []
        if self._state != "think":
            closed = self._buffer.lower().find("</think>", self._pos)
            if closed >= 0 and self._state != "prose":
                self._state, self._pos = "prose", closed + len("</think>")
        while True:
            if self._state == "think":
                end = self._buffer.lower().find("</think>", self._pos)
                keep = end if end >= 0 else max(self._pos, len(self._buffer) - 10)  # a split closing tag
                out.append(self._buffer[self._pos:keep])
                self._pos = keep
                if end < 0:
                    break
                self._pos, self._state = end + len("</think>"), "prose"
            elif self._state == "prose":
                opened = self._buffer.lower().find("<think>", self._pos)
                brace = self._buffer.find("{", self._pos)
                if opened >= 0 and (brace < 0 or opened < brace):
                    out.append(re.sub(r"```(?:json|JSON)?|</think>", "", self._buffer[self._pos:opened]))
                    self._pos, self._state = opened + len("<think>"), "think"
                    continue
                brace = self._buffer.find("{", self._pos)
                stop = brace if brace >= 0 else len(self._buffer)
                keep = stop if brace >= 0 else max(self._pos, stop - 10)  # a tag or fence may be split across deltas
                piece = self._buffer[self._pos:keep]
                out.append(re.sub(r"```(?:json|JSON)?|</?think>", "", piece))
                self._pos = keep
                if brace < 0:
                    break
                self._state = "json"
            elif self._state == "json":
                match = self._KEY.search(self._buffer, self._pos)
                if match is None:
                    break
                self._pos = match.end()
                self._state = "string"
            elif self._state == "string":
                decoded, consumed, closed = _decode_partial(self._buffer, self._pos)
                out.append(decoded)
                self._pos = consumed
                if closed:
                    self._state = "done"
                break
            else:
                break
        return "".join(out)


_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def _decode_partial(text: str, pos: int) -> tuple[str, int, bool]:
    """Decode a JSON string body from `pos`: (text so far, next index, closed?). Stops before an incomplete escape."""
    out: list[str] = []
    i = pos
    while i < len(text):
        ch = text[i]
        if ch == '"':
            return "".join(out), i + 1, True
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        if i + 1 >= len(text):
            break
        code = text[i + 1]
        if code == "u":
            if i + 6 > len(text):
                break
            try:
                out.append(chr(int(text[i + 2:i + 6], 16)))
            except ValueError:
                out.append(text[i:i + 6])
            i += 6
        else:
            out.append(_ESCAPES.get(code, code))
            i += 2
    return "".join(out), i, False
