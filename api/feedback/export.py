"""`raregraph feedback export`: the store as training data (sft, preference) or an arena table.

sft: one JSONL line per confirmed case, `{"messages": [system, user, assistant]}` (the OpenAI /
vLLM chat fine-tuning format). System and user are the grounded prompt exactly as `llm/prompt.py`
builds it from the recorded differential (`fit_prompt` within RAREGRAPH_LLM_TOP_K and
RAREGRAPH_LLM_MAX_PROMPT_TOKENS, counted by its estimate); the assistant turn is the structured
answer with the confirmed diagnosis first (`answers.py`).

preference: `{"prompt": [system, user], "chosen": [assistant], "rejected": [assistant]}` lines
(TRL's conversational DPO format): a confirmed case the system did not rank first (chosen: the
confirmed answer, rejected: the system's), and every A/B preference between two answers to the
same case (ties skipped).

The file is written to a temporary name and renamed, so an interrupted export leaves no half
file (a killed one's temporary file is removed by the next export to the same path); the export
is then entered in the audit table.
"""

from __future__ import annotations

import asyncio
import glob
import json
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from raregraph.api.feedback.answers import Lead, structured_answer
from raregraph.api.feedback.arena import arena_table
from raregraph.api.feedback.store import FeedbackStore, StoredFeedback, StoredResponse
from raregraph.llm.prompt import Prompt, answer_schema, fit_prompt
from raregraph.models import DiagnosisResponse
from raregraph.settings import Settings
from raregraph.staging import remove_orphans, staging_path

__all__ = ["ExportSummary", "export_feedback", "confirmed_cases", "sft_rows", "preference_rows"]



@dataclass
class ExportSummary:
    format: str
    path: Path
    rows: int = 0
    skipped: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class _Shape:
    """What the prompt and answer schema are sized by (the LLM settings of the serving deployment)."""

    top_k: int
    max_prompt_tokens: int
    max_diagnoses: int
    reasoning_chars: int

    @classmethod
    def of(cls, settings: Settings) -> "_Shape":
        schema = answer_schema([], max_tokens=settings.llm_max_tokens)
        return cls(settings.llm_top_k, settings.llm_max_prompt_tokens,
                   schema["properties"]["diagnoses"]["maxItems"], schema["properties"]["reasoning"]["maxLength"])


def confirmed_cases(verdicts: Iterable[StoredFeedback]) -> list[StoredFeedback]:
    """One confirmed verdict per response (the latest), withdrawn ones left out, oldest response first."""
    latest: dict[str, StoredFeedback] = {}
    for v in verdicts:
        if v.confirmed_disease_id is not None and not v.withdrawn:
            latest[v.response_id] = v
    return sorted(latest.values(), key=lambda v: v.id)


def _prompt(response: DiagnosisResponse, shape: _Shape) -> Prompt:
    return asyncio.run(fit_prompt(response, top_k=shape.top_k, max_tokens=shape.max_prompt_tokens))


def _answer(response: DiagnosisResponse, prompt: Prompt, lead: Lead, stored: StoredResponse, shape: _Shape) -> str:
    answer = structured_answer(response, prompt.candidate_ids, lead, max_diagnoses=shape.max_diagnoses,
                               reasoning_chars=shape.reasoning_chars, llm=stored.llm)
    return json.dumps(answer, ensure_ascii=False)


def _system_lead(stored: StoredResponse, response: DiagnosisResponse) -> Lead | None:
    """The disease the system put first in the answer it showed."""
    if not stored.ranking:
        return None
    first = stored.ranking[0]
    names = {c.disease_id: c.name for c in response.candidates}
    return Lead(first, names.get(first, first), confirmed=False)


def sft_rows(store: FeedbackStore, settings: Settings, summary: ExportSummary) -> Iterator[dict[str, Any]]:
    """One chat example per confirmed case."""
    shape = _Shape.of(settings)
    cases = confirmed_cases(store.feedback())
    responses = store.responses([c.response_id for c in cases])
    for verdict in cases:
        stored = responses[verdict.response_id]
        response = DiagnosisResponse.model_validate(stored.retrieval)
        prompt = _prompt(response, shape)
        lead = Lead(verdict.confirmed_disease_id or "", verdict.confirmed_name or "", confirmed=True)
        yield {"messages": [*prompt.messages,
                            {"role": "assistant", "content": _answer(response, prompt, lead, stored, shape)}]}


def preference_rows(store: FeedbackStore, settings: Settings, summary: ExportSummary) -> Iterator[dict[str, Any]]:
    """Chosen/rejected pairs from confirmed cases and from A/B preferences."""
    shape = _Shape.of(settings)
    verdicts = store.feedback()
    cases = confirmed_cases(verdicts)
    pairs = [v for v in verdicts if v.preferred is not None and v.other_response_id is not None]
    responses = store.responses([v.response_id for v in [*cases, *pairs]]
                                + [v.other_response_id for v in pairs if v.other_response_id])
    for verdict in cases:
        stored = responses[verdict.response_id]
        response = DiagnosisResponse.model_validate(stored.retrieval)
        system = _system_lead(stored, response)
        confirmed = verdict.confirmed_disease_id or ""
        if system is None or system.disease_id == confirmed or confirmed in _equivalents(response, system.disease_id):
            summary.skipped["confirmed case the system already ranked first"] += 1
            continue
        prompt = _prompt(response, shape)
        lead = Lead(confirmed, verdict.confirmed_name or confirmed, confirmed=True)
        yield _pair(prompt, _answer(response, prompt, lead, stored, shape),
                    _answer(response, prompt, system, stored, shape))
    for verdict in pairs:
        if verdict.preferred == "tie":
            summary.skipped["A/B tie"] += 1
            continue
        a, b = responses[verdict.response_id], responses[verdict.other_response_id or ""]
        if a.case != b.case:
            summary.skipped["A/B answers to different cases"] += 1
            continue
        response = DiagnosisResponse.model_validate(a.retrieval)
        prompt = _prompt(response, shape)
        answers = {}
        for key, stored in (("A", a), ("B", b)):
            own = DiagnosisResponse.model_validate(stored.retrieval)
            lead = _system_lead(stored, own)
            answers[key] = _answer(own, prompt, lead, stored, shape) if lead else None
        if answers["A"] is None or answers["B"] is None:
            summary.skipped["A/B answer with an empty ranking"] += 1
            continue
        chosen, rejected = ("A", "B") if verdict.preferred == "A" else ("B", "A")
        yield _pair(prompt, answers[chosen], answers[rejected])


def _equivalents(response: DiagnosisResponse, disease_id: str) -> list[str]:
    return next((c.equivalent_ids for c in response.candidates if c.disease_id == disease_id), [])


def _pair(prompt: Prompt, chosen: str, rejected: str) -> dict[str, Any]:
    return {"prompt": prompt.messages, "chosen": [{"role": "assistant", "content": chosen}],
            "rejected": [{"role": "assistant", "content": rejected}]}


def export_feedback(store: FeedbackStore, settings: Settings, fmt: str, out: Path, *,
                    actor: str) -> ExportSummary:
    """Write one export to `out` (atomically) and audit it."""
    summary = ExportSummary(fmt, out)
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_orphans(out.parent, glob.escape(out.name))  # what killed exports to `out` left
    handle = staging_path(out.parent, out.name).open("w", encoding="utf-8")
    try:
        with handle:
            if fmt == "arena":
                table = arena_table(store.feedback(), store)
                summary.rows = len(table["models"])
                json.dump(table, handle, indent=2)
                handle.write("\n")
            else:
                rows = sft_rows if fmt == "sft" else preference_rows
                for row in rows(store, settings, summary):
                    handle.write(json.dumps(row, ensure_ascii=False) + "\n")
                    summary.rows += 1
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, out)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
    store.audit(actor=actor, action=f"export.{fmt}", target=str(out),
                detail={"rows": summary.rows, "skipped": dict(summary.skipped)})
    return summary
