"""Benchmark: graph round trips per diagnosis on Neo4j, for N = 5, 20, 50 HPO ids, evidence on and off.

Every read of `Neo4jGraph` is one `driver.execute_query` call (one Bolt round trip); the driver is
wrapped so those calls are counted while `Retriever.diagnose` (what POST /v1/diagnose runs) answers
cases of N terms drawn from dev_sample track P (terms pooled over cases, deterministic), top 10.
The embedded graph's calls are counted the same way, as a check that both back-ends read alike.

By default a local Neo4j 5.26 server is started in a temporary folder on a free port and the
default snapshot is loaded into it (several minutes on two cores); `--uri` points at a running
server that already holds the snapshot; `--data-dir` keeps the started server's data (and the
server running) for a rerun.

Then the same answers compared case by case: `--compare-cases` dev PV cases (dev_sample, spread,
phenotype + variants, evidence on, top 10) diagnosed on both back-ends one after the other, each
answer's JSON byte-compared, and the p50/p95 wall time of each back-end (the issue's "p50 ≤ 3× the
embedded back-end's, same answers").

    .venv/bin/python benchmarks/graph_round_trips.py [--uri bolt://… | --data-dir DIR] [--sizes 5,20,50] [--compare-cases 100]

Prints a table and writes benchmarks/results/graph_round_trips.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import socket
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
EVAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "eval"


class CountingDriver:
    """A neo4j Driver whose `execute_query` calls (one round trip each) are counted by Cypher file."""

    def __init__(self, driver: Any) -> None:
        self._driver = driver
        self.calls: Counter[str] = Counter()

    def execute_query(self, query: str, *args: Any, **kwargs: Any) -> Any:
        self.calls[query.split("\n", 1)[0][:60]] += 1
        return self._driver.execute_query(query, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name == "session":
            raise AssertionError("a read outside execute_query would not be counted")
        return getattr(self._driver, name)


class CountingGraph:
    """Any `KnowledgeGraph`, its method calls counted (for the embedded back-end)."""

    def __init__(self, graph: Any) -> None:
        self._graph = graph
        self.calls: Counter[str] = Counter()
        self.snapshot_id = graph.snapshot_id

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._graph, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return method(*args, **kwargs)
        return counted


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _term_pool(known: set[str]) -> list[str]:
    """Present terms of dev_sample track P in file order, each once, that the snapshot knows."""
    pool: list[str] = []
    for line in (EVAL / "dev_sample_p.jsonl").read_text(encoding="utf-8").splitlines():
        for term in json.loads(line)["hpo_present"]:
            if term in known and term not in pool:
                pool.append(term)
    return pool


def _compare_answers(on_neo4j: Any, on_embedded: Any, n: int, policy: Any) -> dict[str, Any]:
    """`n` dev PV cases (every k-th of dev_sample) answered on both back-ends: identical JSON count, wall p50/p95."""
    import os
    import statistics

    from raregraph.models import CaseRequest

    lines = (EVAL / "dev_sample_pv.jsonl").read_text(encoding="utf-8").splitlines()
    picked = [json.loads(line) for line in lines[::max(1, len(lines) // n)][:n]]
    cases = [CaseRequest.model_validate({k: v for k, v in c.items() if k in CaseRequest.model_fields}) for c in picked]
    timings: dict[str, list[float]] = {"neo4j": [], "embedded": []}
    identical, differing = 0, []
    for case in cases:
        answers = {}
        for name, retriever in (("neo4j", on_neo4j), ("embedded", on_embedded)):
            started = time.perf_counter()
            answers[name] = retriever.diagnose(case, top=10, policy=policy, evidence=True).model_dump_json()
            timings[name].append(1000 * (time.perf_counter() - started))
        if answers["neo4j"] == answers["embedded"]:
            identical += 1
        else:
            differing.append(case.id)

    def p95(values: list[float]) -> float:
        return round(sorted(values)[max(0, int(0.95 * len(values)) - 1)], 1)

    p50 = {name: round(statistics.median(values), 1) for name, values in timings.items()}
    return {"cases": len(cases), "identical": identical, "differing_ids": differing[:20],
            "neo4j_p50_ms": p50["neo4j"], "neo4j_p95_ms": p95(timings["neo4j"]),
            "embedded_p50_ms": p50["embedded"], "embedded_p95_ms": p95(timings["embedded"]),
            "p50_ratio": round(p50["neo4j"] / p50["embedded"], 2) if p50["embedded"] else None,
            "loadavg": [round(x, 2) for x in os.getloadavg()]}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--uri", default=None, help="a running Neo4j holding the default snapshot (default: start one)")
    parser.add_argument("--data-dir", type=Path, default=None, help="keep the started server's data here, running")
    parser.add_argument("--sizes", default="5,20,50")
    parser.add_argument("--snapshot-dir", type=Path, default=Path("snapshots"))
    parser.add_argument("--compare-cases", type=int, default=100, help="dev PV cases answered on both back-ends")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    from raregraph.etl.build import BuildInputs, build_snapshot
    from raregraph.etl.locate import default_hpo_dir
    from raregraph.etl.sources.hpo import find_hpo_files
    from raregraph.kg import neo4j_server
    from raregraph.kg.embedded import EmbeddedGraph
    from raregraph.kg.neo4j import Neo4jGraph, open_driver
    from raregraph.kg.neo4j_load import load_snapshot, snapshot_info
    from raregraph.models import CaseRequest
    from raregraph.retrieval.case import LENIENT
    from raregraph.retrieval.retriever import Retriever
    from raregraph.settings import Settings

    snapshot = build_snapshot(BuildInputs(find_hpo_files(default_hpo_dir())), args.snapshot_dir)
    settings = Settings(snapshot_dir=args.snapshot_dir, snapshot=snapshot.id, embedding_enabled=False)
    embedded = EmbeddedGraph(snapshot)
    pool = _term_pool(set(embedded.resolve_terms(sorted({t for t in embedded.ontology.term_ids}))))
    tmp, uri, load_s = None, args.uri, None
    if uri is None and args.data_dir is not None:
        args.data_dir.mkdir(parents=True, exist_ok=True)
        running = neo4j_server.status(args.data_dir)
        uri = (running or neo4j_server.start(args.data_dir, _free_port(), timeout_s=240.0, heap="2g",
                                             page_cache="512m", detach=True)).bolt_uri  # kept for the next run
    if uri is None:
        tmp = tempfile.TemporaryDirectory(prefix="raregraph-neo4j-trips-")
        uri = neo4j_server.start(Path(tmp.name), _free_port(), timeout_s=240.0, heap="2g", page_cache="512m").bolt_uri
    rows: list[dict[str, Any]] = []
    try:
        with open_driver(uri, timeout_s=60.0) as driver:
            if snapshot_info(driver, snapshot.id) is None:
                started = time.perf_counter()
                load_snapshot(driver, snapshot)
                load_s = round(time.perf_counter() - started, 1)
            counting = CountingDriver(driver)
            neo = Neo4jGraph(counting, snapshot_id=snapshot.id)  # type: ignore[arg-type]
            on_neo4j = Retriever.from_snapshot(neo, snapshot, settings)
            local = CountingGraph(embedded)
            on_embedded = Retriever(local, on_neo4j.engine)  # type: ignore[arg-type]
            for n in sizes:
                case = CaseRequest(hpo_present=pool[:n])
                for evidence in (True, False):
                    counting.calls.clear()
                    local.calls.clear()
                    started = time.perf_counter()
                    answer = on_neo4j.diagnose(case, top=10, policy=LENIENT, evidence=evidence)
                    wall_ms = round(1000 * (time.perf_counter() - started), 1)
                    same = on_embedded.diagnose(case, top=10, policy=LENIENT, evidence=evidence)
                    rows.append({"n_terms": n, "evidence": evidence, "neo4j_round_trips": sum(counting.calls.values()),
                                 "same_ranking_as_embedded": [c.disease_id for c in answer.candidates]
                                 == [c.disease_id for c in same.candidates],
                                 "same_evidence_as_embedded": [c.evidence for c in answer.candidates]
                                 == [c.evidence for c in same.candidates],
                                 "by_query": dict(counting.calls), "embedded_graph_calls": sum(local.calls.values()),
                                 "neo4j_wall_ms": wall_ms})
            compared = _compare_answers(on_neo4j, on_embedded, args.compare_cases, LENIENT)
    finally:
        if tmp is not None:
            neo4j_server.stop(Path(tmp.name))
            tmp.cleanup()

    print(f"\nGraph round trips per diagnosis (top 10, dev_sample P terms), snapshot {snapshot.id}")
    print(f"{'N terms':>8} {'evidence':>9} {'Neo4j round trips':>18} {'embedded calls':>15} {'Neo4j ms':>9} "
          f"{'same ranking':>13} {'same evidence':>14}")
    for row in rows:
        print(f"{row['n_terms']:>8} {str(row['evidence']):>9} {row['neo4j_round_trips']:>18} "
              f"{row['embedded_graph_calls']:>15} {row['neo4j_wall_ms']:>9} {str(row['same_ranking_as_embedded']):>13} "
              f"{str(row['same_evidence_as_embedded']):>14}")
    print(f"\n{compared['cases']} dev PV cases, evidence on, top 10: answers byte-identical on both back-ends: "
          f"{compared['identical']} of {compared['cases']}; p50 / p95 ms: Neo4j {compared['neo4j_p50_ms']} / "
          f"{compared['neo4j_p95_ms']}, embedded {compared['embedded_p50_ms']} / {compared['embedded_p95_ms']}; "
          f"p50 ratio {compared['p50_ratio']} (load average {compared['loadavg']})")
    RESULTS.mkdir(exist_ok=True)
    out = {"benchmark": "graph_round_trips", "snapshot_id": snapshot.id, "load_s": load_s, "rows": rows,
           "compared": compared,
           "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores"}
    (RESULTS / "graph_round_trips.json").write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
