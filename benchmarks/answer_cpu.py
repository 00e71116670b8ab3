"""Benchmark: CPU time per `diagnose` call and per recorded answer, in one process, for before/after comparisons.

Run it with this checkout's interpreter and with another checkout's (the code before a change) on
the same snapshot; CPU time (user + system of the whole process, so the feedback store's writer
thread counts) is far less sensitive to a shared machine's load than throughput.

    .venv/bin/python benchmarks/answer_cpu.py --snapshot SNAPSHOT
    OTHER/.venv/bin/python benchmarks/answer_cpu.py --snapshot SNAPSHOT --out other.json

- diagnose: `diagnose(case, top=10)` over the dev PV cases (`shared/data/eval/dev_sample_pv.jsonl`,
  unknown ids dropped, obsolete replaced), evidence on and off, after 20 warm-up calls;
- record: `record_response` (what every HTTP answer goes through) on those answers into a fresh
  SQLite store, three passes, the store flushed at the end when it writes in the background
  (skipped for code that has no feedback store).

Prints a table and writes benchmarks/results/answer_cpu.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from api_load import DEFAULT_CASES, load_bodies  # this folder is sys.path[0] when run

RESULTS = Path(__file__).parent / "results"


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshot", required=True, help="Snapshot folder (the same for both checkouts)")
    parser.add_argument("--cases", type=int, default=300, help="Dev PV cases used")
    parser.add_argument("--calls", type=int, default=600, help="diagnose calls per evidence mode")
    parser.add_argument("--out", type=Path, default=RESULTS / "answer_cpu.json")
    args = parser.parse_args()

    from raregraph.api.service import build_service
    from raregraph.models import CaseRequest
    from raregraph.settings import Settings

    try:
        from raregraph.retrieval.case import LENIENT
    except ImportError:  # the code before the pipeline rewrite kept the policy in api/service.py
        from raregraph.api.service import LENIENT  # type: ignore[attr-defined,no-redef]

    service = build_service(Settings(snapshot=args.snapshot, embedding_enabled=False))
    cases = [CaseRequest.model_validate_json(b) for b in load_bodies(DEFAULT_CASES, args.cases)]
    rows: list[dict[str, Any]] = []
    for evidence in (True, False):
        for case in cases[:20]:
            service.diagnose(case, top=10, policy=LENIENT, evidence=evidence)
        started = _cpu_s()
        answers = [service.diagnose(cases[i % len(cases)], top=10, policy=LENIENT, evidence=evidence)
                   for i in range(args.calls)]
        rows.append({"step": "diagnose", "evidence": evidence, "calls": args.calls,
                     "cpu_ms_per_call": 1000 * (_cpu_s() - started) / args.calls})
        try:
            from raregraph.api.feedback.record import record_response
            from raregraph.api.feedback.store import FeedbackStore
        except ImportError:  # code from before the feedback store: nothing to record
            continue
        with tempfile.TemporaryDirectory() as folder:
            store = FeedbackStore(f"sqlite:///{folder}/feedback.sqlite")
            store.migrate()
            pairs = list(zip(cases, answers[:len(cases)], strict=False)) * 3
            started, wall = _cpu_s(), time.perf_counter()
            for case, answer in pairs:
                record_response(store, case, answer, client="bench")
            on_request_path = time.perf_counter() - wall
            if hasattr(store, "flush"):
                store.flush()
            rows.append({"step": "record", "evidence": evidence, "calls": len(pairs),
                         "cpu_ms_per_call": 1000 * (_cpu_s() - started) / len(pairs),
                         "caller_wall_ms_per_call": 1000 * on_request_path / len(pairs)})
            store.close()

    print(f"{'step':>8} {'evidence':>8} {'calls':>6} {'CPU ms/call':>11} {'caller ms/call':>14}")
    for r in rows:
        caller = f"{r['caller_wall_ms_per_call']:.3f}" if "caller_wall_ms_per_call" in r else "-"
        print(f"{r['step']:>8} {'on' if r['evidence'] else 'off':>8} {r['calls']:>6} {r['cpu_ms_per_call']:>11.3f} {caller:>14}")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"python": sys.executable, "snapshot": Path(args.snapshot).name, "rows": rows,
                                    "loadavg": os.getloadavg()}, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
