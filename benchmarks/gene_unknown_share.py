"""Benchmark: the genotype credit for diseases with no gene link (`gene_unknown_share`), a grid on PV dev cases.

    .venv/bin/python benchmarks/gene_unknown_share.py SNAPSHOT_FOLDER [--cases outside|sample] [--track pv|p]
        [--shares 0,0.25,0.5,0.65,0.75,0.8,0.85,0.9,1]

Ranks the in-universe cases (gold id among the ranked diseases) of dev_cases outside dev_sample (default,
where weights are chosen) or of dev_sample, once per share, with the default engine otherwise; prints
top-1 / top-10 / MRR overall and on the cases whose gold has no gene link; writes
benchmarks/results/gene_unknown_share.json.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from raregraph.api.service import build_service
from raregraph.models import CaseRequest
from raregraph.retrieval.evaluation import case_outcome, summarize
from raregraph.settings import Settings

EVAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "eval"
RESULTS = Path(__file__).parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("snapshot", type=Path)
    parser.add_argument("--cases", choices=("outside", "sample"), default="outside")
    parser.add_argument("--track", choices=("pv", "p"), default="pv")
    parser.add_argument("--shares", default="0,0.25,0.5,0.65,0.75,0.8,0.85,0.9,1")
    args = parser.parse_args()
    gold = {g["id"]: g["diagnosis_ids"] for g in map(json.loads, (EVAL / "dev_cases_gold.jsonl").open(encoding="utf-8"))}
    sample = {json.loads(line)["id"] for line in (EVAL / "dev_sample_gold.jsonl").open(encoding="utf-8")}
    cases = [c for c in map(json.loads, (EVAL / f"dev_cases_{args.track}.jsonl").open(encoding="utf-8"))
             if (c["id"] in sample) == (args.cases == "sample")]
    service = build_service(Settings(snapshot=str(args.snapshot), embedding_enabled=False))
    index = service.engine.index
    geneless = {d for d, none in zip(index.disease_ids, np.diff(index.disease_genes.tocsr().indptr) == 0) if none}
    ranked = set(index.disease_ids)
    cases = [c for c in cases if set(gold[c["id"]]) & ranked]
    unlinked = {c["id"] for c in cases if not (set(gold[c["id"]]) & ranked) - geneless}
    print(f"{len(cases)} in-universe {args.track} cases ({args.cases}), {len(unlinked)} whose gold has no gene link")
    base, rows = service.engine.genotype.params, []
    for share in (float(x) for x in args.shares.split(",")):
        service.engine.genotype.params = replace(base, gene_unknown_share=share)
        started = time.perf_counter()
        outcomes = [case_outcome(c["id"], [r.model_dump() for r in service.rank_line(CaseRequest.model_validate(c)).ranking],
                                 gold[c["id"]]) for c in cases]
        everything = summarize(outcomes).to_json()
        lagging = summarize([o for o, c in zip(outcomes, cases) if c["id"] in unlinked]).to_json()
        rows.append({"share": share, "all": everything, "gold_without_gene_link": lagging,
                     "seconds": round(time.perf_counter() - started, 1)})
        print(f"share {share:<5} top-1 {everything['top1']:.3f} top-10 {everything['top10']:.3f} MRR {everything['mrr']:.3f} | "
              f"no gene link: top-1 {lagging['top1']:.3f} top-10 {lagging['top10']:.3f}", flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "gene_unknown_share.json").write_text(json.dumps(
        {"snapshot": str(args.snapshot), "cases": args.cases, "track": args.track, "n_cases": len(cases),
         "n_gold_without_gene_link": len(unlinked), "rows": rows}, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
