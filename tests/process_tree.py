"""The processes a command started, and waiting until every one of them is gone (for the kill -9 tests)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import psutil

from raregraph.processes import dies_with_this_process

# Generous: a loaded two-core machine. Killing is immediate; this only bounds a failing test.
GONE_DEADLINE_S = 60.0


def descendants(pid: int) -> list[psutil.Process]:
    """Every live process below `pid` (children, their children, ...)."""
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def alive(processes: Iterable[psutil.Process]) -> list[psutil.Process]:
    """Those still running: a zombie (dead, not yet reaped by its new parent) counts as gone."""
    found = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:  # is_running: same pid, same start
                found.append(process)
        except psutil.NoSuchProcess:
            pass
    return found


def wait_until_gone(processes: list[psutil.Process], deadline_s: float = GONE_DEADLINE_S) -> list[str]:
    """Poll until none of `processes` runs; the command lines of those left at the deadline."""
    deadline = time.monotonic() + deadline_s
    while alive(processes) and time.monotonic() < deadline:
        time.sleep(0.1)
    return [_describe(p) for p in alive(processes)]


def wait_for(condition: Callable[[], object], what: str, deadline_s: float = 180.0, poll_s: float = 0.05) -> None:
    """Poll `condition` until it holds; fail the test naming `what` at the deadline."""
    deadline = time.monotonic() + deadline_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never saw: {what}")
        time.sleep(poll_s)


def kill_when_flagged(script: str, args: list[str], flag: Path, never: str, deadline_s: float,
                      after_s: float = 0.0) -> None:
    """Run `python -c script *args` (dying with this process); SIGKILL it `after_s` after it writes `flag`.

    Fails with the child's stderr if it exits first, and with `never` at the deadline.
    """
    child = subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, preexec_fn=dies_with_this_process())
    try:
        deadline = time.monotonic() + deadline_s
        while not flag.exists():
            assert child.poll() is None, child.stderr.read().decode() if child.stderr else ""
            assert time.monotonic() < deadline, never
            time.sleep(0.05)
        time.sleep(after_s)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=30)
        if child.stderr:
            child.stderr.close()


def kill_all(processes: Iterable[psutil.Process]) -> None:
    """SIGKILL whatever is left (a failing test's cleanup)."""
    for process in alive(processes):
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass


def _describe(process: psutil.Process) -> str:
    try:
        return f"pid {process.pid}: {' '.join(process.cmdline())[:200]}"
    except psutil.Error:
        return f"pid {process.pid}"
