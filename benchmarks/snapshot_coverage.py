"""Benchmark: how many dev cases' diagnoses a snapshot holds, and how many have no gene link there.

    .venv/bin/python benchmarks/snapshot_coverage.py SNAPSHOT_FOLDER [SNAPSHOT_FOLDER ...]

A diagnosis is "in the snapshot" when one of its ids has a positive phenotype annotation; it "has
no gene link" when none of its ids is in `disease_genes`. Prints a table (dev_cases and dev_sample)
and writes benchmarks/results/snapshot_coverage.json.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import polars as pl

from raregraph.etl.snapshot import Snapshot

EVAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "eval"
RESULTS = Path(__file__).parent / "results"


def coverage(snapshot: Snapshot, gold_file: Path) -> dict[str, object]:
    annotated = set(snapshot.table("disease_phenotypes").filter(~pl.col("negated"))["disease_id"].unique())
    linked = set(snapshot.table("disease_genes")["disease_id"].unique())
    gold = [json.loads(line) for line in gold_file.open(encoding="utf-8")]
    present = [g for g in gold if set(g["diagnosis_ids"]) & annotated]
    no_link = [g for g in present if not set(g["diagnosis_ids"]) & linked]
    return {"cases": len(gold), "diagnosis_in_snapshot": len(present), "share_in_snapshot": round(len(present) / len(gold), 4),
            "diagnosis_without_gene_link": len(no_link), "annotated_diseases_without_gene_link": len(annotated - linked)}


def main() -> None:
    out: dict[str, object] = {}
    print(f"{'snapshot':<30}{'cases':<12}{'in snapshot':>14}{'no gene link':>14}")
    for folder in sys.argv[1:]:
        snapshot = Snapshot.open(Path(folder))
        for name in ("dev_cases", "dev_sample"):
            row = coverage(snapshot, EVAL / f"{name}_gold.jsonl")
            out[f"{snapshot.id}/{name}"] = row
            print(f"{snapshot.id:<30}{name:<12}{row['diagnosis_in_snapshot']:>6} ({100 * row['share_in_snapshot']:.1f} %)"
                  f"{row['diagnosis_without_gene_link']:>14}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "snapshot_coverage.json").write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
