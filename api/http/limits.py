"""Request-size limits of the diagnose routes, as validation errors naming the limit and its setting."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi.exceptions import RequestValidationError

from raregraph.api.http.schemas import DiagnoseRequest
from raregraph.settings import Settings

__all__ = ["case_limit_errors", "options_errors", "check_case", "check_batch"]


def case_limit_errors(case: DiagnoseRequest, settings: Settings, loc: tuple[str | int, ...]) -> list[dict[str, Any]]:
    """Request-size limits of one case, as validation errors naming the limit and its setting."""
    errors: list[dict[str, Any]] = []

    def over(field: str, message: str, value: Any) -> None:
        errors.append({"type": "too_long", "loc": (*loc, field), "msg": message, "input": value})

    terms = len(case.hpo_present) + len(case.hpo_excluded)
    if terms > settings.max_terms_per_case:
        field = "hpo_present" if len(case.hpo_present) >= len(case.hpo_excluded) else "hpo_excluded"
        over(field, f"{terms} HPO terms (present + excluded), over the limit of {settings.max_terms_per_case} "
                    "per case (RAREGRAPH_MAX_TERMS_PER_CASE)", terms)
    if len(case.variants) > settings.api_max_variants_per_case:
        over("variants", f"{len(case.variants)} variants, over the limit of {settings.api_max_variants_per_case} "
                         "per case (RAREGRAPH_API_MAX_VARIANTS_PER_CASE)", len(case.variants))
    if case.text is not None and len(case.text) > settings.api_max_text_chars:
        over("text", f"{len(case.text)} characters of text, over the limit of {settings.api_max_text_chars} "
                     "(RAREGRAPH_API_MAX_TEXT_CHARS)", len(case.text))
    if case.phenopacket is not None and (case.text or case.hpo_present or case.hpo_excluded or case.variants):
        errors.append({"type": "value_error", "loc": (*loc, "phenopacket"), "input": None,
                       "msg": "give either a phenopacket or the case fields (text, hpo_present, hpo_excluded, variants)"})
    return errors


def options_errors(top: int, evidence: bool, settings: Settings) -> list[dict[str, Any]]:
    """Evidence costs graph reads: it is attached to at most `api_max_evidence_candidates` candidates."""
    if evidence and top > settings.api_max_evidence_candidates:
        return [{"type": "less_than_equal", "loc": ("query", "top"), "input": top,
                 "msg": f"top={top} with evidence: at most {settings.api_max_evidence_candidates} candidates carry "
                        "evidence (RAREGRAPH_API_MAX_EVIDENCE_CANDIDATES); ask evidence=false or a smaller top"}]
    return []


def check_case(case: DiagnoseRequest, settings: Settings, top: int, evidence: bool) -> None:
    """422 for a case or options over the limits."""
    errors = options_errors(top, evidence, settings) + case_limit_errors(case, settings, ("body",))
    if errors:
        raise RequestValidationError(errors)


def check_batch(cases: Sequence[DiagnoseRequest], settings: Settings, top: int, evidence: bool) -> None:
    """422 for a batch over the case limit, or any of its cases over theirs."""
    errors = options_errors(top, evidence, settings)
    if len(cases) > settings.api_batch_max_cases:
        errors.append({"type": "too_long", "loc": ("body", "cases"), "input": len(cases),
                       "msg": f"{len(cases)} cases, over the limit of {settings.api_batch_max_cases} per batch "
                              "(RAREGRAPH_API_BATCH_MAX_CASES)"})
    for i, case in enumerate(cases):
        errors += case_limit_errors(case, settings, ("body", "cases", i))
    if errors:
        raise RequestValidationError(errors)
