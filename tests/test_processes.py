"""raregraph.processes: children end with the process that started them, even after a kill -9 of it (issue #19)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.process_tree import alive, kill_all, wait_until_gone

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")

# A parent that starts one child the way each helper says, prints the child's pid, and waits to be killed.
_POPEN_PARENT = """
import subprocess, sys, time
from raregraph.processes import dies_with_this_process
child = subprocess.Popen(["sleep", "300"], preexec_fn=dies_with_this_process())
print(child.pid, flush=True)
time.sleep(300)
"""

_SPAWN_PARENT = """
import os, sys, time
from pathlib import Path
from raregraph.processes import spawn_with_this_process
pid = spawn_with_this_process(["sleep", "300"], cwd=Path(sys.argv[1]), env=dict(os.environ), output=Path(sys.argv[1]) / "out.log")
print(pid, flush=True)
time.sleep(300)
"""

# A multiprocessing (spawn) child that arms end_with_parent, with or without the parent-death signal.
_WORKER_PARENT = """
import multiprocessing, os, sys, time
from raregraph.processes import end_with_parent

def work(parent, armed):
    end_with_parent(parent, started_by_main_thread=armed)
    time.sleep(300)

if __name__ == "__main__":
    armed = sys.argv[1] == "1"
    child = multiprocessing.get_context("spawn").Process(target=work, args=(os.getpid(), armed))
    child.start()
    print(child.pid, flush=True)
    time.sleep(300)
"""

# A child started from a thread that then ends, while the process lives on.
_THREAD_PARENT = """
import subprocess, threading, time
from raregraph.processes import dies_with_this_process
started = []
def start():
    started.append(subprocess.Popen(["sleep", "300"], preexec_fn=dies_with_this_process()))
thread = threading.Thread(target=start)
thread.start()
thread.join()
print(started[0].pid, flush=True)
time.sleep(300)
"""


def _kill_parent_then_child_is_gone(argv: list[str], *, cwd: Path, settle_s: float = 0.5) -> None:
    """Start a parent that prints its child's pid, let the child settle, kill -9 the parent: the child must go."""
    parent = subprocess.Popen([sys.executable, *argv], stdout=subprocess.PIPE, text=True, cwd=cwd)
    assert parent.stdout is not None
    child = psutil.Process(int(parent.stdout.readline()))
    try:
        time.sleep(settle_s)
        assert alive([child]), "the child died before its parent"
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=30)
        assert wait_until_gone([child]) == []
    finally:
        kill_all([child])
        parent.kill()
        parent.wait()
        parent.stdout.close()


def test_a_popen_child_dies_with_its_killed_parent(tmp_path: Path) -> None:
    _kill_parent_then_child_is_gone(["-c", _POPEN_PARENT], cwd=tmp_path)


def test_a_spawned_child_dies_with_its_killed_parent(tmp_path: Path) -> None:
    _kill_parent_then_child_is_gone(["-c", _SPAWN_PARENT, str(tmp_path)], cwd=tmp_path)


@pytest.mark.parametrize("armed", ["1", "0"], ids=["signal-and-watch", "watch-only"])
def test_a_python_worker_ends_with_its_killed_parent(tmp_path: Path, armed: str) -> None:
    script = tmp_path / "parent.py"  # spawn re-imports the main module: it must be a file
    script.write_text(_WORKER_PARENT, encoding="utf-8")
    # the spawned child imports raregraph and arms itself before the parent is killed
    _kill_parent_then_child_is_gone([str(script), armed], cwd=tmp_path, settle_s=3.0)


def test_a_child_started_from_a_thread_that_ends_keeps_running(tmp_path: Path) -> None:
    """The kernel ties the signal to the starting thread: off the main thread nothing is armed, nothing is killed early."""
    parent = subprocess.Popen([sys.executable, "-c", _THREAD_PARENT], stdout=subprocess.PIPE, text=True, cwd=tmp_path)
    assert parent.stdout is not None
    child = psutil.Process(int(parent.stdout.readline()))
    try:
        time.sleep(1.0)
        assert alive([child]), "killed when the thread that started it ended"
    finally:
        kill_all([child])
        parent.kill()
        parent.wait()
        parent.stdout.close()
