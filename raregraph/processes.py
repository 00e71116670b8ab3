"""Child processes that end with the process that started them, so a `kill -9` leaves none running.

Linux sends a child a chosen signal when its parent dies (`prctl(PR_SET_PDEATHSIG)`), and the
setting survives `exec`. The kernel ties it to the parent *thread* that started the child, not
to the parent process, so it is armed only for children started from the main thread (whose
end is the process's end); a worker thread that starts a child and returns would otherwise kill
it. Python children (pool and server workers) also watch their parent's pid from a thread: that
check is per process, works on every platform, and catches a parent that died before the signal
was armed.
"""

from __future__ import annotations

import ctypes
import functools
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

__all__ = ["dies_with_this_process", "spawn_with_this_process", "end_with_parent"]

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_WATCH_INTERVAL_S = 0.25


def dies_with_this_process() -> Callable[[], None]:
    """A `preexec_fn` for `subprocess.Popen`: the child, and what it execs, is killed when this process ends.

    Call it in the thread that starts the child. From the main thread the child gets SIGKILL when
    this process dies, however it dies (Linux); from another thread nothing is armed (see above).
    """
    parent = os.getpid()
    prctl = _prctl() if threading.current_thread() is threading.main_thread() else None  # resolved before the fork

    def arm() -> None:  # runs in the child between fork and exec: no imports, no threads
        if prctl is not None:
            _arm(prctl, parent)

    return arm


def spawn_with_this_process(argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], output: Path) -> int:
    """Start `argv` as a child killed when this process ends (as `dies_with_this_process`); its pid.

    stdin is empty; stdout and stderr are appended to `output`. No `Popen` object is made, so
    nothing warns when the caller forgets it: the caller reaps the child with `os.waitpid` (it
    stays a zombie until then). It starts through `python -m raregraph.processes`, which arms
    the signal and then execs `argv` in place, keeping the pid.
    """
    armed = "1" if threading.current_thread() is threading.main_thread() else "0"
    wrapper = [sys.executable, "-P", "-m", __name__, str(os.getpid()), armed, str(cwd), *argv]
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, str(output), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644),
        (os.POSIX_SPAWN_DUP2, 1, 2),
    ]
    return os.posix_spawn(sys.executable, wrapper, dict(env), file_actions=actions)


def _exec_tied(argv: list[str]) -> None:
    """`python -m raregraph.processes PARENT_PID ARMED CWD COMMAND...`: become COMMAND, killed when PARENT_PID ends."""
    parent, armed, cwd, command = int(argv[0]), argv[1] == "1", argv[2], argv[3:]
    if armed and (prctl := _prctl()) is not None:
        _arm(prctl, parent)  # kept across exec (not for set-user-id programs)
    os.chdir(cwd)
    os.execvp(command[0], command)


def _arm(prctl: Callable[[int, int], int], parent: int) -> None:
    prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the signal was armed
        os.kill(os.getpid(), signal.SIGKILL)


def end_with_parent(parent_pid: int, *, started_by_main_thread: bool) -> None:
    """In a Python child process (a pool or server worker): end it when process `parent_pid` ends.

    `started_by_main_thread` says whether the parent started this child from its main thread, so
    that Linux's parent-death signal may be armed (see the module docstring); the pid watch runs
    either way, polling every 0.25 s.
    """
    if started_by_main_thread and (prctl := _prctl()) is not None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # gone already: re-parented before we got here
        _die()
    threading.Thread(target=_watch, args=(parent_pid,), name="raregraph-parent-watch", daemon=True).start()


def _watch(parent_pid: int) -> None:
    """Poll the parent pid; a dead parent's children are re-parented (to init or a subreaper)."""
    while os.getppid() == parent_pid:
        time.sleep(_WATCH_INTERVAL_S)
    _die()


def _die() -> None:
    # SIGKILL, not sys.exit: a worker blocked writing to a dead parent's pipe never runs Python again.
    os.kill(os.getpid(), signal.SIGKILL)


@functools.lru_cache(maxsize=1)
def _prctl() -> Callable[[int, int], int] | None:
    """libc's prctl on Linux, else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl  # type: ignore[no-any-return]
    except (OSError, AttributeError):
        return None


if __name__ == "__main__":
    _exec_tied(sys.argv[1:])
