"""The `raregraph` command as a user runs it: diagnose, rank, eval, etl build/diff, and its errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from raregraph.api.cli import app
from raregraph.etl.snapshot import Snapshot
from tests.conftest import MINI_RELEASE, TEST_DATA

runner = CliRunner()


@pytest.fixture
def env(default_snapshot: Snapshot) -> dict[str, str]:
    """Point the CLI at the session's snapshot folder, where the 2025-01-16 snapshot is already built (these
    tests pin that release's figures; the default is the latest release, pulled on first use)."""
    return {"RAREGRAPH_SNAPSHOT_DIR": str(default_snapshot.path.parent), "RAREGRAPH_RELEASE": "2025-01-16"}


def test_diagnose_json_lists_candidates_best_first(env: dict[str, str]) -> None:
    result = runner.invoke(app, ["diagnose", "--hpo", "HP:0001166,HP:0001083", "--hpo", "HP:0002616", "--top", "10", "--json"], env=env)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    candidates = doc["candidates"]
    assert len(candidates) == 10
    assert {"disease_id", "name", "score", "rank"} <= set(candidates[0])
    assert [c["score"] for c in candidates] == sorted((c["score"] for c in candidates), reverse=True)
    assert "OMIM:154700" in [c["disease_id"] for c in candidates]
    assert [t["label"] for t in doc["case"]["present"]] == ["Arachnodactyly", "Ectopia lentis", "Aortic root aneurysm"]


def test_diagnose_table_output(env: dict[str, str]) -> None:
    result = runner.invoke(app, ["diagnose", "--hpo", "HP:0001166", "--exclude", "HP:0001250", "--top", "3"], env=env)
    assert result.exit_code == 0, result.output
    assert "Differential" in result.stdout


def test_diagnose_table_shows_each_candidates_prior(env: dict[str, str]) -> None:
    """The disease prior is part of the score, so the table says what it added and from which facts."""
    result = runner.invoke(app, ["diagnose", "--hpo", "HP:0001166,HP:0001083", "--top", "5"], env={**env, "COLUMNS": "240"})
    assert result.exit_code == 0, result.output
    assert "prior +" in result.stdout and "PMIDs)" in result.stdout


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        ("HP:9999999", "unknown HPO term id(s): HP:9999999"),
        ("HP:0000057", "obsolete HPO term id HP:0000057: replaced by HP:0008665"),
        ("HP:1", "expected an HPO id like HP:0001250"),
    ],
)
def test_bad_ids_on_the_command_line(env: dict[str, str], ids: str, message: str) -> None:
    result = runner.invoke(app, ["diagnose", "--hpo", ids], env=env)
    assert result.exit_code == 2
    assert message in " ".join(result.stderr.split())


def test_empty_case_is_refused(env: dict[str, str]) -> None:
    result = runner.invoke(app, ["diagnose"], env=env)
    assert result.exit_code == 2
    assert "nothing to rank on" in result.stderr


def test_rank_and_eval_on_dev_cases(env: dict[str, str], tmp_path: Path) -> None:
    cases = (TEST_DATA / "eval" / "dev_sample.jsonl").read_text(encoding="utf-8").splitlines()[:20]
    broken = '{"id": "broken", "hpo_present": ["HP:12"]}'
    empty = '{"id": "empty", "hpo_present": ["HP:9999999"]}'
    cases_file = tmp_path / "cases.jsonl"
    cases_file.write_text("\n".join([*cases, broken, empty]) + "\n", encoding="utf-8")
    out = tmp_path / "ranked.jsonl"

    result = runner.invoke(app, ["rank", "--input", str(cases_file), "--output", str(out)], env=env)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 22
    assert all(len(line["ranking"]) == 100 for line in lines[:20])
    assert lines[0]["id"] == json.loads(cases[0])["id"]
    assert lines[20]["ranking"] == [] and lines[20]["warnings"][0].startswith(f"{cases_file}:21: ")
    assert lines[21]["ranking"] == [] and "nothing to rank on" in lines[21]["warnings"][-1]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no partial file, no lock left

    gold = tmp_path / "gold.jsonl"
    gold_lines = (TEST_DATA / "eval" / "dev_sample_gold.jsonl").read_text(encoding="utf-8").splitlines()[:20]
    gold.write_text("\n".join(gold_lines) + "\n", encoding="utf-8")
    summary = tmp_path / "summary.json"
    result = runner.invoke(app, ["eval", "--input", str(out), "--gold", str(gold), "--json-out", str(summary)])
    assert result.exit_code == 0, result.output
    doc = json.loads(summary.read_text(encoding="utf-8"))
    assert doc["n_cases"] == 20
    assert 0.0 <= doc["top1"] <= doc["top3"] <= doc["top10"] <= 1.0


def test_etl_build_and_diff_commands(tmp_path: Path) -> None:
    out = tmp_path / "snaps"
    result = runner.invoke(app, ["etl", "build", "--source-dir", str(MINI_RELEASE), "--out", str(out)])
    assert result.exit_code == 0, result.output
    built = Path(result.stdout.strip().splitlines()[-1])
    assert (built / "manifest.json").is_file()
    result = runner.invoke(app, ["etl", "diff", str(built), built.name, "--json"], env={"RAREGRAPH_SNAPSHOT_DIR": str(out)})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["summary"]["terms added"] == 0


def test_etl_build_reports_missing_source(tmp_path: Path) -> None:
    result = runner.invoke(app, ["etl", "build", "--source-dir", str(tmp_path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 3
    assert "hp.obo" in result.stderr
    assert not (tmp_path / "o").exists()
