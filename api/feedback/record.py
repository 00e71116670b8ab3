"""Give a diagnose answer its `response_id` and keep what feedback and exports need of it.

Kept: the case as HPO ids (given and as understood), variants as given, sex and age; the case's
free text only with RAREGRAPH_FEEDBACK_STORE_TEXT=true (otherwise the text's linked and unlinked
phrases are dropped from the stored differential too, keeping the ids they yielded); the
retrieval differential the prompt is built from; the LLM step's report; the ranking shown.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from typing import Any

from pydantic_core import to_json

from raregraph.api.feedback.store import EncodedJson, FeedbackStore, new_response_id
from raregraph.errors import StoreUnavailableError
from raregraph.models import CaseRequest, DiagnosisResponse

__all__ = ["record_response", "record_response_json", "NOT_RECORDED_WARNING"]

log = logging.getLogger("raregraph.api.feedback")
NOT_RECORDED_WARNING = "feedback store unavailable: this answer has no response_id and cannot be cited by feedback"
_CASE_FIELDS = ("id", "hpo_present", "hpo_excluded", "sex", "age")
# the differential only (a pipeline result also carries `llm` and `ranking`, kept in their own columns)
_DIFFERENTIAL = set(DiagnosisResponse.model_fields) - {"response_id"}


def record_response(store: FeedbackStore | None, case: CaseRequest, response: DiagnosisResponse, *,
                    client: str | None = None, store_text: bool = False, llm: Any | None = None,
                    ranking: Sequence[str] | None = None) -> DiagnosisResponse:
    """`response` with a fresh `response_id` once queued for the store; unchanged but warned when the store is down.

    `llm` is the LLM step's report (an `LlmReport`; None or status off: the step did not run) and
    `ranking` the disease ids in the order shown (default: the retrieval order). Never raises for
    the store: diagnosis keeps working when the feedback database does not.
    """
    return _record(store, case, response, None, client=client, store_text=store_text, llm=llm, ranking=ranking)


def record_response_json(store: FeedbackStore | None, case: CaseRequest, response: DiagnosisResponse, *,
                         client: str | None = None, store_text: bool = False, llm: Any | None = None,
                         ranking: Sequence[str] | None = None) -> bytes:
    """`record_response`, and the recorded answer's JSON (`model_dump_json`), the differential encoded once for both.

    An answer with evidence is ~50 kB of JSON: encoding it a second time for the store cost ~0.4 ms of CPU an answer.
    """
    if store is None:  # recording off (RAREGRAPH_FEEDBACK_ENABLED=false): the answer as it is
        return response.model_dump_json().encode()
    differential = EncodedJson(response.model_dump_json(include=_DIFFERENTIAL))
    stored = differential if response.case.text is None or store_text else None  # else the text is dropped first
    recorded = _record(store, case, response, stored, client=client, store_text=store_text, llm=llm, ranking=ranking)
    fields = list(type(recorded).model_fields)
    if recorded.warnings != response.warnings or set(fields[:len(_DIFFERENTIAL)]) != _DIFFERENTIAL:
        return recorded.model_dump_json().encode()  # the differential changed, or its fields do not come first
    rest = recorded.model_dump_json(exclude=_DIFFERENTIAL)  # '{"response_id":…, …}': never empty
    return f"{differential[:-1]},{rest[1:]}".encode()


def _record(store: FeedbackStore | None, case: CaseRequest, response: DiagnosisResponse, stored: EncodedJson | None, *,
            client: str | None, store_text: bool, llm: Any | None, ranking: Sequence[str] | None) -> DiagnosisResponse:
    """`record_response`; `stored`: the differential as the store keeps it, already encoded (None: encode it)."""
    if store is None:
        return response
    response_id = new_response_id()
    report = llm.model_dump(mode="json", exclude_none=True) if llm is not None else None
    ran = report is not None and report.get("status") not in (None, "off", "unavailable")
    row = {"client": client, "snapshot_id": response.snapshot_id, "method": response.method,
           "model": report.get("model") if ran and report else None,
           "llm_status": report.get("status") if report else None, "llm": report if ran else None,
           "ranking": list(ranking) if ranking is not None else [c.disease_id for c in response.candidates]}
    # What waits in the writer's queue holds no answer models when the differential is already encoded: an
    # answer with evidence is ~4,500 objects, and those of the answers lingering for the writer (~0.25 s) were
    # walked by every garbage collection and made full ones come twice as often (~1 ms of CPU an answer).
    retrieval = stored if stored is not None else functools.partial(_retrieval_record, response, store_text)
    try:
        store.record_response(response_id, functools.partial(_row, row, case, store_text, retrieval))
    except StoreUnavailableError as err:
        log.warning("answer not recorded", extra={"reason": str(err)})
        return response.model_copy(update={"warnings": [*response.warnings, NOT_RECORDED_WARNING]})
    return response.model_copy(update={"response_id": response_id})


def _row(row: dict[str, Any], case: CaseRequest, store_text: bool,
         retrieval: EncodedJson | Callable[[], EncodedJson]) -> dict[str, Any]:
    """The answer's row, built on the writer thread: the case and (unless given encoded) the differential encoded."""
    encoded = retrieval if isinstance(retrieval, EncodedJson) else retrieval()
    return {**row, "case": _case_record(case, store_text), "retrieval": encoded}


def _case_record(case: CaseRequest, store_text: bool) -> EncodedJson:
    """The case's column, encoded: its fields as given (None kept), each variant without its unset fields."""
    record: dict[str, Any] = {name: getattr(case, name) for name in _CASE_FIELDS}
    record["variants"] = case.variants  # models: `exclude_none` drops their None fields, not the dict's
    if store_text and case.text is not None:
        record["text"] = case.text
    # pydantic's encoder: a third of the writer thread's CPU per answer went to dumping the variants and json.dumps
    return EncodedJson(to_json(record, exclude_none=True).decode())


def _retrieval_record(response: DiagnosisResponse, store_text: bool) -> EncodedJson:
    text = response.case.text
    if text is not None and not store_text:  # phrases of the patient's notes go; the ids they gave stay
        case = response.case.model_copy(update={"text": text.model_copy(update={"linked": [], "unlinked": []})})
        response = response.model_copy(update={"case": case})
    # encoded once, by pydantic's JSON encoder (cheaper than a dict then json.dumps), and stored as it is
    return EncodedJson(response.model_dump_json(include=_DIFFERENTIAL))
