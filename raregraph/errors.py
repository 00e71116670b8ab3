"""The one error hierarchy of raregraph; the CLI and HTTP layer map these to messages and codes."""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "RaregraphError",
    "SourceFormatError",
    "SourceMissingError",
    "SnapshotNotFoundError",
    "SnapshotBuildError",
    "ReleaseFetchError",
    "ChecksumMismatchError",
    "RefreshError",
    "UnknownTermError",
    "ObsoleteTermError",
    "UnknownEntityError",
    "GraphUnavailableError",
    "InvalidCaseError",
    "LlmOutputError",
    "InvalidFeedbackError",
    "ForbiddenError",
    "StoreUnavailableError",
    "FeedbackDisabledError",
    "OutputBusyError",
    "WorkCancelledError",
]


class RaregraphError(Exception):
    """Root of every error raregraph raises on purpose."""


class SourceFormatError(RaregraphError):
    """A release file breaks its documented format (names file, line and field)."""

    def __init__(self, path: Path | str, line: int | None, message: str, *, field: str | None = None) -> None:
        where = f"{path}:{line}" if line is not None else str(path)
        what = f"field '{field}': {message}" if field else message
        super().__init__(f"{where}: {what}")
        self.path = Path(path)
        self.line = line
        self.field = field
        self.detail = message


class SourceMissingError(RaregraphError):
    """A release file the build needs is not where it was looked for."""


class ReleaseFetchError(SourceMissingError):
    """A release file could not be fetched (index, server or folder unreachable, or incomplete)."""


class ChecksumMismatchError(ReleaseFetchError):
    """A fetched file's sha256 is not the pinned one; the file is not used."""

    def __init__(self, what: str, expected: str, actual: str) -> None:
        super().__init__(f"{what}: sha256 {actual} does not match the pinned {expected}; refused, nothing used")
        self.expected, self.actual = expected, actual


class RefreshError(RaregraphError):
    """A step of `data refresh` failed; the active snapshot is unchanged."""

    def __init__(self, step: str, cause: BaseException) -> None:
        super().__init__(f"refresh failed at step '{step}' (the active snapshot is unchanged): {cause}")
        self.step = step


class SnapshotNotFoundError(RaregraphError):
    """No snapshot at the given path, or no snapshot built yet."""


class SnapshotBuildError(RaregraphError):
    """A snapshot could not be written (nothing is left behind)."""


class UnknownTermError(RaregraphError):
    """An HPO id is not in the active snapshot."""

    def __init__(self, ids: list[str]) -> None:
        super().__init__(f"unknown HPO term id(s): {', '.join(ids)}")
        self.ids = ids


class ObsoleteTermError(RaregraphError):
    """An HPO id is obsolete; carries its replacement (or terms to consider) when HPO gives one."""

    def __init__(self, term_id: str, replaced_by: str | None, consider: tuple[str, ...] = ()) -> None:
        if replaced_by:
            hint = f"replaced by {replaced_by}"
        elif consider:
            hint = f"no direct replacement; consider {', '.join(consider)}"
        else:
            hint = "no replacement given by HPO"
        super().__init__(f"obsolete HPO term id {term_id}: {hint}")
        self.term_id = term_id
        self.replaced_by = replaced_by
        self.consider = consider


class UnknownEntityError(RaregraphError):
    """A disease or gene id/symbol is not in the active snapshot."""


class GraphUnavailableError(RaregraphError):
    """The graph back-end (e.g. Neo4j) cannot be reached or holds no active snapshot."""


class InvalidCaseError(RaregraphError):
    """A case has nothing to rank on or contradicts itself in a way that cannot be resolved."""


class LlmOutputError(RaregraphError):
    """The LLM answered with something that is not the structured output asked for."""


class InvalidFeedbackError(RaregraphError):
    """Feedback cites a response, disease or rating that is not there (names the field)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ForbiddenError(RaregraphError):
    """The API key is known but lacks the scope the operation needs."""


class StoreUnavailableError(RaregraphError):
    """The feedback database cannot be reached (or its schema cannot be brought up to date)."""


class FeedbackDisabledError(RaregraphError):
    """This deployment keeps no answers and takes no feedback (RAREGRAPH_FEEDBACK_ENABLED=false)."""


class OutputBusyError(RaregraphError):
    """Another run is writing the same output file (names the file and, when known, that run's pid)."""

    def __init__(self, path: Path | str, pid: int | None) -> None:
        who = f"another run (pid {pid})" if pid is not None else "another run"
        super().__init__(f"{path} is being written by {who}; wait for it to finish or choose another output")
        self.path = Path(path)
        self.pid = pid


class WorkCancelledError(RaregraphError):
    """Offloaded work stopped at a checkpoint because its request timed out or was cancelled (no client waits for it)."""
