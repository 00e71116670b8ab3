"""Benchmark: build the default snapshot from the bundled HPO release; time and peak memory.

Each run builds into a fresh temporary folder in a child process (so peak RSS is the build's
own), and the ranking-index load of the result is timed beside it as the in-run peer.

    .venv/bin/python benchmarks/etl_build.py [--repeat 3]

Prints a table and writes benchmarks/results/etl_build.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"

_CHILD = r"""
import json, resource, sys, time
from pathlib import Path
t0 = time.perf_counter()
from raregraph.etl.build import BuildInputs, build_snapshot
from raregraph.etl.locate import default_hpo_dir
from raregraph.etl.sources.hpo import find_hpo_files
snap = build_snapshot(BuildInputs(find_hpo_files(default_hpo_dir())), Path(sys.argv[1]))
t1 = time.perf_counter()
from raregraph.kg.embedded import EmbeddedGraph
graph = EmbeddedGraph(snap)
graph.ontology
t2 = time.perf_counter()
print(json.dumps({"build_s": t1 - t0, "index_load_s": t2 - t1, "snapshot_id": snap.id,
                  "tables": snap.manifest["tables"],
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_once() -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([sys.executable, "-c", _CHILD, tmp], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    runs = [run_once() for _ in range(args.repeat)]
    build = [float(r["build_s"]) for r in runs]
    load = [float(r["index_load_s"]) for r in runs]
    rss = [float(r["peak_rss_mib"]) for r in runs]
    summary = {
        "benchmark": "etl_build",
        "snapshot_id": runs[0]["snapshot_id"],
        "tables": runs[0]["tables"],
        "repeat": args.repeat,
        "build_s_median": round(statistics.median(build), 2),
        "build_s_runs": [round(b, 2) for b in build],
        "index_load_s_median": round(statistics.median(load), 2),
        "build_to_index_load_ratio": round(statistics.median(build) / statistics.median(load), 1),
        "peak_rss_mib_max": round(max(rss), 1),
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        "parent_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "etl_build.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(f"{'metric':<34}{'value':>12}")
    for key in ("build_s_median", "index_load_s_median", "build_to_index_load_ratio", "peak_rss_mib_max"):
        print(f"{key:<34}{summary[key]:>12}")
    print(f"runs: {summary['build_s_runs']} s; wrote {RESULTS / 'etl_build.json'}")


if __name__ == "__main__":
    main()
