"""Benchmark: POST /v1/diagnose on loopback at 1, 8 and 32 concurrent clients, against the ranking called in-process.

`raregraph serve` (embedded back-end, the default snapshot) is started as a real uvicorn process
on 127.0.0.1 for each worker count asked for; each (evidence, concurrency) level then runs for a
fixed time (and at most --max-requests with the Python client) over the dev-sample cases
(`shared/data/eval/dev_sample_pv.jsonl`: HPO terms, excluded terms and variants), cycling
through them. Throughput, p50/p95/p99 latency and the error count (transport errors and any
non-200) are reported per level, with the ratio of throughput to calling `service.diagnose` on
the same cases in this process, one after the other, in the same run.

    .venv/bin/python benchmarks/api_load.py                       # workers 1,2; evidence on,off; 1/8/32 clients
    .venv/bin/python benchmarks/api_load.py --workers 1 --evidence on --duration 10
    .venv/bin/python benchmarks/api_load.py --baseline /path/to/other/venv/bin/raregraph --rounds 3   # before/after, one run
    .venv/bin/python benchmarks/api_load.py --baseline OTHER --unrecorded   # and this code with recording off, same rounds

The load generator is `wrk` (Debian package `wrk`; a Lua script rotates the request bodies) when
it is on PATH, else an asyncio + httpx client in a separate process (`--client httpx`). Either way
the generator shares the machine's cores with the server: on a 2-core machine that costs the
server CPU (the Python client far more than wrk), so the figures are a floor. Requests ask
`unknown=drop&obsolete=replace` (as `raregraph rank` does) so that no dev case is refused. Each
server records its answers in a fresh feedback store (SQLite in the run's temporary folder) unless
RAREGRAPH_FEEDBACK_URL names one.

Prints a table and writes benchmarks/results/api_load.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

RESULTS = Path(__file__).parent / "results"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
DEFAULT_CASES = SHARED / "eval" / "dev_sample_pv.jsonl"
RAREGRAPH = Path(sys.executable).parent / "raregraph"
TARGET_P95_MS = 150.0
TARGET_RATIO = 0.8

_WRK_SCRIPT = r"""
local bodies = {}
for line in io.lines(os.getenv("API_LOAD_BODIES")) do bodies[#bodies + 1] = line end
local path = os.getenv("API_LOAD_PATH")
local threads = {}
local next_id = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

function setup(thread)
  next_id = next_id + 1
  thread:set("offset", next_id * 97)
  table.insert(threads, thread)
end

local i = 0
function init(args) i = offset end

function request()
  i = (i % #bodies) + 1
  return wrk.format(nil, path, nil, bodies[i])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_s": %.6f, "errors": %d, "non_2xx": %d, "p50_ms": %.3f, "p95_ms": %.3f, ' ..
    '"p99_ms": %.3f, "max_ms": %.3f, "mean_ms": %.3f}\n',
    summary.requests, summary.duration / 1e6, e.connect + e.read + e.write + e.timeout + e.status, e.status,
    latency:percentile(50) / 1e3, latency:percentile(95) / 1e3, latency:percentile(99) / 1e3,
    latency.max / 1e3, latency.mean / 1e3))
end
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def load_bodies(path: Path, limit: int | None) -> list[str]:
    """Case request bodies (the CaseRequest fields of each JSONL line), one JSON document per case."""
    from raregraph.models import CaseRequest

    fields = set(CaseRequest.model_fields)
    bodies = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            case = {k: v for k, v in json.loads(line).items() if k in fields}
            bodies.append(json.dumps(case, separators=(",", ":")))
    return bodies[:limit] if limit else bodies


# --- in-process peer ------------------------------------------------------------------------------


def in_process(snapshot: str, bodies: list[str], evidence: bool, duration: float, top: int) -> dict[str, Any]:
    """`service.diagnose` on the same cases, one after the other, in this process (no HTTP, no JSON out)."""
    from raregraph.models import CaseRequest
    from raregraph.api.service import build_service
    from raregraph.retrieval.case import LENIENT
    from raregraph.settings import Settings

    service = build_service(Settings(snapshot=snapshot, embedding_enabled=False))
    cases = [CaseRequest.model_validate_json(b) for b in bodies]
    service.diagnose(cases[0], top=top, policy=LENIENT, evidence=evidence)  # warm the lazy caches
    latencies: list[float] = []
    started = time.perf_counter()
    i = 0
    while time.perf_counter() - started < duration and i < 100_000:
        t0 = time.perf_counter()
        service.diagnose(cases[i % len(cases)], top=top, policy=LENIENT, evidence=evidence)
        latencies.append((time.perf_counter() - t0) * 1000)
        i += 1
    wall = time.perf_counter() - started
    return {"requests": i, "duration_s": wall, "throughput_rps": i / wall, "p50_ms": _percentile(latencies, 50),
            "p95_ms": _percentile(latencies, 95), "p99_ms": _percentile(latencies, 99)}


# --- load generators ------------------------------------------------------------------------------


def drive_wrk(url: str, bodies_file: Path, script: Path, concurrency: int, duration: float) -> dict[str, Any]:
    parts = urlsplit(url)
    env = {**os.environ, "API_LOAD_BODIES": str(bodies_file), "API_LOAD_PATH": f"{parts.path}?{parts.query}"}
    base = f"{parts.scheme}://{parts.netloc}"
    threads = min(concurrency, 2)
    out = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(concurrency), "-d", f"{int(duration)}s", "--timeout", "30s",
         "-s", str(script), base],
        env=env, capture_output=True, text=True, check=True,
    ).stdout
    result = json.loads(next(line for line in out.splitlines() if line.startswith("{")))
    result["throughput_rps"] = result["requests"] / result["duration_s"]
    return result


async def _drive_httpx(url: str, bodies: list[str], concurrency: int, duration: float, max_requests: int) -> dict[str, Any]:
    import httpx

    latencies: list[float] = []
    errors = 0
    sent = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30.0, headers={"Content-Type": "application/json"}) as client:
        started = time.perf_counter()
        deadline = started + duration

        async def worker(offset: int) -> None:
            nonlocal errors, sent
            i = offset
            while time.perf_counter() < deadline and sent < max_requests:
                sent += 1
                body = bodies[i % len(bodies)]
                i += 1
                t0 = time.perf_counter()
                try:
                    response = await client.post(url, content=body)
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append((time.perf_counter() - t0) * 1000)
                errors += 0 if ok else 1

        await asyncio.gather(*(worker(k * 97) for k in range(concurrency)))
        wall = time.perf_counter() - started
    return {"requests": len(latencies), "duration_s": wall, "throughput_rps": len(latencies) / wall, "errors": errors,
            "p50_ms": _percentile(latencies, 50), "p95_ms": _percentile(latencies, 95),
            "p99_ms": _percentile(latencies, 99), "max_ms": max(latencies, default=float("nan"))}


def drive_httpx(url: str, bodies_file: Path, concurrency: int, duration: float, max_requests: int) -> dict[str, Any]:
    """The asyncio client in its own process (so it does not share this process' GIL)."""
    out = subprocess.run(
        [sys.executable, __file__, "--_drive", json.dumps([url, str(bodies_file), concurrency, duration, max_requests])],
        capture_output=True, text=True, check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


# --- the server -----------------------------------------------------------------------------------


class Server:
    """`raregraph serve` on a free loopback port, ready when /readyz answers 200 `confirm` times in a row.

    The API's rate limit and keys are off unless `env` sets them; `headers` go with each readiness probe.
    Also used by benchmarks/feedback_load.py and benchmarks/text_load.py.
    """

    def __init__(self, snapshot: str, log_file: Path, *, workers: int = 1, executable: Path = RAREGRAPH,
                 env: dict[str, str] | None = None, headers: dict[str, str] | None = None, confirm: int = 1) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.headers = headers or {}
        self.confirm = confirm
        env = {**os.environ, "RAREGRAPH_SNAPSHOT": snapshot, "RAREGRAPH_EMBEDDING_ENABLED": "false",
               "RAREGRAPH_API_RATE_LIMIT_PER_MINUTE": "0", "RAREGRAPH_API_KEYS": "{}", **(env or {})}
        self._log = log_file.open("w")
        self.process = subprocess.Popen(
            [str(executable), "serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(workers)],
            env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def wait_ready(self, timeout: float = 300.0) -> float:
        """Seconds until ready; SystemExit if the server exits or is not ready within `timeout`."""
        import httpx

        started = time.perf_counter()
        ready = 0
        while time.perf_counter() - started < timeout:
            if self.process.poll() is not None:
                raise SystemExit(f"raregraph serve exited with {self.process.returncode} (log: {self._log.name})")
            try:
                ok = httpx.get(f"{self.base}/readyz", headers=self.headers, timeout=5).status_code == 200
                ready = ready + 1 if ok else 0
                if ready >= self.confirm:
                    return time.perf_counter() - started
            except httpx.TransportError:
                ready = 0
            time.sleep(0.2)
        raise SystemExit(f"server not ready after {timeout} s")

    def rss_mib(self) -> float:
        import psutil

        parent = psutil.Process(self.process.pid)
        return sum(p.memory_info().rss for p in [parent, *parent.children(recursive=True)]) / 2**20

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self._log.close()

    def kill9(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self._log.close()


# --- main -----------------------------------------------------------------------------------------


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--_drive":
        url, bodies_file, concurrency, duration, max_requests = json.loads(sys.argv[2])
        bodies = Path(bodies_file).read_text(encoding="utf-8").splitlines()
        print(json.dumps(asyncio.run(_drive_httpx(url, bodies, concurrency, duration, max_requests))))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=Path, default=DEFAULT_CASES)
    parser.add_argument("--limit-cases", type=int, default=None, help="Use only the first N cases")
    parser.add_argument("--concurrency", type=_ints, default=[1, 8, 32])
    parser.add_argument("--workers", type=_ints, default=[1, 2], help="uvicorn worker processes to compare")
    parser.add_argument("--threads", type=int, default=4, help="RAREGRAPH_API_THREADS: ranking threads per worker")
    parser.add_argument("--evidence", default="on,off", help="on, off or on,off: the evidence=… query parameter")
    parser.add_argument("--duration", type=float, default=15.0, help="Seconds per level")
    parser.add_argument("--max-requests", type=int, default=20_000, help="Cap per level (httpx client)")
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--client", choices=["auto", "wrk", "httpx"], default="auto")
    parser.add_argument("--snapshot", default=None, help="Snapshot folder (default: the default HPO snapshot, built if needed)")
    parser.add_argument("--out", type=Path, default=RESULTS / "api_load.json")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="A `raregraph` executable of another checkout (e.g. the code before a change), served "
                             "and measured in the same run right after this one, level for level")
    parser.add_argument("--unrecorded", action="store_true",
                        help="Also measure this code with RAREGRAPH_FEEDBACK_ENABLED=false (answers not recorded) in "
                             "the same rounds: what recording costs, and the like-for-like peer of a baseline that "
                             "recorded nothing")
    parser.add_argument("--rounds", type=int, default=1,
                        help="Measure this server and the baseline this many times, alternating which goes first "
                             "(the machine's load drifts); the comparison takes each level's median")
    args = parser.parse_args()

    from raregraph.api.service import ensure_snapshot
    from raregraph.settings import Settings

    client = args.client if args.client != "auto" else ("wrk" if shutil.which("wrk") else "httpx")
    snapshot = args.snapshot or str(ensure_snapshot(Settings()).path)
    bodies = load_bodies(args.cases, args.limit_cases)
    modes = [m.strip() == "on" for m in args.evidence.split(",")]
    load_start = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="api_load_"))
    bodies_file = work / "bodies.jsonl"
    bodies_file.write_text("\n".join(bodies) + "\n", encoding="utf-8")
    script = work / "rotate.lua"
    script.write_text(_WRK_SCRIPT, encoding="utf-8")

    # The in-process peer runs before and after the HTTP levels (the machine's load drifts); its mean is the base.
    peer_runs: dict[str, list[dict[str, Any]]] = {"on" if e else "off": [] for e in modes}

    def measure_peer() -> None:
        for evidence in modes:
            run = in_process(snapshot, bodies, evidence, args.duration, args.top)
            peer_runs["on" if evidence else "off"].append(run)
            print(f"in-process evidence={'on' if evidence else 'off'}: {run['throughput_rps']:.1f} req/s", file=sys.stderr)

    measure_peer()

    rows: list[dict[str, Any]] = []
    servers = [("this", RAREGRAPH, {})] + ([("baseline", args.baseline, {})] if args.baseline else [])
    if args.unrecorded:
        servers.append(("unrec", RAREGRAPH, {"RAREGRAPH_FEEDBACK_ENABLED": "false"}))
    # each round starts with the next server (two servers: alternating)
    plan = [(r, w, s) for r in range(args.rounds) for w in args.workers
            for s in servers[r % len(servers):] + servers[:r % len(servers)]]
    for round_no, workers, (label, executable, server_env) in plan:
        # with N workers each loads its own index: N x 4 ready answers in a row mean all are ready
        # A fresh feedback store per server (unless RAREGRAPH_FEEDBACK_URL names one): the default one in the data
        # folder grows by every answer of every run, and what an answer's record costs then depends on history.
        store = {} if "RAREGRAPH_FEEDBACK_URL" in os.environ else {
            "RAREGRAPH_FEEDBACK_URL": f"sqlite:///{work / f'feedback-{label}-r{round_no}-w{workers}.sqlite'}"}
        server = Server(snapshot, work / f"server-{label}-w{workers}.log", workers=workers, executable=executable,
                        env={"RAREGRAPH_API_THREADS": str(args.threads), **store, **server_env}, confirm=workers * 4)
        try:
            ready_s = server.wait_ready()
            for evidence in modes:
                url = (f"{server.base}/v1/diagnose?top={args.top}&unknown=drop&obsolete=replace&llm=off"
                       f"&evidence={'true' if evidence else 'false'}")
                drive_httpx(url, bodies_file, 2, 2.0, 40)  # warm-up: lazy caches in every worker
                for concurrency in args.concurrency:
                    load_before = os.getloadavg()[0]
                    if client == "wrk":
                        result = drive_wrk(url, bodies_file, script, concurrency, args.duration)
                    else:
                        result = drive_httpx(url, bodies_file, concurrency, args.duration, args.max_requests)
                    row = {"server": label, "round": round_no, "workers": workers, "evidence": "on" if evidence else "off", "concurrency": concurrency,
                           **result,
                           "server_rss_mib": round(server.rss_mib(), 1), "ready_s": round(ready_s, 2),
                           "loadavg_1min_before": round(load_before, 2)}
                    rows.append(row)
                    print(f"  {label} w={workers} evidence={row['evidence']} c={concurrency}: {row['throughput_rps']:.1f} req/s "
                          f"p95 {row['p95_ms']:.0f} ms errors {row['errors']}", file=sys.stderr)
        finally:
            server.stop()

    measure_peer()
    peer = {mode: {"throughput_rps": statistics.mean(r["throughput_rps"] for r in runs),
                   "p50_ms": statistics.mean(r["p50_ms"] for r in runs), "p95_ms": statistics.mean(r["p95_ms"] for r in runs),
                   "requests": sum(r["requests"] for r in runs), "runs": runs}
            for mode, runs in peer_runs.items()}
    for row in rows:
        row["ratio_to_in_process"] = row["throughput_rps"] / peer[row["evidence"]]["throughput_rps"]
    _print_table(rows, peer, client)
    comparison = _compare(rows) if args.baseline or args.unrecorded else []
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "client": client, "cases": str(args.cases), "n_cases": len(bodies), "duration_s_per_level": args.duration,
        "top": args.top, "threads_per_worker": args.threads, "snapshot": Path(snapshot).name,
        "targets": {"p95_ms_at_32": TARGET_P95_MS, "throughput_ratio": TARGET_RATIO},
        "in_process": peer, "rows": rows, "rounds": args.rounds, "this_vs_baseline": comparison,
        "unrecorded": args.unrecorded,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "loadavg_start": [round(x, 2) for x in load_start], "loadavg_end": [round(x, 2) for x in os.getloadavg()]},
    }, indent=2), encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    shutil.rmtree(work, ignore_errors=True)


def _compare(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per level: the median throughput of each server over the rounds, and this ÷ baseline (and unrecorded ÷
    baseline, this ÷ unrecorded when measured)."""
    levels = sorted({(r["workers"], r["evidence"], r["concurrency"]) for r in rows})
    labels = [label for label in ("this", "baseline", "unrec") if any(r["server"] == label for r in rows)]
    pairs = [(a, b) for a, b in (("this", "baseline"), ("unrec", "baseline"), ("this", "unrec"))
             if a in labels and b in labels]
    table = []
    for workers, evidence, concurrency in levels:
        def median(label: str) -> float:
            return statistics.median(r["throughput_rps"] for r in rows if r["server"] == label and r["workers"] == workers
                                     and r["evidence"] == evidence and r["concurrency"] == concurrency)
        rps = {label: median(label) for label in labels}
        entry: dict[str, Any] = {"workers": workers, "evidence": evidence, "concurrency": concurrency,
                                 **{f"{label}_rps": round(v, 1) for label, v in rps.items()}}
        for a, b in pairs:  # this ÷ baseline keeps its old name
            entry["ratio" if (a, b) == ("this", "baseline") else f"{a}_vs_{b}"] = round(rps[a] / rps[b], 3)
        table.append(entry)
    names = ["ratio" if (a, b) == ("this", "baseline") else f"{a}_vs_{b}" for a, b in pairs]
    print(f"\n{', '.join(f'{a} ÷ {b}' for a, b in pairs)} (median req/s over the rounds; unrec: this code, "
          "RAREGRAPH_FEEDBACK_ENABLED=false)")
    print(f"{'workers':>7} {'evidence':>8} {'clients':>7} " + " ".join(f"{label:>8}" for label in labels) + " "
          + " ".join(f"{'/'.join(p):>14}" for p in pairs))
    for t in table:
        print(f"{t['workers']:>7} {t['evidence']:>8} {t['concurrency']:>7} "
              + " ".join(f"{t[f'{label}_rps']:>8.1f}" for label in labels) + " "
              + " ".join(f"{t[name]:>14.2f}" for name in names))
    return table


def _print_table(rows: list[dict[str, Any]], peer: dict[str, dict[str, Any]], client: str) -> None:
    print(f"\nPOST /v1/diagnose on loopback ({client}); in-process peer: service.diagnose, sequential, "
          "mean of a run before and after")
    print(f"{'server':>8} {'round':>5} {'workers':>7} {'evidence':>8} {'clients':>7} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
          f"{'errors':>6} {'÷ in-proc':>9}")
    for r in rows:
        print(f"{r.get('server', 'this'):>8} {r.get('round', 0):>5} {r['workers']:>7} {r['evidence']:>8} {r['concurrency']:>7} {r['throughput_rps']:>8.1f} {r['p50_ms']:>8.1f} "
              f"{r['p95_ms']:>8.1f} {r['p99_ms']:>8.1f} {r['errors']:>6} {r['ratio_to_in_process']:>9.2f}")
    for mode, p in peer.items():
        runs = ", ".join(f"{r['throughput_rps']:.1f}" for r in p["runs"])
        print(f"in-process evidence={mode}: {p['throughput_rps']:.1f} req/s (runs: {runs}), p50 {p['p50_ms']:.1f} ms, "
              f"p95 {p['p95_ms']:.1f} ms ({p['requests']} calls)")
    print(f"median load average while measuring: {statistics.median(r['loadavg_1min_before'] for r in rows):.1f}"
          if rows else "")


if __name__ == "__main__":
    main()
