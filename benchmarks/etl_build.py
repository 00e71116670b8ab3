"""Benchmark: `data pull` + build of the latest release (the default snapshot: HPO 2026-06-06, Orphadata
1/4/9, MONDO), the HPO 2025-01-16 release alone, and that release plus every Orphadata/OMIM/ClinVar sample
in ../shared/data; time and peak memory of each.

Each run builds into a fresh temporary folder in a child process (so peak RSS is the build's
own), and the ranking-index load of the result is timed beside it as the in-run peer.

    .venv/bin/python benchmarks/etl_build.py [--repeat 3] [--latest-only]

Prints a table and writes benchmarks/results/etl_build.json (the HPO-only figures at the top
level, as before; the build with the samples under "with_samples").
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
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"

_CHILD = r"""
import json, resource, sys, time
from pathlib import Path
t0 = time.perf_counter()
from raregraph.etl.build import BuildInputs, build_snapshot
from raregraph.etl.locate import default_hpo_dir
from raregraph.etl.sources.hpo import find_hpo_files
inputs = BuildInputs(find_hpo_files(default_hpo_dir()))
pull_s = 0.0
if sys.argv[2] == "latest":  # `data pull --from registry` into a fresh folder (pip's cache warm), then the full build
    from raregraph.etl.pull import PullOptions, pull_release
    inputs = BuildInputs.discover(pull_release(PullOptions(dest=Path(sys.argv[1]) / ".releases")))
    pull_s = time.perf_counter() - t0
if sys.argv[2] == "samples":
    from raregraph.etl.sources.omim import OmimPaths
    from raregraph.etl.sources.orphadata import PRODUCTS, OrphadataPaths, load_orphadata, read_header
    shared = Path(sys.argv[3])
    heads = shared / "orphadata" / "release-heads_1.3.29-1.3.42"
    main = OrphadataPaths(**{p: heads / name.replace(".xml", ".head.xml") for p, name in PRODUCTS.items()})
    # every other Orphadata sample of a product the loader reads goes in through one extra loader
    others = tuple(sorted(f for f in (shared / "orphadata").rglob("*.xml")
                          if f.parent != heads and read_header(f).product in PRODUCTS))
    omim = shared / "omim"
    inputs = BuildInputs(
        inputs.hpo, orphadata=main,
        omim=OmimPaths(omim / "mim2gene.head40.txt", omim / "genemap2.fixture.txt", omim / "morbidmap.head40.txt"),
        clinvar=shared / "clinvar" / "exomiser-extracts" / "variant_summary.clinvar_test.txt.gz",
        extra_loaders=(("Orphadata samples", others, lambda o: load_orphadata(list(others), skip_bad_records=o.skip_bad_records)),),
    )
snap = build_snapshot(inputs, Path(sys.argv[1]))
t1 = time.perf_counter()
from raregraph.kg.embedded import EmbeddedGraph
graph = EmbeddedGraph(snap)
graph.ontology
t2 = time.perf_counter()
print(json.dumps({"build_s": t1 - t0 - pull_s, "pull_s": pull_s, "index_load_s": t2 - t1, "snapshot_id": snap.id,
                  "tables": snap.manifest["tables"], "sources": len(snap.manifest["sources"]),
                  "merge": snap.manifest["merge"],
                  "cpu_s": (lambda u: u.ru_utime + u.ru_stime)(resource.getrusage(resource.RUSAGE_SELF)),
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_once(mode: str) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([sys.executable, "-c", _CHILD, tmp, mode, str(SHARED)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def summarise(runs: list[dict[str, object]]) -> dict[str, object]:
    build = [float(r["build_s"]) for r in runs]  # type: ignore[arg-type]
    load = [float(r["index_load_s"]) for r in runs]  # type: ignore[arg-type]
    rss = [float(r["peak_rss_mib"]) for r in runs]  # type: ignore[arg-type]
    cpu = [float(r["cpu_s"]) for r in runs]  # type: ignore[arg-type]
    return {
        "snapshot_id": runs[0]["snapshot_id"],
        "tables": runs[0]["tables"],
        "sources": runs[0]["sources"],
        "build_s_median": round(statistics.median(build), 2),
        "pull_s_median": round(statistics.median(float(r.get("pull_s", 0.0)) for r in runs), 2),  # type: ignore[arg-type]
        "build_s_runs": [round(b, 2) for b in build],
        "cpu_s_median": round(statistics.median(cpu), 2),  # build + index load, user + system: less load-dependent
        "index_load_s_median": round(statistics.median(load), 2),
        "build_to_index_load_ratio": round(statistics.median(build) / statistics.median(load), 1),
        "peak_rss_mib_max": round(max(rss), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--latest-only", action="store_true", help="only the pull + build of the latest release")
    args = parser.parse_args()
    latest = summarise([run_once("latest") for _ in range(args.repeat)])
    print(f"latest release: pull {latest['pull_s_median']} s + build {latest['build_s_median']} s "
          f"(CPU {latest['cpu_s_median']} s with the index load), peak RSS {latest['peak_rss_mib_max']} MiB; {latest['snapshot_id']}")
    if args.latest_only:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "etl_build_latest.json").write_text(json.dumps(
            {"benchmark": "etl_build", "latest": latest, "repeat": args.repeat,
             "load_average": __import__("os").getloadavg(), "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")},
            indent=2) + "\n", encoding="utf-8")
        return
    hpo = summarise([run_once("hpo") for _ in range(args.repeat)])
    sample_runs = [run_once("samples") for _ in range(args.repeat)]
    samples = {**summarise(sample_runs), "merge": sample_runs[0]["merge"]}
    summary = {
        "benchmark": "etl_build",
        **hpo,
        "repeat": args.repeat,
        "with_samples": samples,
        "latest": latest,
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        "parent_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "etl_build.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(f"{'metric':<34}{'HPO only':>12}{'+ samples':>12}")
    for key in ("build_s_median", "cpu_s_median", "index_load_s_median", "build_to_index_load_ratio", "peak_rss_mib_max", "sources"):
        print(f"{key:<34}{hpo[key]:>12}{samples[key]:>12}")
    rows = {name: (hpo["tables"].get(name, 0), n) for name, n in samples["tables"].items()}  # type: ignore[union-attr]
    for name, (a, b) in rows.items():
        print(f"  rows {name:<27}{a:>12,}{b:>12,}")
    print(f"runs: {hpo['build_s_runs']} s / {samples['build_s_runs']} s; wrote {RESULTS / 'etl_build.json'}")


if __name__ == "__main__":
    main()
