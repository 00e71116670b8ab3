"""The worked examples in notebooks/ run as written (their code cells, in order, in one namespace)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from raregraph.etl.snapshot import Snapshot

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_cells_run(notebook: Path, default_snapshot: Snapshot, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAREGRAPH_SNAPSHOT_DIR", str(default_snapshot.path.parent))
    monkeypatch.setenv("RAREGRAPH_RELEASE", "2025-01-16")  # the session's snapshot (the default pulls the latest)
    # The embedding tier would encode all ~39k HPO names for this fresh snapshot (minutes on 2 cores);
    # it has its own tests on a restricted index, so the notebook runs on the exact tier here.
    monkeypatch.setenv("RAREGRAPH_EMBEDDING_ENABLED", "false")
    monkeypatch.chdir(notebook.parents[1])  # notebooks are run from the repository root
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    namespace: dict[str, object] = {}
    for cell in cells:
        if cell["cell_type"] == "code":
            exec(compile("".join(cell["source"]), f"{notebook.name}", "exec"), namespace)  # noqa: S102
    assert os.environ["RAREGRAPH_SNAPSHOT_DIR"]
