"""Benchmark: is the engine's probability calibrated? Reliability table and Brier score on dev cases.

For every case whose diagnosis is in the ranking universe, the top candidate's probability is
compared with whether it is correct (one of the gold ids or their equivalents). Cases are
binned by that probability; a calibrated model has accuracy ≈ mean probability in every bin.
Also reports the Brier score of the full posterior restricted to the gold (1 - p_gold)² + Σ others.

    .venv/bin/python benchmarks/calibration.py [--cases dev_cases] [--tracks p,pv]

Prints a table per track and writes benchmarks/results/calibration.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from raregraph.models import CaseRequest
from raregraph.api.service import build_service
from raregraph.retrieval.case import LENIENT
from raregraph.settings import Settings

EVAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "eval"
RESULTS = Path(__file__).parent / "results"
BINS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0001)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="dev_cases", help="dev_cases or dev_sample")
    parser.add_argument("--tracks", default="p,pv")
    args = parser.parse_args()
    service = build_service(Settings())
    engine = service.engine
    position = {d: i for i, d in enumerate(engine.index.disease_ids)}
    gold = {g["id"]: g["diagnosis_ids"] for g in map(json.loads, (EVAL / f"{args.cases}_gold.jsonl").read_text().splitlines())}
    report: dict[str, object] = {"benchmark": "calibration", "cases": args.cases, "snapshot_id": service.snapshot_id,
                                 "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "tracks": {}}
    for track in args.tracks.split(","):
        confidence, correct, brier = [], [], []
        for line in (EVAL / f"{args.cases}_{track}.jsonl").read_text().splitlines():
            request = CaseRequest.model_validate_json(line)
            rows = [position[d] for d in gold[request.id or ""] if d in position]
            if not rows:
                continue  # out of universe: no probability can be right
            try:
                case = service.resolve(request, LENIENT)
            except Exception:  # noqa: BLE001 - a case with nothing to rank on is skipped here
                continue
            vector, hits, _ = service.cases.vectors(case)
            scored = engine.score(vector, hits)
            groups = engine.groups.group_of
            posterior = engine.group_probabilities(scored.total.astype(np.float64), scored.temperature)
            top = engine.rank(scored, top=1)[0]
            gold_groups = {int(groups[r]) for r in rows}
            confidence.append(top.probability)
            correct.append(float(int(groups[top.row]) in gold_groups))
            p_gold = sum(posterior[g] for g in gold_groups)
            brier.append((1 - p_gold) ** 2 + float((posterior ** 2).sum() - sum(posterior[g] ** 2 for g in gold_groups)))
        conf, corr = np.array(confidence), np.array(correct)
        table = []
        for low, high in zip(BINS[:-1], BINS[1:]):
            mask = (conf >= low) & (conf < high)
            if mask.any():
                table.append({"bin": f"{low:.1f}-{min(high, 1):.1f}", "n": int(mask.sum()),
                              "mean_probability": round(float(conf[mask].mean()), 3),
                              "accuracy": round(float(corr[mask].mean()), 3)})
        ece = sum(row["n"] * abs(row["mean_probability"] - row["accuracy"]) for row in table) / max(len(conf), 1)
        summary = {"n_in_universe": len(conf), "top1_accuracy": round(float(corr.mean()), 4),
                   "mean_top1_probability": round(float(conf.mean()), 4),
                   "brier_top1": round(float(((conf - corr) ** 2).mean()), 4),
                   "brier_multiclass": round(float(np.mean(brier)), 4), "ece": round(float(ece), 4),
                   "reliability": table}
        report["tracks"][track] = summary  # type: ignore[index]
        print(f"\ntrack {track.upper()} ({args.cases}, in-universe n={len(conf)})")
        print(f"{'bin':<10}{'n':>6}{'mean p':>9}{'accuracy':>10}")
        for row in table:
            print(f"{row['bin']:<10}{row['n']:>6}{row['mean_probability']:>9.3f}{row['accuracy']:>10.3f}")
        print(f"top-1 accuracy {summary['top1_accuracy']}, mean p {summary['mean_top1_probability']}, "
              f"Brier(top-1) {summary['brier_top1']}, Brier(multiclass) {summary['brier_multiclass']}, ECE {summary['ece']}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "calibration.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
