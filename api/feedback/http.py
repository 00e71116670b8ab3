"""POST /v1/feedback, and `install(app)`: the store, the grounder and this router on one FastAPI app."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Body, Depends, FastAPI, Request

from raregraph.api.feedback.grounding import SnapshotDiseases
from raregraph.api.feedback.record import record_response, record_response_json
from raregraph.api.feedback.schemas import FeedbackIn, FeedbackOut
from raregraph.api.feedback.store import FeedbackStore, StoredFeedback
from raregraph.api.http.problems import Problem
from raregraph.errors import FeedbackDisabledError, ForbiddenError
from raregraph.models import CaseRequest, DiagnosisResponse
from raregraph.settings import Settings

__all__ = ["router", "install", "FEEDBACK_SCOPE", "record_for", "record_result", "record_result_json"]

FEEDBACK_SCOPE = "feedback"
router = APIRouter(prefix="/v1", tags=["feedback"])
_PROBLEM = {"model": Problem}
_EXAMPLE = {"response_id": "5f0c1d2e-8a41-4b7e-9a55-0d6b1c3e2f10", "confirmed_disease_id": "OMIM:154700",
            "ratings": {"accuracy": 4, "reasoning": 3, "tool_usage": 4, "safety": 5, "overall": 4},
            "comment": "FBN1 variant confirmed by Sanger sequencing"}


def install(app: FastAPI, settings: Settings, store: FeedbackStore | None = None) -> None:
    """Mount the feedback route on `app`, with its store (default: RAREGRAPH_FEEDBACK_URL) and grounder.

    With RAREGRAPH_FEEDBACK_ENABLED=false the app has no store: answers are not recorded (their
    `response_id` is null) and the route answers 404 `feedback-disabled`.
    """
    enabled = settings.feedback_enabled
    app.state.feedback_store = (store or FeedbackStore.from_settings(settings)) if enabled else None
    if app.state.feedback_store is not None:
        # migrated while the app loads, so that what the migration leaves (Alembic, its scripts) is in the settled
        # heap: left to the first answer, every full collection walked it (~10 ms each, several a second)
        app.state.runtime.after_load(app.state.feedback_store.prepare)

    def active_graph() -> Any:
        service = app.state.runtime.service
        return service.graph if service is not None else None

    app.state.feedback_grounder = SnapshotDiseases(settings.snapshot_dir, active_graph)
    app.include_router(router, responses={
        403: {**_PROBLEM, "description": "The API key lacks the `feedback` scope (RAREGRAPH_API_KEY_SCOPES)"},
        404: {**_PROBLEM, "description": "This server keeps no answers and takes no feedback "
                                         "(RAREGRAPH_FEEDBACK_ENABLED=false)"},
        422: {**_PROBLEM, "description": "Invalid feedback: unknown response or disease id, rating outside 1-5"},
        503: {**_PROBLEM, "description": "The feedback database is unavailable (see Retry-After)"},
    })


def record_for(request: Request, case: CaseRequest, response: DiagnosisResponse, *, llm: Any | None = None,
               ranking: list[str] | None = None) -> DiagnosisResponse:
    """`record_response` with this app's store and the calling client (what the diagnose routes call).

    `case` is the request body (a phenopacket in it is read into the case first); blocking: run it
    in a worker thread.
    """
    store, case, options = _recording(request, case)
    return record_response(store, case, response, llm=llm, ranking=ranking, **options)


def record_result(request: Request, body: CaseRequest, result: Any) -> Any:
    """`record_for` with the LLM report and the ranking a pipeline `DiagnoseResult` carries."""
    return record_for(request, body, result, llm=getattr(result, "llm", None), ranking=_ranking_ids(result))


def record_result_json(request: Request, body: CaseRequest, result: Any) -> bytes:
    """`record_result`, returning the recorded answer's JSON (its differential encoded once, for the store too)."""
    store, case, options = _recording(request, body)
    return record_response_json(store, case, result, llm=getattr(result, "llm", None), ranking=_ranking_ids(result),
                                **options)


def _recording(request: Request, case: CaseRequest) -> tuple[FeedbackStore | None, CaseRequest, dict[str, Any]]:
    """This app's store, the case as recorded (a phenopacket read first), and the client and text options."""
    settings: Settings = request.app.state.settings
    as_case = getattr(case, "as_case", None)  # a DiagnoseRequest: the phenopacket it may carry is read first
    return (getattr(request.app.state, "feedback_store", None), as_case() if as_case is not None else case,
            {"client": getattr(request.state, "client_name", None), "store_text": settings.feedback_store_text})


def _ranking_ids(result: Any) -> list[str] | None:
    ranking = getattr(result, "ranking", None)
    return [r.disease_id for r in ranking] if ranking is not None else None


def _author(request: Request, settings: Settings) -> str:
    """The API key's client name, if it holds the `feedback` scope."""
    client = getattr(request.state, "client_name", None)
    if client is None:
        raise ForbiddenError("feedback needs an API key with the `feedback` scope, and this server has no keys "
                             "configured (RAREGRAPH_API_KEYS, RAREGRAPH_API_KEY_SCOPES)")
    if FEEDBACK_SCOPE not in settings.api_key_scopes.get(client, []):
        raise ForbiddenError(f"the API key of {client!r} lacks the `feedback` scope (RAREGRAPH_API_KEY_SCOPES)")
    return str(client)


def feedback_out(stored: StoredFeedback) -> FeedbackOut:
    fields = asdict(stored)
    fields.pop("withdrawn")
    return FeedbackOut(**fields)


async def _enabled(request: Request) -> None:
    """404 `feedback-disabled` on a server that records nothing, before the body or the key's scope is checked."""
    if request.app.state.feedback_store is None:
        raise FeedbackDisabledError("this server keeps no diagnose answers and takes no feedback "
                                    "(RAREGRAPH_FEEDBACK_ENABLED=false)")


@router.post(
    "/feedback", dependencies=[Depends(_enabled)], status_code=201, response_model=FeedbackOut,
    summary="A clinician's verdict on a diagnose answer: confirmed diagnosis, ratings, A/B preference, comment",
    description="Cite the `response_id` a diagnose answer carries. The confirmed disease must exist in the "
                "snapshot that answer was ranked on. Needs an API key with the `feedback` scope; the key's "
                "client name is recorded as the author, and every write is in the audit table.",
)
def post_feedback(body: FeedbackIn = Body(openapi_examples={"verdict": {"value": _EXAMPLE}}),
                  *, request: Request) -> FeedbackOut:
    settings: Settings = request.app.state.settings
    author = _author(request, settings)
    store: FeedbackStore = request.app.state.feedback_store
    [stored] = store.add_feedback([("body", body)], author=author, ground=request.app.state.feedback_grounder)
    return feedback_out(stored)
