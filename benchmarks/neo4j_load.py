"""Benchmark: load the default snapshot into Neo4j (time, rows/s), then p50/p95 latency of every
`KnowledgeGraph` operation on Neo4j and on the embedded graph, in one run.

By default a local Neo4j 5.26 server is started in a temporary folder on a free port (Java 17 and
Maven needed, see tools/neo4j/) and stopped at the end; `--uri` points at a running server
instead (the snapshot is dropped first if it is there, so the load is measured from scratch).

    .venv/bin/python benchmarks/neo4j_load.py [--iterations 30] [--batch-size 10000] [--uri bolt://…]

Prints a table and writes benchmarks/results/neo4j_load.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import socket
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _operations(graph: Any, sample: dict[str, list[str]]) -> dict[str, Callable[[], Any]]:
    """One representative call per interface operation (batch sizes as a differential uses them)."""
    return {
        "terms(50)": lambda: graph.terms(sample["terms"]),
        "resolve_terms(50)": lambda: graph.resolve_terms(sample["terms"]),
        "terms_by_label(20)": lambda: graph.terms_by_label(sample["labels"]),
        "ancestors(50)": lambda: graph.ancestors(sample["terms"]),
        "descendants(10)": lambda: graph.descendants(sample["terms"][:10]),
        "information_content(50)": lambda: graph.information_content(sample["terms"]),
        "diseases(50)": lambda: graph.diseases(sample["diseases"]),
        "diseases_for_terms(20)": lambda: graph.diseases_for_terms(sample["terms"][:20]),
        "disease_phenotypes(20)": lambda: graph.disease_phenotypes(sample["diseases"][:20]),
        "disease_inheritance(20)": lambda: graph.disease_inheritance(sample["diseases"][:20]),
        "genes(20)": lambda: graph.genes(sample["genes"]),
        "genes_of_diseases(20)": lambda: graph.genes_of_diseases(sample["diseases"][:20]),
        "diseases_of_genes(20)": lambda: graph.diseases_of_genes(sample["genes"]),
        "variants_by_gene(20)": lambda: graph.variants_by_gene(sample["genes"]),
        "variants_by_position(20)": lambda: graph.variants_by_position([("15", 48_700_000 + i) for i in range(20)]),
        "search('abnormal heart')": lambda: graph.search("abnormal heart", 10),
        "term_names()": lambda: graph.term_names(),
    }


def _latency(call: Callable[[], Any], iterations: int) -> dict[str, float]:
    for _ in range(2):  # warm-up: caches, query plans
        call()
    times = []
    for _ in range(iterations):
        started = time.perf_counter()
        call()
        times.append(1000 * (time.perf_counter() - started))
    times.sort()
    return {"p50_ms": round(statistics.median(times), 2), "p95_ms": round(times[max(0, int(0.95 * len(times)) - 1)], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--uri", default=None, help="a running Neo4j (default: start a local one)")
    parser.add_argument("--snapshot-dir", type=Path, default=Path("snapshots"))
    args = parser.parse_args()

    from raregraph.etl.build import BuildInputs, build_snapshot
    from raregraph.etl.locate import default_hpo_dir
    from raregraph.etl.sources.hpo import find_hpo_files
    from raregraph.kg import neo4j_server
    from raregraph.kg.embedded import EmbeddedGraph
    from raregraph.kg.neo4j import Neo4jGraph, open_driver
    from raregraph.kg.neo4j_load import drop_snapshot, load_snapshot, server_info, snapshot_info

    snapshot = build_snapshot(BuildInputs(find_hpo_files(default_hpo_dir())), args.snapshot_dir)
    tmp = None
    uri = args.uri
    if uri is None:
        tmp = tempfile.TemporaryDirectory(prefix="raregraph-neo4j-bench-")
        uri = neo4j_server.start(Path(tmp.name), _free_port(), timeout_s=240.0, heap="2g", page_cache="512m").bolt_uri
    try:
        with open_driver(uri, timeout_s=30.0) as driver:
            if snapshot_info(driver, snapshot.id) is not None:
                drop_snapshot(driver, snapshot.id, force=True)
            steps: dict[str, float] = {}
            marks = {"t": time.perf_counter()}

            def progress(step: str, done: int, total: int) -> None:
                now = time.perf_counter()
                steps[step] = steps.get(step, 0.0) + now - marks["t"]
                marks["t"] = now

            started = time.perf_counter()
            report = load_snapshot(driver, snapshot, batch_size=args.batch_size, progress=progress)
            load_s = time.perf_counter() - started
            rows = sum(s.rows for s in report.steps.values())

            embedded = EmbeddedGraph(snapshot)
            _ = embedded.ontology  # the embedded graph's one-off index build is not counted as latency
            neo = Neo4jGraph(driver, snapshot_id=snapshot.id)
            rnd = random.Random(1)
            sample = {
                "terms": rnd.sample(sorted(embedded.ontology.term_ids), 50),
                "diseases": rnd.sample(sorted(embedded.ontology.disease_ids), 50),
                "genes": rnd.sample(sorted(g.symbol for g in embedded.genes(list(embedded.gene_keys())).values()), 20),
                "labels": [embedded.terms([t])[t].label for t in rnd.sample(sorted(embedded.ontology.term_ids), 20)],
            }
            latency = {}
            for name, call in _operations(embedded, sample).items():
                latency[name] = {"embedded": _latency(call, args.iterations)}
            for name, call in _operations(neo, sample).items():
                latency[name]["neo4j"] = _latency(call, args.iterations if "term_names" not in name else max(5, args.iterations // 5))
            server = server_info(driver)
    finally:
        if tmp is not None:
            neo4j_server.stop(Path(tmp.name))
            tmp.cleanup()

    summary = {
        "benchmark": "neo4j_load",
        "snapshot_id": snapshot.id,
        "server": server,
        "batch_size": args.batch_size,
        "load_s": round(load_s, 1),
        "rows": rows,
        "nodes": report.nodes,
        "relationships": report.relationships,
        "rows_per_s": round(rows / load_s),
        "nodes_per_s": round(report.nodes / load_s),
        "relationships_per_s": round(report.relationships / load_s),
        "step_s": {k: round(v, 1) for k, v in steps.items()},
        "iterations": args.iterations,
        "latency_ms": latency,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 1)},
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "neo4j_load.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(f"load of {snapshot.id} into {server['name']} {server['version']} ({server['edition']}): {load_s:.1f} s;"
          f" {report.nodes:,} nodes, {report.relationships:,} relationships from {rows:,} rows"
          f" ({summary['rows_per_s']:,} rows/s, {summary['nodes_per_s']:,} nodes/s, {summary['relationships_per_s']:,} rels/s)")
    print("slowest steps: " + ", ".join(f"{k} {v:.0f} s" for k, v in sorted(steps.items(), key=lambda kv: -kv[1])[:4]))
    print(f"\n{'operation':<38}{'embedded p50':>14}{'p95':>9}{'neo4j p50':>12}{'p95':>9}  (ms)")
    for name, values in latency.items():
        e, n = values["embedded"], values["neo4j"]
        print(f"{name:<38}{e['p50_ms']:>14.2f}{e['p95_ms']:>9.2f}{n['p50_ms']:>12.2f}{n['p95_ms']:>9.2f}")
    print(f"\nwrote {RESULTS / 'neo4j_load.json'}")


if __name__ == "__main__":
    main()
