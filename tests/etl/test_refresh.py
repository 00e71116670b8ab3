"""`data refresh` = pull → build → diff → switch, and `data use`: the active snapshot changes only in the
last step, a failure names its step, and kill -9 at any step leaves the previous snapshot serving (issue 14)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from raregraph.api.cli import app
from raregraph.errors import RefreshError
from raregraph.etl.active import ACTIVE_FILE, read_active, write_active
from raregraph.etl.catalog import FilePin, Release, WheelPin
from raregraph.etl.pull import PullOptions
from raregraph.etl.refresh import refresh
from raregraph.etl.snapshot import Snapshot
from raregraph.etl.sources.base import sha256_of
from raregraph.processes import dies_with_this_process
from tests.conftest import MINI_RELEASE

runner = CliRunner()
FILES = (("hp.obo", "obo"), ("phenotype.hpoa", "hpoa"), ("genes_to_phenotype.txt", "none"))


def _pins(folder: Path, name: str) -> Release:
    wheel = WheelPin("minidata", "0.1.0", "0" * 64)
    return Release(name, tuple(
        FilePin(path, sha256_of(folder / path), kind, None, wheel, f"m/{path}", f"https://example.org/{path}")
        for path, kind in FILES
    ), note="test")


def _next_release(tmp_path: Path) -> Path:
    """The mini release with one term relabelled and one disease annotation added."""
    folder = tmp_path / "next"
    folder.mkdir()
    for name, _ in FILES:
        (folder / name).write_bytes((MINI_RELEASE / name).read_bytes())
    obo = (folder / "hp.obo").read_text(encoding="utf-8")
    (folder / "hp.obo").write_text(obo.replace("name: Arachnodactyly", "name: Arachnodactyly (long fingers)"), encoding="utf-8")
    hpoa = (folder / "phenotype.hpoa").read_text(encoding="utf-8")
    row = "OMIM:999999\tA new disease\t\tHP:0001166\tPMID:9\tPCS\t\t\t\t\tP\tHPO:test[2026-06-06]\n"
    (folder / "phenotype.hpoa").write_text(hpoa + row, encoding="utf-8")
    return folder


def _refresh(source: Path, name: str, tmp_path: Path, **kwargs: object) -> object:
    options = PullOptions(release=name, source=source, dest=tmp_path / "releases")
    return refresh(options, tmp_path / "snapshots", pins=_pins(source, name), **kwargs)  # type: ignore[arg-type]


def test_refresh_switches_only_at_the_end_and_writes_the_diff(tmp_path: Path) -> None:
    first = _refresh(MINI_RELEASE, "2024-04-26", tmp_path)
    assert first.previous is None and first.diff is None  # type: ignore[attr-defined]
    old_id = first.snapshot.id  # type: ignore[attr-defined]
    assert read_active(tmp_path / "snapshots") == old_id
    second = _refresh(_next_release(tmp_path), "2026-06-06", tmp_path)
    assert second.previous == old_id and read_active(tmp_path / "snapshots") == second.snapshot.id  # type: ignore[attr-defined]
    diff = json.loads(second.diff_file.read_text(encoding="utf-8"))  # type: ignore[attr-defined]
    assert diff["summary"]["terms relabelled"] == 1 and diff["diseases_added"] == [{"id": "OMIM:999999", "name": "A new disease"}]


def test_a_failed_build_leaves_the_active_snapshot_and_names_the_step(tmp_path: Path) -> None:
    old_id = _refresh(MINI_RELEASE, "2024-04-26", tmp_path).snapshot.id  # type: ignore[attr-defined]
    broken = _next_release(tmp_path)
    (broken / "genes_to_phenotype.txt").write_text("not\ta\tgenes table\n", encoding="utf-8")  # pinned, but unparsable
    with pytest.raises(RefreshError, match="at step 'build'") as caught:
        _refresh(broken, "2026-06-06", tmp_path)
    assert caught.value.step == "build" and read_active(tmp_path / "snapshots") == old_id


def test_a_failed_pull_leaves_the_active_snapshot_and_names_the_step(tmp_path: Path) -> None:
    old_id = _refresh(MINI_RELEASE, "2024-04-26", tmp_path).snapshot.id  # type: ignore[attr-defined]
    pins = _pins(MINI_RELEASE, "2026-06-06")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(RefreshError, match="at step 'pull'.*missing in"):
        refresh(PullOptions(release="2026-06-06", source=empty, dest=tmp_path / "releases"), tmp_path / "snapshots", pins=pins)
    assert read_active(tmp_path / "snapshots") == old_id


def test_an_unreachable_neo4j_fails_the_switch_and_keeps_the_active_snapshot(tmp_path: Path, free_port: object) -> None:
    from raregraph.api.cli.data import _neo4j_switch
    from raregraph.settings import Settings

    old_id = _refresh(MINI_RELEASE, "2024-04-26", tmp_path).snapshot.id  # type: ignore[attr-defined]
    settings = Settings(backend="neo4j", neo4j_uri=f"bolt://127.0.0.1:{free_port()}", _env_file=None)  # type: ignore[call-arg, operator]
    with pytest.raises(RefreshError, match="at step 'switch'"):
        _refresh(_next_release(tmp_path), "2026-06-06", tmp_path, extra_switch=_neo4j_switch(settings))
    assert read_active(tmp_path / "snapshots") == old_id


def test_data_use_switches_back_and_diagnose_serves_the_active_snapshot(tmp_path: Path) -> None:
    old_id = _refresh(MINI_RELEASE, "2024-04-26", tmp_path).snapshot.id  # type: ignore[attr-defined]
    new_id = _refresh(_next_release(tmp_path), "2026-06-06", tmp_path).snapshot.id  # type: ignore[attr-defined]
    env = {"RAREGRAPH_SNAPSHOT_DIR": str(tmp_path / "snapshots"), "RAREGRAPH_EMBEDDING_ENABLED": "false"}
    served = runner.invoke(app, ["diagnose", "--hpo", "HP:0001166", "--json"], env=env)
    assert served.exit_code == 0, served.output
    assert json.loads(served.stdout)["snapshot_id"] == new_id
    result = runner.invoke(app, ["data", "use", old_id], env=env)
    assert result.exit_code == 0, result.output
    assert read_active(tmp_path / "snapshots") == old_id
    served = runner.invoke(app, ["diagnose", "--hpo", "HP:0001166", "--json"], env=env)
    assert json.loads(served.stdout)["snapshot_id"] == old_id
    missing = runner.invoke(app, ["data", "use", "hpo-nope"], env=env)
    assert missing.exit_code == 4 and read_active(tmp_path / "snapshots") == old_id


_SWITCH_LOOP = """
import sys
from pathlib import Path
from raregraph.etl.active import write_active
root, ids = Path(sys.argv[1]), sys.argv[2:]
print("ready", flush=True)
while True:
    for i in ids:
        write_active(root, i)
"""


def test_kill_9_during_switches_leaves_a_valid_pointer(tmp_path: Path) -> None:
    first = _refresh(MINI_RELEASE, "2024-04-26", tmp_path).snapshot.id  # type: ignore[attr-defined]
    second = _refresh(_next_release(tmp_path), "2026-06-06", tmp_path).snapshot.id  # type: ignore[attr-defined]
    root = tmp_path / "snapshots"
    for delay in (0.05, 0.2, 0.37):
        with subprocess.Popen([sys.executable, "-c", _SWITCH_LOOP, str(root), first, second], stdout=subprocess.PIPE,
                              preexec_fn=dies_with_this_process()) as process:
            assert process.stdout is not None and process.stdout.readline().strip() == b"ready"
            time.sleep(delay)
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        assert read_active(root) in (first, second)  # whole old or whole new, never torn
    write_active(root, first)  # the next switch clears the killed ones' temporary files
    assert read_active(root) == first and [p.name for p in root.iterdir() if p.name.startswith(".tmp-")] == []


_BUILD = """
import sys
from pathlib import Path
from raregraph.etl.build import BuildInputs, build_snapshot
from raregraph.etl.locate import default_hpo_dir
print(build_snapshot(BuildInputs.discover(default_hpo_dir()), Path(sys.argv[1])).id, flush=True)
"""


@pytest.mark.slow
def test_kill_9_during_a_build_leaves_the_active_snapshot_and_a_rerun_completes(tmp_path: Path) -> None:
    old_id = _refresh(MINI_RELEASE, "2024-04-26", tmp_path).snapshot.id  # type: ignore[attr-defined]
    root = tmp_path / "snapshots"
    process = subprocess.Popen([sys.executable, "-c", _BUILD, str(root)], preexec_fn=dies_with_this_process())
    deadline = time.monotonic() + 300
    while not list(root.glob(".tmp-hpo-*")) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert list(root.glob(".tmp-hpo-*")), "never saw the build writing its staging folder"
    os.kill(process.pid, signal.SIGKILL)  # killed while writing the snapshot's tables
    process.wait(timeout=30)
    assert read_active(root) == old_id
    assert [p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")] == [old_id]  # nothing half-built
    new_id = subprocess.run([sys.executable, "-c", _BUILD, str(root)], check=True, capture_output=True, text=True,
                            timeout=600).stdout.strip()
    assert Snapshot.open(root / new_id).manifest["snapshot_id"] == new_id
    assert [p.name for p in root.iterdir() if p.name.startswith(".tmp-")] == []
    assert (root / ACTIVE_FILE).read_text(encoding="utf-8").strip() == old_id  # a build never switches


@pytest.mark.integration
def test_refresh_with_neo4j_loads_and_activates_there_then_use_switches_back(
    tmp_path: Path, neo4j_server: object, neo4j_driver: object,
) -> None:
    from raregraph.api.cli.data import _neo4j_switch
    from raregraph.kg.neo4j import Neo4jGraph
    from raregraph.settings import Settings

    settings = Settings(backend="neo4j", neo4j_uri=neo4j_server.bolt_uri, _env_file=None)  # type: ignore[attr-defined, call-arg]
    switch = _neo4j_switch(settings)
    old = _refresh(MINI_RELEASE, "2024-04-26", tmp_path, extra_switch=switch).snapshot  # type: ignore[attr-defined]
    new = _refresh(_next_release(tmp_path), "2026-06-06", tmp_path, extra_switch=switch).snapshot  # type: ignore[attr-defined]
    assert Neo4jGraph(neo4j_driver).snapshot_id == new.id == read_active(tmp_path / "snapshots")
    env = {"RAREGRAPH_SNAPSHOT_DIR": str(tmp_path / "snapshots"), "RAREGRAPH_BACKEND": "neo4j",
           "RAREGRAPH_NEO4J_URI": neo4j_server.bolt_uri}  # type: ignore[attr-defined]
    result = runner.invoke(app, ["data", "use", old.id], env=env)
    assert result.exit_code == 0, result.output
    assert Neo4jGraph(neo4j_driver).snapshot_id == old.id == read_active(tmp_path / "snapshots")
