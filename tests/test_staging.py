"""raregraph.staging: a dead run's staging paths are removed or taken over; a live run's are left alone (issue #19)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from raregraph.errors import OutputBusyError
from raregraph.staging import adopt_orphan, claim, owner_alive, remove_orphans, staging_path


def dead_pid() -> int:
    """The pid of a process that ran and is gone (reaped)."""
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    return done.pid


@pytest.fixture
def live_pid() -> Iterator[int]:
    """A process that runs for the test (started before anything the test writes)."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    try:
        yield process.pid
    finally:
        process.kill()
        process.wait()


def _leftover(root: Path, name: str, pid: int, *, folder: bool = True) -> Path:
    path = root / f".tmp-{name}-{pid}"
    if folder:
        path.mkdir()
        (path / "diseases.parquet").write_bytes(b"")  # a half-written table, as a kill -9 leaves it
    else:
        path.write_text("partial", encoding="utf-8")
    return path


def test_a_dead_runs_leftovers_are_removed_a_live_runs_kept(tmp_path: Path, live_pid: int) -> None:
    dead = _leftover(tmp_path, "hpo-a", dead_pid())
    dead_file = _leftover(tmp_path, "hpo-b", dead_pid(), folder=False)
    live = _leftover(tmp_path, "hpo-c", live_pid)
    mine = _leftover(tmp_path, "hpo-d", os.getpid())
    assert sorted(remove_orphans(tmp_path, "hpo-*")) == sorted([dead, dead_file])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, mine.name])


def test_only_the_kind_asked_for_is_removed(tmp_path: Path) -> None:
    other = _leftover(tmp_path, "ACTIVE", dead_pid(), folder=False)
    not_staging = tmp_path / ".tmp-hpo-x"  # no pid: not a staging path of ours
    not_staging.mkdir()
    assert remove_orphans(tmp_path, "hpo-*") == []
    assert other.exists() and not_staging.exists()


def test_a_reused_pid_does_not_keep_a_leftover(tmp_path: Path) -> None:
    """A restarted container runs the same command under the same pid: the leftover is older than that process."""
    old = _leftover(tmp_path, "hpo-a", os.getpid())
    os.utime(old, (0, 0))  # written long before this process started
    assert not owner_alive(os.getpid(), old)
    assert remove_orphans(tmp_path, "hpo-*") == [old]


def test_a_dead_runs_staging_is_taken_over(tmp_path: Path, live_pid: int) -> None:
    _leftover(tmp_path, "2024-04-26", live_pid)
    assert adopt_orphan(tmp_path, "2024-04-26") is None  # its owner runs
    dead = _leftover(tmp_path, "2024-04-26", dead_pid())
    mine = adopt_orphan(tmp_path, "2024-04-26")
    assert mine == staging_path(tmp_path, "2024-04-26") and not dead.exists()
    assert (mine / "diseases.parquet").is_file()
    assert remove_orphans(tmp_path, "*") == []  # now ours: no other run removes it


def test_a_leftover_under_our_own_reused_pid_is_taken_over_as_ours(tmp_path: Path) -> None:
    old = _leftover(tmp_path, "2024-04-26", os.getpid())
    os.utime(old, (0, 0))
    assert adopt_orphan(tmp_path, "2024-04-26") == old
    assert owner_alive(os.getpid(), old) and remove_orphans(tmp_path, "*") == []


_HOLD = """
import sys, time
from pathlib import Path
from raregraph.staging import claim
with claim(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(300)
"""


def test_a_second_claim_names_the_holder_and_a_dead_holder_frees_it(tmp_path: Path) -> None:
    out = tmp_path / "rankings.jsonl"
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(OutputBusyError) as caught, claim(out):
            pass
        assert caught.value.pid == holder.pid
        assert f"{out} is being written by another run (pid {holder.pid})" in str(caught.value)
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout:
            holder.stdout.close()
    assert (tmp_path / ".rankings.jsonl.lock").exists()  # left by the kill
    with claim(out):
        pass
    assert list(tmp_path.iterdir()) == []
