"""Benchmark: is the engine's probability calibrated? Reliability table, Brier score and ECE per population.

For every case whose diagnosis the ranking universe can name (a gold id is a universe disease or one
of its exact equivalents), the top candidate's probability is compared with whether it is correct
(a gold id among its `disease_id` and `equivalent_ids`). Cases are binned by that probability; a
calibrated model has accuracy ≈ mean probability in every bin. Also reports the multiclass Brier
score of the posterior over the first 100 candidates, (1 - p_gold)² + Σ p_other² (the mass below
rank 100 is left out: a lower bound, within ~1e-3 on the dev cases).

Populations: phenopacket-store dev (`--cases dev_cases|dev_sample`, tracks P and PV) and the
RareBench development part (track P; `--no-rarebench` skips it).

    .venv/bin/python benchmarks/calibration.py [--cases dev_sample] [--tracks p,pv] [--no-rarebench]

Prints a table per population and track, writes benchmarks/results/calibration.json and a
reliability diagram per population and track (PNG, matplotlib) beside it.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import sys

import numpy as np

from raregraph.api.service import build_service
from raregraph.errors import RaregraphError
from raregraph.models import CaseRequest
from raregraph.retrieval.case import LENIENT
from raregraph.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/figures.py, also when loaded by path
from figures import pyplot, save_panel  # noqa: E402

EVAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "eval"
RESULTS = Path(__file__).parent / "results"
BINS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0001)
TOP = 100


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def calibrate(service: Any, lines: Iterable[Mapping[str, Any]], gold: Mapping[str, list[str]],
              rankable: frozenset[str]) -> dict[str, Any]:
    """Top-1 probability vs correctness over the cases whose gold the universe can name."""
    confidence, correct, brier = [], [], []
    for line in lines:
        request = CaseRequest.model_validate(line)
        gold_ids = set(gold[request.id or ""])
        if not gold_ids & rankable:
            continue  # out of universe: no probability can be right
        try:
            result = service.diagnose(request, top=TOP, policy=LENIENT, evidence=False)
        except RaregraphError:
            continue  # a case with nothing to rank on
        hits = [{c.disease_id, *c.equivalent_ids} & gold_ids != set() for c in result.candidates]
        probs = np.array([c.probability for c in result.candidates], dtype=np.float64)
        confidence.append(float(probs[0]))
        correct.append(float(hits[0]))
        p_gold = float(probs[np.array(hits)].sum()) if any(hits) else 0.0
        brier.append((1 - p_gold) ** 2 + float((probs[~np.array(hits)] ** 2).sum()))
    conf, corr = np.array(confidence), np.array(correct)
    table = []
    for low, high in zip(BINS[:-1], BINS[1:]):
        mask = (conf >= low) & (conf < high)
        if mask.any():
            table.append({"bin": f"{low:.1f}-{min(high, 1):.1f}", "n": int(mask.sum()),
                          "mean_probability": round(float(conf[mask].mean()), 3),
                          "accuracy": round(float(corr[mask].mean()), 3)})
    ece = sum(row["n"] * abs(row["mean_probability"] - row["accuracy"]) for row in table) / max(len(conf), 1)
    return {"n_in_universe": len(conf), "top1_accuracy": round(float(corr.mean()), 4) if len(conf) else None,
            "mean_top1_probability": round(float(conf.mean()), 4) if len(conf) else None,
            "brier_top1": round(float(((conf - corr) ** 2).mean()), 4) if len(conf) else None,
            "brier_multiclass_top100": round(float(np.mean(brier)), 4) if brier else None, "ece": round(float(ece), 4),
            "reliability": table}


def print_summary(title: str, summary: Mapping[str, Any]) -> None:
    print(f"\n{title} (in-universe n={summary['n_in_universe']})")
    print(f"{'bin':<10}{'n':>6}{'mean p':>9}{'accuracy':>10}")
    for row in summary["reliability"]:
        print(f"{row['bin']:<10}{row['n']:>6}{row['mean_probability']:>9.3f}{row['accuracy']:>10.3f}")
    print(f"top-1 accuracy {summary['top1_accuracy']}, mean p {summary['mean_top1_probability']}, "
          f"Brier(top-1) {summary['brier_top1']}, Brier(multiclass, top 100) {summary['brier_multiclass_top100']}, "
          f"ECE {summary['ece']}")


def plot_reliability(panels: Mapping[str, Mapping[str, Any]], stem: Path) -> list[Path]:
    """One reliability diagram per population x track: accuracy vs mean probability per bin, sized by count."""
    plt = pyplot()
    if plt is None:
        return []
    written = []
    for title, summary in panels.items():
        fig, ax = plt.subplots(figsize=(4.8, 4.6), dpi=110)
        ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="calibrated")
        rows = summary["reliability"]
        if rows:
            x = [r["mean_probability"] for r in rows]
            y = [r["accuracy"] for r in rows]
            ax.plot(x, y, color="tab:blue", linewidth=1.5)
            ax.scatter(x, y, s=[20 + 4 * r["n"] for r in rows], color="tab:blue", alpha=0.7, label="bins (size = cases)")
        ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="mean top-1 probability", ylabel="top-1 accuracy",
               title=f"{title}\nn={summary['n_in_universe']}, ECE {summary['ece']:.3f}, Brier {summary['brier_top1']}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper left")
        written.append(save_panel(plt, fig, stem, title))
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="dev_cases", help="dev_cases or dev_sample (phenopacket-store)")
    parser.add_argument("--tracks", default="p,pv")
    parser.add_argument("--no-rarebench", action="store_true", help="skip the RareBench population")
    parser.add_argument("--out", type=Path, default=RESULTS / "calibration.json")
    args = parser.parse_args()
    service = build_service(Settings())
    engine = service.engine
    rankable = frozenset(i for members in engine.groups.members for i in members)
    report: dict[str, Any] = {"benchmark": "calibration", "snapshot_id": service.snapshot_id,
                              "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "populations": {}}
    panels: dict[str, Mapping[str, Any]] = {}
    gold = {g["id"]: g["diagnosis_ids"] for g in read_jsonl(EVAL / f"{args.cases}_gold.jsonl")}
    block: dict[str, Any] = {"cases": args.cases, "tracks": {}}
    for track in args.tracks.split(","):
        summary = calibrate(service, read_jsonl(EVAL / f"{args.cases}_{track}.jsonl"), gold, rankable)
        block["tracks"][track] = summary
        panels[f"phenopacket-store {args.cases} {track.upper()}"] = summary
        print_summary(f"phenopacket-store {args.cases}, track {track.upper()}", summary)
    report["populations"]["phenopacket-store"] = block
    if not args.no_rarebench:
        lines = read_jsonl(EVAL / "rarebench_dev_p.jsonl")
        gold_lines = read_jsonl(EVAL / "rarebench_dev_gold.jsonl")
        rb_gold = {g["id"]: g["diagnosis_ids"] for g in gold_lines}
        summary = calibrate(service, lines, rb_gold, rankable)
        subsets = {g["id"]: g.get("subset") for g in gold_lines}
        per_cohort = {name: calibrate(service, [l for l in lines if subsets[l["id"]] == name], rb_gold, rankable)
                      for name in sorted({s for s in subsets.values() if s})}
        report["populations"]["rarebench"] = {"cases": "rarebench_dev", "tracks": {"p": summary}, "cohorts": per_cohort}
        panels["RareBench dev P"] = summary
        print_summary("RareBench dev (pooled), track P", summary)
        for name, cohort in per_cohort.items():
            print(f"  {name}: n={cohort['n_in_universe']} top-1 {cohort['top1_accuracy']} mean p "
                  f"{cohort['mean_top1_probability']} Brier {cohort['brier_top1']} ECE {cohort['ece']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    for png in plot_reliability(panels, args.out.with_suffix("")):
        print(f"wrote {png}")


if __name__ == "__main__":
    main()
