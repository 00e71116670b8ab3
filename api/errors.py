"""One map from error types to HTTP status, CLI exit code and message."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from raregraph.errors import (
    FeedbackDisabledError, ForbiddenError, GraphUnavailableError, InvalidCaseError, InvalidFeedbackError, LlmOutputError, ObsoleteTermError, OutputBusyError,
    RaregraphError, SnapshotBuildError,
    SnapshotNotFoundError, SourceFormatError, SourceMissingError, StoreUnavailableError, UnknownEntityError,
    UnknownTermError, WorkCancelledError,
)

__all__ = ["ErrorInfo", "describe_error"]


@dataclass(frozen=True)
class ErrorInfo:
    status: int  # HTTP status
    exit_code: int  # CLI exit code
    kind: str  # stable machine-readable type
    message: str


# Most specific first: the first matching class wins.
_MAP: tuple[tuple[type[BaseException], int, int, str], ...] = (
    (UnknownTermError, 422, 2, "unknown-term"),
    (ObsoleteTermError, 422, 2, "obsolete-term"),
    (UnknownEntityError, 404, 2, "unknown-entity"),
    (InvalidCaseError, 422, 2, "invalid-case"),
    (InvalidFeedbackError, 422, 2, "invalid-feedback"),
    (OutputBusyError, 409, 2, "output-busy"),
    (ForbiddenError, 403, 7, "forbidden"),
    (StoreUnavailableError, 503, 5, "store-unavailable"),
    # a setting of the deployment, not an outage: 404, so that no client retries it as it would a 503
    (FeedbackDisabledError, 404, 5, "feedback-disabled"),
    (SourceFormatError, 422, 3, "source-format"),
    (SourceMissingError, 422, 3, "source-missing"),
    (SnapshotNotFoundError, 503, 4, "snapshot-not-found"),
    (SnapshotBuildError, 500, 4, "snapshot-build"),
    (GraphUnavailableError, 503, 5, "graph-unavailable"),
    (LlmOutputError, 502, 6, "llm-output"),
    (WorkCancelledError, 503, 5, "timeout"),
    (RaregraphError, 500, 1, "error"),
)


def describe_error(err: BaseException) -> ErrorInfo | None:
    """How to report `err`, or None if it is not one of ours (a bug: let it surface)."""
    if isinstance(err, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']} (got {e.get('input')!r})" for e in err.errors()
        )
        return ErrorInfo(422, 2, "invalid-input", f"invalid input: {problems}")
    for cls, status, code, kind in _MAP:
        if isinstance(err, cls):
            return ErrorInfo(status, code, kind, str(err))
    return None
