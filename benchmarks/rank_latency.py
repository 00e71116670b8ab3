"""Benchmark: per-case latency of `rank_line` (resolve, score, top 100) on the dev sample, both tracks.

The ranking benchmark (benchmarks/ranking.py) times the engine beside its peers; this one times
only the engine, several passes over the same cases, so that two versions of the code can be
compared on one machine in one sitting (A/B): run it, swap the code, run it again, and repeat.
For example, against the revision before the scoring-kernel change:

    .venv/bin/python benchmarks/rank_latency.py --label new
    git checkout 15a9190 -- retrieval kg && .venv/bin/python benchmarks/rank_latency.py --label old
    git checkout HEAD -- retrieval kg

Prints median / p95 / mean ms per case and writes benchmarks/results/rank_latency[-LABEL].json.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from raregraph.api.service import build_service
from raregraph.models import CaseRequest
from raregraph.settings import Settings

EVAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "eval"
RESULTS = Path(__file__).parent / "results"
WARM_UP = 50


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="dev_sample", help="dev_sample or dev_cases")
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--label", default="")
    args = parser.parse_args()
    started = time.perf_counter()
    service = build_service(Settings())
    build_s = time.perf_counter() - started
    report: dict[str, object] = {"benchmark": "rank_latency", "label": args.label, "cases": args.cases,
                                 "snapshot_id": service.snapshot_id, "build_service_s": round(build_s, 3),
                                 "load_average_start": list(os.getloadavg()), "tracks": {}}
    print(f"build_service {build_s:.2f} s")
    print(f"{'track':5} {'cases':>6} {'median ms':>10} {'p95 ms':>8} {'mean ms':>8}")
    for track in ("p", "pv"):
        lines = (EVAL / f"{args.cases}_{track}.jsonl").read_text(encoding="utf-8").splitlines()
        requests = [CaseRequest.model_validate(json.loads(line)) for line in lines if line.strip()]
        for request in requests[:WARM_UP]:
            service.rank_line(request)
        times = []
        for _ in range(args.passes):
            for request in requests:
                t0 = time.perf_counter()
                service.rank_line(request)
                times.append(time.perf_counter() - t0)
        ms = 1000 * np.array(times)
        row = {"cases": len(requests), "passes": args.passes, "median_ms": round(float(np.median(ms)), 3),
               "p95_ms": round(float(np.percentile(ms, 95)), 3), "mean_ms": round(float(ms.mean()), 3)}
        report["tracks"][track] = row  # type: ignore[index]
        print(f"{track:5} {row['cases']:>6} {row['median_ms']:>10.2f} {row['p95_ms']:>8.2f} {row['mean_ms']:>8.2f}")
    report["load_average_end"] = list(os.getloadavg())
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"rank_latency{'-' + args.label if args.label else ''}.json"
    out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(f"load average {report['load_average_start']} -> {report['load_average_end']}; wrote {out}")


if __name__ == "__main__":
    main()
