"""`raregraph diagnose` with variants and phenopackets; `rank` over a phenopacket folder with workers."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from raregraph.api.cli import app
from raregraph.etl.snapshot import Snapshot
from tests.conftest import TEST_DATA

runner = CliRunner()
PHENOPACKETS = TEST_DATA / "eval" / "phenopackets"


@pytest.fixture
def env(default_snapshot: Snapshot) -> dict[str, str]:
    return {"RAREGRAPH_SNAPSHOT_DIR": str(default_snapshot.path.parent), "RAREGRAPH_RELEASE": "2025-01-16"}


def test_diagnose_with_a_typed_variant_cites_the_gene(env: dict[str, str]) -> None:
    result = runner.invoke(app, ["diagnose", "--hpo", "HP:0001166", "--variant", "FBN1:c.8080C>T", "--zygosity", "heterozygous", "--json"], env=env)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["case"]["variants"] == [
        {"index": 0, "gene_id": "NCBIGene:2200", "symbol": "FBN1", "zygosity": "heterozygous", "resolved": True}
    ]
    top = doc["candidates"][0]
    assert [g["symbol"] for g in top["evidence"]["genes"]] == ["FBN1"]
    assert top["genotype_score"] > 0


def test_diagnose_a_phenopacket_never_sees_its_answer(env: dict[str, str]) -> None:
    packet = sorted(PHENOPACKETS.glob("*.json"))[0]
    result = runner.invoke(app, ["diagnose", "--phenopacket", str(packet), "--json", "--replace-obsolete"], env=env)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["case"]["present"] and doc["candidates"]


def test_diagnose_reports_a_broken_vcf_line(env: dict[str, str], tmp_path: Path) -> None:
    vcf = tmp_path / "bad.vcf"
    vcf.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n1\tnotapos\t.\tA\tG\t.\t.\t.\n", encoding="utf-8")
    result = runner.invoke(app, ["diagnose", "--hpo", "HP:0001166", "--vcf", str(vcf)], env=env)
    assert result.exit_code == 3
    assert f"{vcf}:3" in " ".join(result.stderr.split())


def test_rank_phenopacket_folder_with_two_workers_matches_one(env: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "packets"
    folder.mkdir()
    for packet in sorted(PHENOPACKETS.glob("*.json"))[:6]:
        shutil.copy(packet, folder / packet.name)
    (folder / "zz_broken.json").write_text("{not json", encoding="utf-8")
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    assert runner.invoke(app, ["rank", "--input", str(folder), "--output", str(one)], env=env).exit_code == 0
    result = runner.invoke(app, ["rank", "--input", str(folder), "--output", str(two), "--workers", "2"], env=env)
    assert result.exit_code == 0, result.output
    assert one.read_text() == two.read_text()
    lines = [json.loads(line) for line in one.read_text().splitlines()]
    assert len(lines) == 7
    assert lines[-1]["ranking"] == [] and "zz_broken.json" in lines[-1]["warnings"][0]
