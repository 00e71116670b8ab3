"""Benchmark: load the default snapshot into Neo4j (time, rows/s) next to the embedded graph's build
of the same snapshot, PROFILE the GraphRAG read statements (index seeks, no label scans), then
p50/p95 latency of every `KnowledgeGraph` operation and of one case's reads on Neo4j and on the
embedded graph, in one run, with the machine's load average before and after.

By default a local Neo4j 5.26 server is started in a temporary folder on a free port (Java 17 and
Maven needed, see tools/neo4j/) and stopped at the end; `--uri` points at a running server
instead (the snapshot is dropped first if it is there, so the load is measured from scratch).

`--loader both` (the default, local server only) measures the two load paths in one run: the
online loader (`kg.neo4j_load`, Cypher batches into the running server), then the bulk import
(`kg.neo4j_import`: CSV files, `neo4j-admin database import full` into a fresh store, restart
on it, schema, counts), whose store the reads are then measured on. `--snapshot DIR` loads
that snapshot (e.g. snapshots/hpo-2026-06-06-…) instead of the default one.

    .venv/bin/python benchmarks/neo4j_load.py [--loader both|online|import] [--snapshot DIR] [--iterations 30]
        [--batch-size 20000] [--workers 2] [--uri bolt://…]

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
    from raregraph.kg.case_reads import case_terms, evidence_reads

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
        "case_terms(20)": lambda: case_terms(graph, sample["terms"][:20]),
        "evidence_reads(20 diseases, 20 terms)": lambda: evidence_reads(
            graph, sample["diseases"][:20], sample["terms"][:20], sample["terms"][:20], sample["diseases"][:10]
        ),
        "term_names()": lambda: graph.term_names(),
    }


# Plan operators that read every node of a label (or of the store) or every relationship of a type.
_SCANS = ("AllNodesScan", "NodeByLabelScan", "UnionNodeByLabelsScan", "DirectedRelationshipTypeScan",
          "UndirectedRelationshipTypeScan", "DirectedAllRelationshipsScan", "UndirectedAllRelationshipsScan")


def _profile_params(sample: dict[str, list[str]]) -> dict[str, dict[str, Any]]:
    """Realistic parameters for the read statements one case's retrieval runs (GraphRAG reads)."""
    from raregraph.kg.model import normalize_label

    genes = [{"key": k, "upper": k.upper()} for k in sample["genes"]]
    return {
        "term_resolution_by_id": {"ids": sample["terms"]},
        "terms_by_id": {"ids": sample["terms"]},
        "case_terms_by_id": {"ids": sample["terms"]},
        "evidence_by_disease": {"annotated": sample["diseases"][:20], "cited": sample["terms"],
                                "labelled": sample["terms"], "shown": sample["diseases"][:10]},
        "terms_by_label": {"rows": [{"text": t, "norm": normalize_label(t)} for t in sample["labels"]]},
        "search_hits_by_text": {"norm": "abnormal heart", "candidates": 50,
                                "lucene": '+snapshot:"SNAP" +(label:(abnormal heart) name:(abnormal heart) synonyms:(abnormal heart))'},
        "ancestors_by_term": {"ids": sample["terms"], "include_self": True},
        "information_content_by_term": {"ids": sample["terms"]},
        "diseases_by_id": {"ids": sample["diseases"]},
        "annotations_by_disease": {"ids": sample["diseases"][:20], "terms": sample["terms"]},
        "annotations_by_term": {"ids": sample["terms"][:20]},
        "genes_by_disease": {"ids": sample["diseases"][:20]},
        "genes_by_key": {"rows": genes},
        "variants_by_gene": {"rows": genes},
        "variants_by_position": {"rows": [{"key": i, "chrom": "15", "pos": 48_700_000 + i, "ref": None, "alt": None} for i in range(20)]},
    }


def _operators(plan: dict[str, Any]) -> list[tuple[str, str]]:
    found = [(str(plan.get("operatorType", "")).split("@")[0], str(plan.get("args", {}).get("Details", "")))]
    for child in plan.get("children", []):
        found += _operators(child)
    return found


def _profile(driver: Any, snapshot_id: str, sample: dict[str, list[str]]) -> dict[str, dict[str, Any]]:
    """PROFILE each GraphRAG read statement: its seeks, any label/type scan, its db hits."""
    from raregraph.kg.cypher_files import load_cypher

    plans = {}
    for name, params in _profile_params(sample).items():
        params = {k: v.replace("SNAP", snapshot_id) if isinstance(v, str) else v for k, v in params.items()}
        with driver.session(database="neo4j") as session:
            summary = session.run("PROFILE " + load_cypher(name), {"snapshot": snapshot_id, **params}).consume()
        ops = _operators(summary.profile)
        plans[name] = {
            "seeks": sorted({op for op, _ in ops if "Seek" in op or op == "ProcedureCall"}),
            "scans": sorted({f"{op} {details}" for op, details in ops if op in _SCANS}),
            "db_hits": _db_hits(summary.profile),
        }
    return plans


def _db_hits(plan: dict[str, Any]) -> int:
    return int(plan.get("dbHits", 0)) + sum(_db_hits(child) for child in plan.get("children", []))


def _cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds of a process so far (Linux /proc; 0 without a pid)."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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


def _online_load(uri: str, snapshot: Any, args: argparse.Namespace, server_pid: int | None) -> tuple[dict[str, Any], Any]:
    """The online loader into the server at `uri` (the snapshot dropped first); its figures and report."""
    from raregraph.kg.neo4j import open_driver
    from raregraph.kg.neo4j_load import drop_snapshot, load_snapshot, snapshot_info

    with open_driver(uri, timeout_s=30.0) as driver:
        if snapshot_info(driver, snapshot.id) is not None:
            drop_snapshot(driver, snapshot.id, force=True)
        steps: dict[str, float] = {}
        marks = {"t": time.perf_counter()}

        def progress(step: str, done: int, total: int) -> None:
            now = time.perf_counter()
            steps[step] = steps.get(step, 0.0) + now - marks["t"]
            marks["t"] = now

        load_avg = os.getloadavg()
        cpu_before = (time.process_time(), _cpu_seconds(server_pid))
        started = time.perf_counter()
        report = load_snapshot(driver, snapshot, batch_size=args.batch_size, progress=progress, workers=args.workers)
        load_s = time.perf_counter() - started
    client_cpu, server_cpu = time.process_time() - cpu_before[0], _cpu_seconds(server_pid) - cpu_before[1]
    rows = sum(s.rows for s in report.steps.values())
    print(f"online: {rows:,} rows in {load_s:.1f} s ({rows / load_s:,.0f} rows/s); load average {os.getloadavg()[0]:.1f}", flush=True)
    slowest = dict(sorted(steps.items(), key=lambda kv: -kv[1])[:4])
    return {
        "load_s": round(load_s, 1), "rows": rows, "rows_per_s": round(rows / load_s),
        # CPU time spent by the loader (Python) and the server (JVM) during the load: what a quiet
        # machine would need, whatever else ran on this one
        "load_cpu_s": {"python": round(client_cpu, 1), "neo4j": round(server_cpu, 1) if server_pid else None},
        "phase_s": {k: round(v, 1) for k, v in slowest.items()},
        "load_avg_1m_at_load": round(load_avg[0], 1), "load_avg_1m_after_load": round(os.getloadavg()[0], 1),
    }, report


def _bulk_import(data_dir: Path, snapshot: Any, port: int) -> tuple[dict[str, Any], Any, str]:
    """The bulk import into the local server's folder (replacing its store, restarting it); figures, report, Bolt URI."""
    from raregraph.kg.neo4j_import import import_snapshot

    load_avg = os.getloadavg()
    started = time.perf_counter()
    result = import_snapshot(data_dir, snapshot, port=port, timeout_s=240.0)  # heap and page cache: auto
    load_s = time.perf_counter() - started
    rows = sum(s.rows for s in result.load.steps.values())
    print(f"import: {rows:,} rows in {load_s:.1f} s ({rows / load_s:,.0f} rows/s); load average {os.getloadavg()[0]:.1f};"
          f" phases {result.seconds}", flush=True)
    return {
        "load_s": round(load_s, 1), "rows": rows, "rows_per_s": round(rows / load_s),
        # files + the import tool alone: the store written, before the restart that serves it
        "rows_per_s_until_store_written": round(rows / (result.seconds["files"] + result.seconds["import"])),
        "phase_s": result.seconds,
        "load_avg_1m_at_load": round(load_avg[0], 1), "load_avg_1m_after_load": round(os.getloadavg()[0], 1),
    }, result.load, result.bolt_uri


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2, help="write transactions in flight during the load")
    parser.add_argument("--uri", default=None, help="a running Neo4j (default: start a local one)")
    parser.add_argument("--snapshot-dir", type=Path, default=Path("snapshots"))
    parser.add_argument("--snapshot", type=Path, default=None, help="a built snapshot folder (default: build the default one)")
    parser.add_argument("--loader", choices=("both", "online", "import"), default="both")
    args = parser.parse_args()
    if args.uri and args.loader != "online":
        parser.error("--uri measures the online loader only (--loader online): the import needs the local server's folder")

    from raregraph.etl.build import BuildInputs, build_snapshot
    from raregraph.etl.locate import default_hpo_dir
    from raregraph.etl.snapshot import Snapshot
    from raregraph.etl.sources.hpo import find_hpo_files
    from raregraph.kg import neo4j_server
    from raregraph.kg.embedded import EmbeddedGraph
    from raregraph.kg.neo4j import Neo4jGraph, open_driver
    from raregraph.kg.neo4j_load import server_info

    load_before = os.getloadavg()
    if args.snapshot is not None:
        snapshot = Snapshot.open(args.snapshot)
    else:
        snapshot = build_snapshot(BuildInputs(find_hpo_files(default_hpo_dir())), args.snapshot_dir)
    snapshot_rows = sum(int(n) for n in snapshot.manifest["tables"].values())
    started = time.perf_counter()
    embedded = EmbeddedGraph(snapshot)
    _ = embedded.ontology  # the embedded graph's one-off index build, timed as its "load"
    embedded_s = time.perf_counter() - started
    tmp = tempfile.TemporaryDirectory(prefix="raregraph-neo4j-bench-") if args.uri is None else None
    data_dir = Path(tmp.name) if tmp is not None else None
    port = _free_port()
    loads: dict[str, dict[str, Any]] = {}
    try:
        uri = args.uri
        if args.loader in ("both", "online"):
            server_pid = None
            if data_dir is not None:
                local = neo4j_server.start(data_dir, port, timeout_s=240.0)  # heap and page cache: auto
                uri, server_pid = local.bolt_uri, local.pid
            loads["online"], report = _online_load(uri, snapshot, args, server_pid)
        if args.loader in ("both", "import"):
            assert data_dir is not None
            loads["import"], report, uri = _bulk_import(data_dir, snapshot, port)
        with open_driver(uri, timeout_s=30.0) as driver:
            neo = Neo4jGraph(driver, snapshot_id=snapshot.id)
            rnd = random.Random(1)
            sample = {
                "terms": rnd.sample(sorted(embedded.ontology.term_ids), 50),
                "diseases": rnd.sample(sorted(embedded.ontology.disease_ids), 50),
                "genes": rnd.sample(sorted(g.symbol for g in embedded.genes(list(embedded.gene_keys())).values()), 20),
                "labels": [embedded.terms([t])[t].label for t in rnd.sample(sorted(embedded.ontology.term_ids), 20)],
            }
            plans = _profile(driver, snapshot.id, sample)
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
        "workers": args.workers,
        "embedded_build_s": round(embedded_s, 1),
        "embedded_rows_per_s": round(snapshot_rows / embedded_s),
        "rows": loads[next(iter(loads))]["rows"],
        "nodes": report.nodes,
        "relationships": report.relationships,
        "loads": loads,
        "iterations": args.iterations,
        "latency_ms": latency,
        "plans": plans,
        "machine": {
            "python": platform.python_version(), "cpus": os.cpu_count(),
            "load_avg_1m_before": round(load_before[0], 1), "load_avg_1m_after": round(os.getloadavg()[0], 1),
        },
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "neo4j_load.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(f"load of {snapshot.id} into {server['name']} {server['version']} ({server['edition']}):"
          f" {report.nodes:,} nodes, {report.relationships:,} relationships from {summary['rows']:,} rows")
    for name, load in loads.items():
        print(f"  {name:<7} {load['load_s']:>7.1f} s  {load['rows_per_s']:>8,} rows/s  (load average {load['load_avg_1m_at_load']}"
              f" at the start, {load['load_avg_1m_after_load']} at the end)  " + ", ".join(f"{k} {v:.1f} s" for k, v in load["phase_s"].items()))
        if "rows_per_s_until_store_written" in load:
            print(f"          store written (files + import tool) at {load['rows_per_s_until_store_written']:,} rows/s;"
                  " the rest is the restart on it, the schema and the counts")
    if "online" in loads and loads["online"]["load_cpu_s"]["neo4j"] is not None:
        cpu = loads["online"]["load_cpu_s"]
        print(f"  online CPU: Python {cpu['python']:.1f} s, Neo4j {cpu['neo4j']:.1f} s")
    print(f"embedded graph build of the same snapshot: {embedded_s:.1f} s ({summary['embedded_rows_per_s']:,} rows/s)")
    machine = summary["machine"]
    print(f"load average (1 min) on {machine['cpus']} CPUs: {machine['load_avg_1m_before']} before, {machine['load_avg_1m_after']} after")
    print(f"\n{'GraphRAG read statement (PROFILE)':<34}{'db hits':>9}  seeks / scans")
    for name, plan in plans.items():
        print(f"{name:<34}{plan['db_hits']:>9}  {', '.join(plan['seeks'])}" + (f"  SCANS: {plan['scans']}" if plan["scans"] else ""))
    print(f"\n{'operation':<44}{'embedded p50':>13}{'p95':>8}{'neo4j p50':>11}{'p95':>8}{'ratio':>8}  (ms)")
    for name, values in latency.items():
        e, n = values["embedded"], values["neo4j"]
        ratio = n["p50_ms"] / e["p50_ms"] if e["p50_ms"] else float("inf")
        print(f"{name:<44}{e['p50_ms']:>13.2f}{e['p95_ms']:>8.2f}{n['p50_ms']:>11.2f}{n['p95_ms']:>8.2f}{ratio:>8.0f}")
    print(f"\nwrote {RESULTS / 'neo4j_load.json'}")


if __name__ == "__main__":
    main()
