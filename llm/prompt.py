"""The prompt, built only from a retrieval `DiagnosisResponse`, within a token budget.

What the model sees: the case as understood (present and excluded HPO terms, what the notes
yielded — uncertain, family, unlinked phrases — and the variants) and the top-K candidates with
their ids and evidence (matched terms with relation and frequency, contradictions, genes,
sources). Nothing else: no graph query happens here.

Token budget. Tokens are counted with the served model's tokenizer when the server exposes one
(`LlmClient.count_tokens`: vLLM and llama.cpp `/tokenize`, llama-cpp-python `/extras/tokenize/count`),
plus `TEMPLATE_OVERHEAD_TOKENS` per message for the chat template. Without a tokenizer the
count is `estimate_tokens`: UTF-8 bytes / 3, rounded up. BPE tokenizers average about 4 bytes per
token on English prose; HPO labels, CURIE digits and numbers tokenise denser, and bytes / 3
over-counts them (measured on these prompts with SmolLM2's tokenizer: 3.3 to 3.6 bytes per token), so the
estimate errs on the side of a shorter prompt. When a rendering is over budget the next, terser
one is tried: full evidence → no sources → matched labels only → ids and names, then fewer
candidates (halving K), until it fits.
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from raregraph.models import CandidateOut, DiagnosisResponse

__all__ = [
    "Prompt", "build_messages", "fit_prompt", "reasoning_words", "answer_schema", "REASONING_MAX_CHARS",
    "structured_output_options", "estimate_tokens",
    "TEMPLATE_OVERHEAD_TOKENS", "DETAIL_LEVELS",
]

TEMPLATE_OVERHEAD_TOKENS = 8  # role markers and separators a chat template adds per message
DETAIL_LEVELS = (0, 1, 2, 3)  # 0 full evidence … 3 ids and names only
_CASE_CAP = {0: 200, 1: 120, 2: 60, 3: 40}  # case terms listed per kind at each level
_MATCH_CAP = {0: 25, 1: 15, 2: 8, 3: 0}

Counter = Callable[[str], Awaitable[tuple[int, str] | None]]

SYSTEM = """You are a clinical geneticist helping with a rare-disease differential diagnosis.
You get the patient's findings as a knowledge-graph system understood them, and the candidate diseases it ranked, each with the evidence that links it to the findings.

Work in two steps.
1. Reason step by step in the "reasoning" field: which findings each leading candidate explains, which it contradicts (findings the patient does not have although the disease usually shows them), and what the genes and variants say.
2. Rank your diagnoses, most likely first. Refer to a candidate by its exact id from the list (for example "OMIM:154700"). A disease that is not in the list may be named by its name only, with "id" left empty; it will be checked against the knowledge graph and dropped if it does not exist. Never make up an id.

Then sort diseases into tiers: "most_likely", "possible_alternatives", "cant_miss" (serious or treatable conditions that must be excluded), and "next_workup" (tests or referrals that would settle it).
Answer with one JSON object only, with these keys:
{"reasoning": "...", "diagnoses": [{"id": "OMIM:...", "name": "...", "confidence": 0.0-1.0, "explains": ["finding", ...], "contradicts": ["finding", ...]}], "most_likely": ["id or name"], "possible_alternatives": ["id or name"], "cant_miss": ["id or name"], "next_workup": ["test"]}"""


@dataclass(frozen=True)
class Prompt:
    """Chat messages plus how they were fitted."""

    messages: list[dict[str, str]]
    candidate_ids: tuple[str, ...]  # candidates shown, in retrieval order
    tokens: int
    counted_by: str  # "estimate" or the server route that counted
    detail: int  # the DETAIL_LEVELS value used
    fits: bool  # False: even the tersest rendering is over budget (sent anyway)


def estimate_tokens(text: str) -> int:
    """Tokens of `text` without a tokenizer: UTF-8 bytes / 3, rounded up (errs high; see the module doc).

    >>> estimate_tokens("Arachnodactyly"), estimate_tokens("")
    (5, 0)
    """
    return math.ceil(len(text.encode("utf-8")) / 3)


def reasoning_words(answer_tokens: int) -> int:
    """Words of reasoning asked for: about 40 % of the completion budget at 0.75 words a token, so the JSON fits after it.

    >>> reasoning_words(1024), reasoning_words(300)
    (307, 90)
    """
    return max(30, int(answer_tokens * 0.4 * 0.75))


def build_messages(response: DiagnosisResponse, *, top_k: int, detail: int = 0,
                   answer_tokens: int | None = None) -> list[dict[str, str]]:
    """System + user messages for the first `top_k` candidates at one level of detail (0 = most).

    `answer_tokens` (the completion budget) bounds the reasoning asked for: the schema carries no
    length limits (see `answer_schema`), so the prompt does.
    """
    lines = ["## Patient", *_case_lines(response, detail), "", "## Candidates (ranked by the knowledge-graph system)"]
    candidates = response.candidates[:top_k]
    if not candidates:
        lines.append("(none)")
    labels = {t.id: t.label for t in [*response.case.present, *response.case.excluded]}
    for candidate in candidates:
        lines += _candidate_lines(candidate, detail, len(response.case.present), labels)
    bound = f" in at most {reasoning_words(answer_tokens)} words" if answer_tokens else ""
    lines += ["", f"Reason step by step{bound}, then answer with the JSON object."]
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "\n".join(lines)}]


async def fit_prompt(response: DiagnosisResponse, *, top_k: int, max_tokens: int, count: Counter | None = None,
                     answer_tokens: int | None = None) -> Prompt:
    """The most detailed rendering within `max_tokens`, counted by `count` (the server) or `estimate_tokens`.

    Cost: one tokenizer round-trip per rendering tried (renderings the estimate puts over twice
    the budget are skipped without one); at most 4 levels × log2(K) candidate counts.
    """
    plan: list[tuple[int, int]] = [(top_k, level) for level in DETAIL_LEVELS]
    k = top_k // 2
    while k >= 1:
        plan.append((k, DETAIL_LEVELS[-1]))
        k //= 2
    last: Prompt | None = None
    for k, level in plan:
        messages = build_messages(response, top_k=k, detail=level, answer_tokens=answer_tokens)
        text = "\n".join(m["content"] for m in messages)
        overhead = TEMPLATE_OVERHEAD_TOKENS * len(messages)
        estimate = estimate_tokens(text) + overhead
        counted: tuple[int, str] | None = None
        if count is not None and estimate <= 2 * max_tokens:
            counted = await count(text)
        tokens, how = (counted[0] + overhead, counted[1]) if counted else (estimate, "estimate")
        ids = tuple(c.disease_id for c in response.candidates[:k])
        last = Prompt(messages, ids, tokens, how, level, tokens <= max_tokens)
        if last.fits:
            return last
    assert last is not None
    return last


REASONING_MAX_CHARS = 480  # the deepest maxLength in the schema; see answer_schema


def answer_schema(candidate_ids: Sequence[str], *, max_tokens: int) -> dict[str, Any]:
    """JSON Schema of the answer for structured output; `id` is one of the shown ids or empty.

    Lengths are capped so a constrained decoder (a small model rambles) can finish within
    `max_tokens`, but no `maxLength` exceeds `REASONING_MAX_CHARS`: llama.cpp's grammar builder
    expands one into a nested optional per character, and the 1638 that 1024 completion tokens
    used to give made a grammar llama.cpp failed to parse, after which the server crashed (960
    parsed). The reasoning gets about 40 % of the tokens at 4 characters a token, within that cap
    (a longer chain of thought belongs in a `<think>` block or `reasoning_content`, which the
    schema does not constrain); one diagnosis is allowed per 150 tokens (1 to 5), each
    explaining or contradicting at most 3 findings of 80 characters.
    """
    reasoning_chars = int(min(REASONING_MAX_CHARS, max(200, max_tokens * 1.6)))
    max_diagnoses = min(5, max(1, max_tokens // 150))
    text_list = lambda n: {"type": "array", "items": {"type": "string", "maxLength": 80}, "maxItems": n}  # noqa: E731
    return {
        "type": "object",
        "properties": {
            "reasoning": {"type": "string", "maxLength": reasoning_chars},
            "diagnoses": {
                "type": "array", "minItems": 1, "maxItems": max_diagnoses,
                "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string", "enum": [*candidate_ids, ""]},
                        "name": {"type": "string", "maxLength": 160},
                        "confidence": {"type": "number"},
                        "explains": text_list(3),
                        "contradicts": text_list(3),
                    },
                    "required": ["id", "name", "confidence", "explains", "contradicts"],
                },
            },
            "most_likely": text_list(2),
            "possible_alternatives": text_list(3),
            "cant_miss": text_list(2),
            "next_workup": text_list(3),
        },
        "required": ["reasoning", "diagnoses", "most_likely", "possible_alternatives", "cant_miss", "next_workup"],
    }


def structured_output_options(mode: str, schema: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(response_format, extra_body) for a structured-output mode: json_schema | json_object | guided_json | json | none.

    json_schema is the OpenAI form (vLLM, llama.cpp's llama-server); json_object with a `schema`
    is what llama-cpp-python's server takes (llama-server too); guided_json is vLLM's own request field.
    json is the lighter fallback: any JSON object, no schema (the server's generic JSON grammar).
    """
    if mode == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": "differential", "schema": schema, "strict": True}}, None
    if mode == "json_object":
        return {"type": "json_object", "schema": schema}, None
    if mode == "json":
        return {"type": "json_object"}, None
    if mode == "guided_json":
        return None, {"guided_json": schema}
    return None, None


# --- rendering ---------------------------------------------------------------------------------


def _terms(items: Sequence[Any], cap: int) -> str:
    shown = [f"{t.id} {t.label}" for t in items[:cap]]
    more = len(items) - len(shown)
    return "; ".join(shown) + (f"; … and {more} more" if more > 0 else "")


def _case_lines(response: DiagnosisResponse, detail: int) -> list[str]:
    case = response.case
    cap = _CASE_CAP[detail]
    lines = [f"Present findings (HPO): {_terms(case.present, cap) or 'none'}"]
    lines.append(f"Excluded findings (observed absent): {_terms(case.excluded, cap) or 'none'}")
    text = getattr(case, "text", None)
    if text is not None:
        if getattr(text, "uncertain", None):
            lines.append("Uncertain in the notes (not scored): " + "; ".join(text.uncertain[:cap]))
        if getattr(text, "family", None):
            lines.append("Family history (not the patient): " + "; ".join(text.family[:cap]))
        unlinked = [m.text for m in getattr(text, "unlinked", [])]
        if unlinked and detail <= 1:
            lines.append("Phrases in the notes not linked to HPO: " + "; ".join(json.dumps(u) for u in unlinked[:cap]))
    variants = []
    for v in case.variants:
        zygosity = f", {v.zygosity}" if v.zygosity and v.zygosity != "unknown" else ""
        where = v.symbol or v.gene_id or f"variant {v.index + 1}"
        variants.append(f"{where}{zygosity}" + ("" if v.resolved else " (gene not linked to any disease)"))
    lines.append("Variants: " + ("; ".join(variants) if variants else "none"))
    return lines


_KIND = {"excluded_but_annotated": "absent in the patient, annotated", "present_but_negated": "present, disease says not"}


def _percent(frequency: float | None) -> str:
    return f"{round(frequency * 100)}%" if frequency is not None else "freq. n/a"


def _candidate_lines(c: CandidateOut, detail: int, n_present: int, labels: dict[str, str]) -> list[str]:
    same = f" (same as {', '.join(c.equivalent_ids)})" if c.equivalent_ids else ""
    probability = f"p={c.probability:.3f}, " if c.probability is not None else ""
    lines = [f"{c.rank}. {c.disease_id} {c.name}{same} [{probability}score {c.score:.2f}]"]
    e = c.evidence
    if e is None or detail >= 3:
        return lines
    cap = _MATCH_CAP[detail]
    if detail <= 1:
        matched = [
            f"{m.case_label}" + ("" if m.relation == "exact" else f" ~ {m.disease_label} ({m.relation.replace('_', ' ')})")
            + f" {_percent(m.frequency)}"
            for m in e.matched[:cap]
        ]
    else:
        matched = [m.case_label for m in e.matched[:cap]]
    more = len(e.matched) - len(matched)
    lines.append(f"   explains {len(e.matched)}/{n_present}: " + ("; ".join(matched) or "none")
                 + (f"; … and {more} more" if more > 0 else ""))
    if e.contradicted:
        if detail <= 1:
            lines.append("   contradicted: " + "; ".join(
                f"{labels.get(x.case_term, x.case_term)} ({_KIND.get(x.kind, x.kind)}, {_percent(x.frequency)})"
                for x in e.contradicted[:cap]))
        else:
            lines.append(f"   contradicted: {len(e.contradicted)} finding(s)")
    if e.twin is not None and detail <= 1:
        lines.append(f"   also described as {e.twin.disease_id} {e.twin.name} (shares {', '.join(e.twin.shared_genes)};"
                     f" {round(e.twin.share * 100)}% of the phenotype evidence): explains {len(e.twin.matched)}/{n_present}")
    if e.genes:
        lines.append("   genes with a case variant: " + ", ".join(
            g.symbol + (f" ({'/'.join(z for z in g.zygosities if z)})" if any(g.zygosities) else "") for g in e.genes))
    if detail == 0:
        sources = sorted({f"{m.provenance.source} {m.provenance.release}" for m in e.matched
                          if m.provenance and m.provenance.source})
        refs = sorted({r for m in e.matched if m.provenance for r in m.provenance.references})
        if sources:
            lines.append("   sources: " + ", ".join(sources) + (f"; refs {', '.join(refs[:3])}" if refs else ""))
    return lines
