"""The feedback store's confirmed cases, as the ranking reads them (RAREGRAPH_CASE_EVIDENCE=on).

A confirmed case is a verdict not withdrawn that names a confirmed diagnosis, joined with the case
of the response it cites: the present terms that case was ranked on (as the service understood
them, text-derived terms included). Two verdicts on one response confirming one disease are one
case (the first verdict names it). Disease ids are stable across snapshots, so a verdict given on
an older snapshot still counts; a disease the current snapshot does not rank is left out there.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from raregraph.api.feedback.models import FeedbackRow, ResponseRow
from raregraph.api.feedback.store import FeedbackStore
from raregraph.retrieval.retriever import ConfirmedCase, Retriever
from raregraph.settings import Settings

__all__ = ["StoreCases", "confirmed_cases", "use_store_cases"]


def confirmed_cases(store: FeedbackStore) -> list[ConfirmedCase]:
    """Every confirmed case the store holds, oldest verdict first (withdrawn verdicts left out).

    One query reads just the ids and the terms (JSON paths into the recorded answer, on SQLite and
    PostgreSQL alike), not the recorded differentials: a refresh stays cheap with many verdicts.
    """
    def run(session: Session) -> list[Any]:
        query = (select(FeedbackRow.id, FeedbackRow.response_id, FeedbackRow.confirmed_disease_id,
                        ResponseRow.retrieval["case"]["present"], ResponseRow.case["hpo_present"])
                 .join(ResponseRow, FeedbackRow.response_id == ResponseRow.id)
                 .where(FeedbackRow.withdrawn_at.is_(None), FeedbackRow.confirmed_disease_id.is_not(None))
                 .order_by(FeedbackRow.id))
        return list(session.execute(query))

    seen: set[tuple[str, str]] = set()
    out = []
    for feedback_id, response_id, disease_id, understood, given in store._read(run):  # noqa: SLF001 - the store's guarded read
        if (response_id, disease_id) in seen:
            continue
        seen.add((response_id, disease_id))
        out.append(ConfirmedCase(feedback_id, disease_id, _present(understood, given)))
    return out


def _present(understood: Any, given: Any) -> tuple[str, ...]:
    """The present terms the answer ranked (its understood case), else the ids the request gave."""
    if isinstance(understood, list) and understood:
        return tuple(t["id"] if isinstance(t, dict) else str(t) for t in understood)
    return tuple(str(t) for t in given or ())


class StoreCases:
    """`CaseSource` over the feedback store: the version is the newest audit row (every verdict and withdrawal
    writes one in its own transaction)."""

    def __init__(self, store: FeedbackStore) -> None:
        self.store = store

    def version(self) -> Hashable:
        newest = self.store.audit_trail(limit=1)
        return newest[0].id if newest else 0

    def cases(self) -> list[ConfirmedCase]:
        return confirmed_cases(self.store)


def use_store_cases(retriever: Retriever, settings: Settings) -> None:
    """Rank with the confirmed cases of the store at RAREGRAPH_FEEDBACK_URL, re-read every
    RAREGRAPH_CASE_EVIDENCE_REFRESH_S when a verdict was added or withdrawn."""
    retriever.use_confirmed_cases(StoreCases(FeedbackStore.from_settings(settings)), settings.case_evidence_refresh_s)
