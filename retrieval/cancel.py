"""Cooperative cancellation of CPU-bound retrieval work running in a worker thread.

A thread cannot be stopped from outside, so a request that timed out would otherwise leave its
text linking running to the end (issue 19: a minute of both cores after the 503s). The HTTP
layer runs each offloaded call inside `CancelToken.run` and cancels the token when the request
ends for any reason; long loops call `checkpoint()` between pieces of work (a sentence, an
encoder batch), which raises `WorkCancelledError` once their token is cancelled.

The token travels in a context variable, not as a parameter, because it crosses layers that know
nothing of requests (`Retriever.diagnose` → `CaseResolver` → `TermLinker`), the way a cancel scope
does. Outside `CancelToken.run` (the CLI, a cohort) `checkpoint()` reads the variable and returns.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar

from raregraph.errors import WorkCancelledError

__all__ = ["CancelToken", "checkpoint"]

T = TypeVar("T")
_current: ContextVar[CancelToken | None] = ContextVar("raregraph_cancel_token", default=None)


class CancelToken:
    """Set once by the caller when the work's result is no longer wanted; read at each `checkpoint()`."""

    def __init__(self, reason: str = "the request ended") -> None:
        self.reason = reason
        self._event = threading.Event()
        self.checkpoints = 0  # how many checkpoints the work passed (what the tests and benchmark read)

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def cancel(self, reason: str | None = None) -> None:
        """Ask the work to stop at its next checkpoint (harmless once it has finished)."""
        if reason is not None and not self.cancelled:
            self.reason = reason
        self._event.set()

    def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` with this token current, in the calling thread (a worker thread's entry point)."""
        reset = _current.set(self)
        try:
            return fn(*args)
        finally:
            _current.reset(reset)


def checkpoint() -> None:
    """Raise `WorkCancelledError` if the current work's token was cancelled; a no-op outside `CancelToken.run`."""
    token = _current.get()
    if token is None:
        return
    token.checkpoints += 1
    if token.cancelled:
        raise WorkCancelledError(f"work stopped: {token.reason}")
