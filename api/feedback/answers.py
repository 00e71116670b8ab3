"""Training targets: the structured answer `llm/prompt.py` asks for, written from a stored differential.

A target puts one disease first (the clinician's confirmed diagnosis, or the answer as the system
gave it) and reasons from the evidence the scorer attached to the candidates: which findings each
explains and contradicts, and the genes carrying a case variant. It follows `answer_schema` for
the candidates the prompt showed: ids copied from that list, a disease outside it named with an
empty id, the same length limits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from raregraph.models import CandidateOut, DiagnosisResponse

__all__ = ["Lead", "structured_answer"]

_TEXT = 80  # maxLength of a finding in answer_schema
_NAME = 160
_TIER_CAPS = {"most_likely": 2, "possible_alternatives": 3, "cant_miss": 2, "next_workup": 3}


@dataclass(frozen=True)
class Lead:
    """The disease an answer puts first: a graph id and its name; `confirmed` when a clinician said so."""

    disease_id: str
    name: str
    confirmed: bool


def _find(candidates: Sequence[CandidateOut], disease_id: str) -> CandidateOut | None:
    return next((c for c in candidates if c.disease_id == disease_id or disease_id in c.equivalent_ids), None)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _fit_reasoning(lines: Sequence[str], verdict: str, limit: int) -> str:
    """The lines that fit before the verdict, which always ends the text: the schema's length cap
    (llm/prompt.py) must cut alternatives, never the diagnosis the answer is trained to give."""
    budget = limit - len(verdict) - 1
    kept: list[str] = []
    for line in lines:
        if len(" ".join([*kept, line])) <= budget:
            kept.append(line)
        elif not kept and budget > 1:
            kept.append(_clip(line, budget))  # the lead's own sentence, shortened
            break
        else:
            break
    return _clip(" ".join([*kept, verdict]), limit)


def _explains(c: CandidateOut) -> list[str]:
    return [_clip(m.case_label, _TEXT) for m in (c.evidence.matched if c.evidence else [])[:3]]


def _contradicts(c: CandidateOut, labels: dict[str, str]) -> list[str]:
    found = c.evidence.contradicted if c.evidence else []
    return [_clip(labels.get(x.case_term, x.case_term), _TEXT) for x in found[:3]]


def _sentence(c: CandidateOut, n_present: int, labels: dict[str, str]) -> str:
    e = c.evidence
    if e is None:
        return f"{c.name} ({c.disease_id}) is ranked {c.rank} by the knowledge graph."
    parts = [f"{c.name} ({c.disease_id}) explains {len(e.matched)} of {n_present} findings"
             + (f" ({', '.join(m.case_label for m in e.matched[:6])})" if e.matched else "")]
    if e.contradicted:
        parts.append("is argued against by " + ", ".join(labels.get(x.case_term, x.case_term) for x in e.contradicted[:4]))
    if e.genes:
        parts.append("carries a case variant in " + ", ".join(g.symbol for g in e.genes))
    return "; ".join(parts) + "."


def structured_answer(response: DiagnosisResponse, shown: Sequence[str], lead: Lead, *, max_diagnoses: int,
                      reasoning_chars: int, llm: dict[str, Any] | None = None) -> dict[str, Any]:
    """The answer object (reasoning, diagnoses, four tiers) with `lead` first, for a prompt showing `shown`.

    `llm` is the stored LLM report: its can't-miss and work-up tiers are kept when it ran (the
    clinician's verdict says nothing about them). Cost: linear in the shown candidates.
    """
    shown_set = set(shown)
    candidates = [c for c in response.candidates if c.disease_id in shown_set]
    labels = {t.id: t.label for t in [*response.case.present, *response.case.excluded]}
    n_present = len(response.case.present)
    hit = _find(candidates, lead.disease_id)
    others = [c for c in candidates if c is not hit][: max(max_diagnoses - 1, 0)]

    lines = []
    if hit is not None:
        lines.append(_sentence(hit, n_present, labels))
    else:
        lines.append(f"None of the ranked candidates fits as well as {lead.name}, which the list does not hold.")
    for c in others[:3]:
        lines.append("Alternative: " + _sentence(c, n_present, labels))
    verdict = "The confirmed diagnosis is" if lead.confirmed else "Most likely:"
    reasoning = _fit_reasoning(lines, f"{verdict} {lead.name}.", reasoning_chars)

    lead_ref = hit.disease_id if hit is not None else ""
    first = {"id": lead_ref, "name": _clip(lead.name, _NAME), "confidence": 1.0 if lead.confirmed else 0.6,
             "explains": _explains(hit) if hit else [], "contradicts": _contradicts(hit, labels) if hit else []}
    diagnoses = [first] + [
        {"id": c.disease_id, "name": _clip(c.name, _NAME), "confidence": round(float(c.probability or 0.0), 4),
         "explains": _explains(c), "contradicts": _contradicts(c, labels)}
        for c in others
    ]
    tiers = (llm or {}).get("tiers") or {}
    lead_keys = {lead.disease_id, lead_ref}
    cant_miss = [t["disease_id"] for t in tiers.get("cant_miss", []) if t.get("disease_id") in shown_set - lead_keys]
    return {
        "reasoning": reasoning,
        "diagnoses": diagnoses,
        "most_likely": [lead_ref or _clip(lead.name, _TEXT)],
        "possible_alternatives": [c.disease_id for c in others][: _TIER_CAPS["possible_alternatives"]],
        "cant_miss": cant_miss[: _TIER_CAPS["cant_miss"]],
        "next_workup": [_clip(str(w), _TEXT) for w in tiers.get("next_workup", [])][: _TIER_CAPS["next_workup"]],
    }
