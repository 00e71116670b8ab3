"""Work counted, not timed: Python lines executed in chosen modules, and characters a text hands out in slices.

Issue 19 asks for text linking linear in the text. Wall time is a poor test of that on a shared
machine, so the tests count work instead and compare a text with one twice its size: linear code
does about twice the work, quadratic code about four times.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

T = TypeVar("T")
RETRIEVAL = Path(__file__).resolve().parents[2] / "retrieval"


def lines_run(fn: Callable[..., T], *args: Any, folder: Path = RETRIEVAL) -> tuple[T, int]:
    """`fn(*args)` and the number of Python lines it executed in modules under `folder` (this thread only)."""
    count = 0
    prefix = str(folder)

    def local(frame: FrameType, event: str, arg: object) -> Any:
        nonlocal count
        if event == "line":
            count += 1
        return local

    def tracer(frame: FrameType, event: str, arg: object) -> Any:
        return local if frame.f_code.co_filename.startswith(prefix) else None

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        result = fn(*args)
    finally:
        sys.settrace(previous)
    return result, count


class SliceCountingText(str):
    """A str that counts the characters handed out by slicing it (C-level copies no line count sees)."""

    sliced = 0

    def __getitem__(self, key: Any) -> str:
        piece = str.__getitem__(self, key)
        type(self).sliced += len(piece)
        return piece


def growth(work: Callable[[int], int], size: int) -> float:
    """How much more work a problem of twice `size` takes: ~2 when linear, ~4 when quadratic."""
    return work(2 * size) / max(work(size), 1)
