"""`raregraph diagnose --text / --text-file / stdin` prints the understood case above the differential (issue 16)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from raregraph.api.cli import app
from raregraph.etl.snapshot import Snapshot

runner = CliRunner()
NOTE = "Tall boy with arachnodactyly and ectopia lentis. No seizures. His mother has scoliosis."


@pytest.fixture
def env(default_snapshot: Snapshot) -> dict[str, str]:
    return {"RAREGRAPH_SNAPSHOT_DIR": str(default_snapshot.path.parent), "RAREGRAPH_EMBEDDING_ENABLED": "false",
            "COLUMNS": "200"}


def test_text_is_understood_then_ranked(env: dict[str, str]) -> None:
    result = runner.invoke(app, ["diagnose", "--text", NOTE, "--top", "3"], env=env)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.index("Understood from the text") < out.index("Differential")
    for mention, assertion in (("arachnodactyly", "present"), ("seizures", "negated"), ("scoliosis", "family")):
        line = next(row for row in out.splitlines() if mention in row)
        assert assertion in line and "exact" in line and "1.00" in line
    assert "not linked" in out and "Tall boy" in out


def test_text_file_and_stdin_give_the_same_case(env: dict[str, str], tmp_path: Path) -> None:
    note = tmp_path / "note.txt"
    note.write_text(NOTE, encoding="utf-8")
    from_file = runner.invoke(app, ["diagnose", "--text-file", str(note), "--json", "--top", "3"], env=env)
    from_stdin = runner.invoke(app, ["diagnose", "--text", "-", "--json", "--top", "3"], env=env, input=NOTE)
    assert from_file.exit_code == 0 and from_stdin.exit_code == 0, from_file.output + from_stdin.output
    a, b = json.loads(from_file.stdout), json.loads(from_stdin.stdout)
    assert a["case"] == b["case"] and a["candidates"] == b["candidates"]
    assert [t["id"] for t in a["case"]["present"]] == ["HP:0001166", "HP:0001083"]
    assert [t["id"] for t in a["case"]["excluded"]] == ["HP:0001250"]
    assert a["case"]["text"]["family"] == ["HP:0002650"] and a["llm"]["status"] == "off"


def test_bad_text_input_is_a_clear_error(env: dict[str, str], tmp_path: Path) -> None:
    missing = runner.invoke(app, ["diagnose", "--text-file", str(tmp_path / "nope.txt")], env=env)
    assert missing.exit_code != 0 and "nope.txt: no such file" in missing.output
    both = runner.invoke(app, ["diagnose", "--text", "x", "--text-file", str(tmp_path / "nope.txt")], env=env)
    assert both.exit_code != 0 and "not both" in both.output
    binary = tmp_path / "scan.pdf"
    binary.write_bytes(b"%PDF-1.7\xff\xfe\x00")
    bad = runner.invoke(app, ["diagnose", "--text-file", str(binary)], env=env)
    assert bad.exit_code != 0 and "not UTF-8" in bad.output
