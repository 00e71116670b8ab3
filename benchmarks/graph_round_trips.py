"""Benchmark: graph round trips per diagnosis on Neo4j, for N = 5, 20, 50 HPO ids, evidence on and off.

Every statement `Neo4jGraph` runs is one Bolt round trip (an `execute_query` call, or an
auto-commit `session.run` for the two reads of a diagnosis, `kg.case_reads`); the driver is wrapped
so those are counted and timed while `Retriever.diagnose` (what POST /v1/diagnose runs) answers
cases of N terms drawn from dev_sample track P (terms pooled over cases, deterministic), top 10.
The embedded graph's calls are counted the same way, as a check that both back-ends read alike.

By default a local Neo4j 5.26 server is started in a temporary folder on a free port and the
default snapshot is loaded into it (several minutes on two cores); `--uri` points at a running
server that already holds the snapshot; `--data-dir` keeps the started server's data (and the
server running) for a rerun.

Then the same answers compared case by case: `--compare-cases` dev PV cases (dev_sample, spread,
phenotype + variants, evidence on, top 10) diagnosed on both back-ends one after the other, each
answer's JSON byte-compared, and the p50/p95 wall time of each back-end (the issue's "p50 ≤ 3× the
embedded back-end's, same answers"), with where a Neo4j diagnosis's time goes: its statements'
wall time in the client and the server's own part of it (`result_available_after` +
`result_consumed_after`). Last, `PROFILE` of the statements the last case ran (with its
parameters: index seeks, no label scan) and what one `RETURN 1` round trip costs on each driver
path (`execute_query` and auto-commit `session.run`, each with and without the driver's bookmarks,
`session.execute_read`).

    .venv/bin/python benchmarks/graph_round_trips.py [--uri bolt://… | --data-dir DIR] [--sizes 5,20,50] [--compare-cases 100]

Prints a table and writes benchmarks/results/graph_round_trips.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import socket
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
EVAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "eval"


class CountingDriver:
    """A neo4j Driver whose statements (one round trip each) are counted and timed by Cypher file.

    Both ways `Neo4jGraph` reads are seen: `execute_query` (a managed transaction) and a session's
    auto-commit `run`; per statement the wall time in the client and the server's own time
    (`result_available_after` + `result_consumed_after`) add up, so what the wire and the driver cost
    is the difference.
    """

    def __init__(self, driver: Any) -> None:
        self._driver = driver
        self.calls: Counter[str] = Counter()
        self.wall_ms: Counter[str] = Counter()
        self.server_ms: Counter[str] = Counter()
        self.last_params: dict[str, dict[str, Any]] = {}

    def record(self, query: str, params: dict[str, Any] | None, started: float, summary: Any) -> None:
        name = query.split("\n", 1)[0].removeprefix("// ").split(" ", 1)[0]
        self.calls[name] += 1
        self.wall_ms[name] += 1000 * (time.perf_counter() - started)
        self.server_ms[name] += (summary.result_available_after or 0) + (summary.result_consumed_after or 0)
        self.last_params[name] = dict(params or {})

    def clear(self) -> None:
        for counter in (self.calls, self.wall_ms, self.server_ms):
            counter.clear()
        self.last_params.clear()

    def execute_query(self, query: str, parameters: Any = None, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        result = self._driver.execute_query(query, parameters, *args, **kwargs)
        self.record(query, parameters, started, result.summary)
        return result

    def session(self, **config: Any) -> "_CountingSession":
        return _CountingSession(self._driver.session(**config), self)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._driver, name)


class _CountingSession:
    """A session whose auto-commit `run`s are counted (records fetched at once, as `Neo4jGraph` reads them)."""

    def __init__(self, session: Any, counter: CountingDriver) -> None:
        self._session, self._counter = session, counter

    def __enter__(self) -> "_CountingSession":
        self._session.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._session.__exit__(*exc)

    def run(self, query: str, parameters: Any = None, **kwargs: Any) -> list[Any]:
        started = time.perf_counter()
        result = self._session.run(query, parameters, **kwargs)
        records = list(result)
        self._counter.record(query, parameters, started, result.consume())
        return records

    def __getattr__(self, name: str) -> Any:
        if name in ("execute_read", "execute_write", "begin_transaction"):
            raise AssertionError(f"a read through session.{name} would not be counted")
        return getattr(self._session, name)


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


def _compare_answers(on_neo4j: Any, on_embedded: Any, counting: CountingDriver, n: int, policy: Any) -> dict[str, Any]:
    """`n` dev PV cases (every k-th of dev_sample) answered on both back-ends: identical JSON count, wall p50/p95,
    and where a Neo4j diagnosis's time goes (its statements' wall time in the client, the server's part of it)."""
    from raregraph.models import CaseRequest

    lines = (EVAL / "dev_sample_pv.jsonl").read_text(encoding="utf-8").splitlines()
    picked = [json.loads(line) for line in lines[::max(1, len(lines) // n)][:n]]
    cases = [CaseRequest.model_validate({k: v for k, v in c.items() if k in CaseRequest.model_fields}) for c in picked]
    timings: dict[str, list[float]] = {"neo4j": [], "embedded": [], "statements": [], "server": []}
    trips: Counter[int] = Counter()
    identical, differing, ran = 0, [], {}
    for case in cases:
        answers = {}
        for name, retriever in (("neo4j", on_neo4j), ("embedded", on_embedded)):
            counting.clear()
            started = time.perf_counter()
            answers[name] = retriever.diagnose(case, top=10, policy=policy, evidence=True).model_dump_json()
            timings[name].append(1000 * (time.perf_counter() - started))
            if name == "neo4j":
                timings["statements"].append(sum(counting.wall_ms.values()))
                timings["server"].append(sum(counting.server_ms.values()))
                trips[sum(counting.calls.values())] += 1
                ran = dict(counting.last_params)
        if answers["neo4j"] == answers["embedded"]:
            identical += 1
        else:
            differing.append(case.id)

    p50 = {name: round(statistics.median(values), 1) for name, values in timings.items()}
    return {"cases": len(cases), "identical": identical, "differing_ids": differing[:20],
            "neo4j_p50_ms": p50["neo4j"], "neo4j_p95_ms": _p95(timings["neo4j"]),
            "embedded_p50_ms": p50["embedded"], "embedded_p95_ms": _p95(timings["embedded"]),
            "p50_ratio": round(p50["neo4j"] / p50["embedded"], 2) if p50["embedded"] else None,
            "neo4j_statements_p50_ms": p50["statements"], "neo4j_server_p50_ms": p50["server"],
            # per case: Neo4j's wall time less the embedded one's and less its statements' (rows to model objects)
            "neo4j_other_p50_ms": round(statistics.median(
                n - e - st for n, e, st in zip(timings["neo4j"], timings["embedded"], timings["statements"])), 1),
            "round_trips_per_diagnosis": dict(sorted(trips.items())),
            "loadavg": [round(x, 2) for x in os.getloadavg()], "last_params": ran}


def _p95(values: list[float]) -> float:
    return round(sorted(values)[max(0, int(0.95 * len(values)) - 1)], 1)


def _wire(driver: Any, iterations: int = 200) -> dict[str, float]:
    """p50 ms of `RETURN 1` five ways (interleaved): what one round trip costs on each driver path."""
    import neo4j

    def managed(bookmarks: bool) -> Any:
        extra = {} if bookmarks else {"bookmark_manager_": None}
        return lambda: driver.execute_query("RETURN 1", database_="neo4j", routing_=neo4j.RoutingControl.READ, **extra)

    def read_tx() -> None:
        with driver.session(database="neo4j") as session:
            session.execute_read(lambda tx: list(tx.run("RETURN 1")))

    def auto_commit(bookmarks: bool) -> Any:
        extra = {"bookmark_manager": driver.execute_query_bookmark_manager} if bookmarks else {}

        def run() -> None:
            with driver.session(database="neo4j", default_access_mode=neo4j.READ_ACCESS, **extra) as session:
                list(session.run("RETURN 1"))
        return run

    ways = {"execute_query": managed(True), "execute_query, no bookmarks": managed(False),
            "session.execute_read": read_tx, "session.run (auto-commit)": auto_commit(True),
            "session.run (auto-commit), no bookmarks": auto_commit(False)}
    times: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(iterations):
        for name, call in ways.items():
            started = time.perf_counter()
            call()
            times[name].append(1000 * (time.perf_counter() - started))
    return {name: round(statistics.median(values), 2) for name, values in times.items()}


# Plan operators that read every node of a label (or of the store) or every relationship of a type.
_SCANS = ("AllNodesScan", "NodeByLabelScan", "UnionNodeByLabelsScan", "DirectedRelationshipTypeScan",
          "UndirectedRelationshipTypeScan", "DirectedAllRelationshipsScan", "UndirectedAllRelationshipsScan")


def _profile(driver: Any, params: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """PROFILE each statement a diagnosis ran, with the parameters it ran with: seeks, any label/type scan, db hits."""
    from raregraph.kg.cypher_files import load_cypher

    def operators(plan: dict[str, Any]) -> list[tuple[str, str]]:
        found = [(str(plan.get("operatorType", "")).split("@")[0], str(plan.get("args", {}).get("Details", "")))]
        return found + [op for child in plan.get("children", []) for op in operators(child)]

    def db_hits(plan: dict[str, Any]) -> int:
        return int(plan.get("dbHits", 0)) + sum(db_hits(child) for child in plan.get("children", []))

    plans = {}
    for name, values in params.items():
        with driver.session(database="neo4j") as session:
            summary = session.run("PROFILE " + load_cypher(name), values).consume()
        ops = operators(summary.profile)
        plans[name] = {"seeks": sorted({op for op, _ in ops if "Seek" in op}),
                       "scans": sorted({f"{op} {details}" for op, details in ops if op in _SCANS}),
                       "db_hits": db_hits(summary.profile)}
    return plans


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
                    counting.clear()
                    local.calls.clear()
                    started = time.perf_counter()
                    answer = on_neo4j.diagnose(case, top=10, policy=LENIENT, evidence=evidence)
                    wall_ms = round(1000 * (time.perf_counter() - started), 1)
                    started = time.perf_counter()
                    same = on_embedded.diagnose(case, top=10, policy=LENIENT, evidence=evidence)
                    embedded_ms = round(1000 * (time.perf_counter() - started), 1)
                    rows.append({"n_terms": n, "evidence": evidence, "neo4j_round_trips": sum(counting.calls.values()),
                                 "same_ranking_as_embedded": [c.disease_id for c in answer.candidates]
                                 == [c.disease_id for c in same.candidates],
                                 "same_evidence_as_embedded": [c.evidence for c in answer.candidates]
                                 == [c.evidence for c in same.candidates],
                                 "by_query": dict(counting.calls), "embedded_graph_calls": sum(local.calls.values()),
                                 "neo4j_wall_ms": wall_ms, "embedded_wall_ms": embedded_ms})
            compared = _compare_answers(on_neo4j, on_embedded, counting, args.compare_cases, LENIENT)
            plans = _profile(driver, compared.pop("last_params"))
            wire = _wire(driver)
    finally:
        if tmp is not None:
            neo4j_server.stop(Path(tmp.name))
            tmp.cleanup()

    print(f"\nGraph round trips per diagnosis (top 10, dev_sample P terms), snapshot {snapshot.id}")
    print(f"{'N terms':>8} {'evidence':>9} {'Neo4j round trips':>18} {'embedded calls':>15} {'Neo4j ms':>9} "
          f"{'embedded ms':>12} {'same ranking':>13} {'same evidence':>14}")
    for row in rows:
        print(f"{row['n_terms']:>8} {str(row['evidence']):>9} {row['neo4j_round_trips']:>18} "
              f"{row['embedded_graph_calls']:>15} {row['neo4j_wall_ms']:>9} {row['embedded_wall_ms']:>12} "
              f"{str(row['same_ranking_as_embedded']):>13} {str(row['same_evidence_as_embedded']):>14}")
    print(f"\n{compared['cases']} dev PV cases, evidence on, top 10: answers byte-identical on both back-ends: "
          f"{compared['identical']} of {compared['cases']}; p50 / p95 ms: Neo4j {compared['neo4j_p50_ms']} / "
          f"{compared['neo4j_p95_ms']}, embedded {compared['embedded_p50_ms']} / {compared['embedded_p95_ms']}; "
          f"p50 ratio {compared['p50_ratio']} (load average {compared['loadavg']})")
    print(f"Neo4j round trips per diagnosis (count: cases) {compared['round_trips_per_diagnosis']}; of a Neo4j "
          f"diagnosis's p50, its statements {compared['neo4j_statements_p50_ms']} ms in the client, of which the "
          f"server's own time {compared['neo4j_server_p50_ms']} ms; per case, Neo4j less embedded less the "
          f"statements (p50): {compared['neo4j_other_p50_ms']} ms")
    print("\nPROFILE of the statements one diagnosis ran (its own parameters):")
    for name, plan in plans.items():
        print(f"  {name:<24} seeks {', '.join(plan['seeks'])}; scans {plan['scans'] or 'none'}; db hits {plan['db_hits']}")
    print("\nOne round trip (RETURN 1), p50 ms: " + "; ".join(f"{way} {ms}" for way, ms in wire.items()))
    RESULTS.mkdir(exist_ok=True)
    out = {"benchmark": "graph_round_trips", "snapshot_id": snapshot.id, "load_s": load_s, "rows": rows,
           "compared": compared, "plans": plans, "round_trip_ms": wire,
           "machine": f"{platform.machine()}, {os.cpu_count()} cores"}
    (RESULTS / "graph_round_trips.json").write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
