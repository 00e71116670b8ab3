"""The worked examples in notebooks/ run as written (their code cells, in order, in one namespace)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from raregraph.etl.snapshot import Snapshot

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
DATA = Path(__file__).resolve().parent / "data"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_cells_run(notebook: Path, default_snapshot: Snapshot, monkeypatch: pytest.MonkeyPatch,
                            tmp_path: Path) -> None:
    monkeypatch.setenv("RAREGRAPH_SNAPSHOT_DIR", str(default_snapshot.path.parent))
    monkeypatch.setenv("RAREGRAPH_RELEASE", "2025-01-16")  # the session's snapshot (the default pulls the latest)
    # The evaluation notebook draws from benchmark JSON: a real run's output kept in tests/data.
    monkeypatch.setenv("RAREGRAPH_EVAL_RESULTS", str(DATA / "benchmarks"))
    monkeypatch.setenv("RAREGRAPH_EVAL_FIGURES", str(tmp_path))
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
    if notebook.name == "evaluation.ipynb":
        # a top-k panel per population x track x protocol and per RareBench cohort, one accuracy summary,
        # a reliability diagram per population x track
        results = json.loads((DATA / "benchmarks" / "ranking.json").read_text(encoding="utf-8"))
        calibration = json.loads((DATA / "benchmarks" / "calibration.json").read_text(encoding="utf-8"))
        panels = sum(len(p) for p in results["results"].values()) + len(results["rarebench"]["cohorts"])
        diagrams = sum(len(b["tracks"]) for b in calibration["populations"].values())
        assert len(list(tmp_path.glob("ranking-*.png"))) == panels
        assert len(list(tmp_path.glob("calibration-*.png"))) == diagrams
        assert (tmp_path / "accuracy-per-population.png").stat().st_size > 1000
