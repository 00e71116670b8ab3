"""`kill -9` of `rank`, `serve` and `etl build`: no process of theirs keeps running, and the next run leaves
nothing behind; two `rank` runs on one output are told apart (issue #19, items 2, 3 and 5).

Real commands in real processes, killed with SIGKILL; waits poll with generous deadlines and time nothing.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from raregraph.etl.snapshot import Snapshot
from raregraph.processes import dies_with_this_process
from tests.conftest import MINI_RELEASE, TEST_DATA
from tests.process_tree import descendants, kill_all, wait_for, wait_until_gone

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")

RAREGRAPH = Path(sys.executable).parent / "raregraph"


@pytest.fixture
def env(default_snapshot: Snapshot) -> dict[str, str]:
    return {**os.environ, "RAREGRAPH_SNAPSHOT": str(default_snapshot.path), "RAREGRAPH_EMBEDDING_ENABLED": "false"}


@pytest.fixture
def cohort(tmp_path: Path) -> Path:
    """The dev sample (43 cases) repeated to 860 cases: long enough to be killed mid-run."""
    lines = (TEST_DATA / "eval" / "dev_sample.jsonl").read_text(encoding="utf-8").splitlines()
    path = tmp_path / "cohort.jsonl"
    path.write_text("\n".join(lines * 20) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Commands a test starts; whatever is left of them and their children is killed after it."""
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        tree = descendants(process.pid)
        process.kill()
        process.wait()
        kill_all(tree)


def _start(started: list[subprocess.Popen[bytes]], args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as sink:
        process = subprocess.Popen([str(RAREGRAPH), *args], env=env, stdout=sink, stderr=subprocess.STDOUT,
                                   preexec_fn=dies_with_this_process())
    started.append(process)
    return process


def _workers(pid: int) -> list[psutil.Process]:
    return [p for p in descendants(pid) if "spawn_main" in " ".join(p.cmdline())]


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") or p.name.endswith(".partial"))


def _kill_and_check_gone(process: subprocess.Popen[bytes], log: Path) -> None:
    tree = descendants(process.pid)
    assert process.poll() is None, f"the command ended before it was killed:\n{log.read_text(errors='replace')}"
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    left = wait_until_gone(tree)
    kill_all(tree)  # a failing run's orphans are not left to the rest of the session
    assert left == [], "still running after the kill -9 of their parent"


@pytest.mark.parametrize("moment", ["workers starting", "ranking"])
def test_kill_9_of_rank_with_workers_leaves_no_process_and_the_next_run_no_file(
    env: dict[str, str], cohort: Path, tmp_path: Path, started: list[subprocess.Popen[bytes]], moment: str,
) -> None:
    out = tmp_path / "ranked.jsonl"
    log = tmp_path / "rank.log"
    process = _start(started, ["rank", "--input", str(cohort), "--output", str(out), "--workers", "2"], env, log)
    wait_for(lambda: len(_workers(process.pid)) == 2 or process.poll() is not None, "two worker processes")
    if moment == "ranking":  # lines arrive: the workers are ranking and writing results to the parent's pipe
        wait_for(lambda: any(p.stat().st_size for p in tmp_path.glob("*ranked.jsonl*")) or process.poll() is not None,
                 "the first ranked lines")
    _kill_and_check_gone(process, log)

    small = tmp_path / "small.jsonl"
    small.write_text("".join(cohort.read_text(encoding="utf-8").splitlines(keepends=True)[:5]), encoding="utf-8")
    done = subprocess.run([str(RAREGRAPH), "rank", "--input", str(small), "--output", str(out), "--workers", "2"],
                          env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    assert len(out.read_text(encoding="utf-8").splitlines()) == 5
    assert _leftovers(tmp_path) == []  # the killed run's partial output and lock are gone


def test_a_second_rank_on_the_same_output_is_refused_naming_the_first(
    env: dict[str, str], cohort: Path, tmp_path: Path, started: list[subprocess.Popen[bytes]],
) -> None:
    out = tmp_path / "ranked.jsonl"
    log = tmp_path / "first.log"
    first = _start(started, ["rank", "--input", str(cohort), "--output", str(out)], env, log)
    wait_for(lambda: any(p.stat().st_size for p in tmp_path.glob("*ranked.jsonl*")) or first.poll() is not None,
             "the first run writing")
    assert first.poll() is None, log.read_text(errors="replace")
    second = subprocess.run([str(RAREGRAPH), "rank", "--input", str(cohort), "--output", str(out)],
                            env=env, capture_output=True, text=True, timeout=600, check=False)
    message = " ".join(second.stderr.split())
    assert second.returncode == 2, second.stderr
    assert f"{out} is being written by another run (pid {first.pid})" in message and "Traceback" not in second.stderr
    assert first.poll() is None  # the first run goes on undisturbed
    _kill_and_check_gone(first, log)


def test_kill_9_of_serve_with_two_workers_leaves_no_worker(
    env: dict[str, str], tmp_path: Path, free_port: object, started: list[subprocess.Popen[bytes]],
) -> None:
    port = free_port()  # type: ignore[operator]
    log = tmp_path / "serve.log"
    process = _start(started, ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"], env, log)

    def ready() -> bool:
        assert process.poll() is None, log.read_text(errors="replace")
        try:
            answer = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
        except httpx.TransportError:
            return False
        return answer.status_code == 200 and len(_workers(process.pid)) == 2

    wait_for(ready, "serve ready with two workers", poll_s=0.25)
    _kill_and_check_gone(process, log)
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)


def test_a_build_killed_while_writing_is_cleaned_up_by_the_next_build_of_any_snapshot(
    mini_copy: Path, tmp_path: Path, started: list[subprocess.Popen[bytes]],
) -> None:
    """The killed build's snapshot is never finished; the next build is of another snapshot, already built."""
    out = tmp_path / "snapshots"
    build = ["etl", "build", "--out", str(out), "--source-dir"]
    first = subprocess.run([str(RAREGRAPH), *build, str(MINI_RELEASE)], check=True, capture_output=True, text=True,
                           timeout=600).stdout.strip().splitlines()[-1]
    other = mini_copy / "hp.obo"  # another release: another snapshot id
    other.write_text(other.read_text(encoding="utf-8").replace("name: Arachnodactyly", "name: Arachnodactyly (x)"),
                     encoding="utf-8")
    log = tmp_path / "build.log"
    for _ in range(20):  # the mini release is written in a blink: try until the kill lands while it writes
        process = _start(started, [*build, str(mini_copy)], dict(os.environ), log)
        while not any(out.glob(".tmp-hpo-*")) and process.poll() is None:
            pass  # no sleep: the write phase of the mini release is short
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
            break
        for folder in out.iterdir():  # it finished first: remove its snapshot and try again
            if folder.name != Path(first).name:
                shutil.rmtree(folder)
    else:
        pytest.fail("never killed a build while it wrote its snapshot")
    assert list(out.glob(".tmp-hpo-*")), "the kill left no staging folder"

    again = subprocess.run([str(RAREGRAPH), *build, str(MINI_RELEASE)], capture_output=True, text=True, timeout=600,
                           check=False)
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in out.iterdir()) == [Path(first).name]  # the killed build's half snapshot is gone
