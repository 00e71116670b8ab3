"""Benchmark: POST /v1/feedback at 16 clients on SQLite (and PostgreSQL, the peer), and kill -9 during a burst.

`raregraph serve` (embedded back-end, the default snapshot, one worker) runs as a real process on
loopback with a key holding the `feedback` scope. First 64 diagnose answers are asked for (their
`response_id`s are what feedback cites); then, per engine:

- paced: 16 clients send together `--rate` writes/s (200) for `--duration` s, each request sent
  at its scheduled time (open loop: a slow answer does not slow the schedule, so latency is
  not hidden by back-pressure); throughput achieved, p50/p95/p99 latency, errors;
- closed: 16 clients each send the next write as soon as the last is answered: the most the
  server sustains.

PostgreSQL (a throw-away server from the Debian package, as the tests start it) runs the same
levels in the same run as the peer. Then the crash test (SQLite): 1,000 writes are sent at once,
the server is killed with SIGKILL once `--kill-after` of them are acknowledged (a 201 with the
row's id; the rows committed by then are counted in the database file),
and the database is opened again: every acknowledged id must be there (0 lost), SQLite's
integrity and foreign-key checks must pass, and every feedback row must have its audit row.

    .venv/bin/python benchmarks/feedback_load.py
    .venv/bin/python benchmarks/feedback_load.py --duration 10 --engines sqlite

The clients (raw HTTP/1.1 on asyncio streams: far less client CPU than httpx; kept-alive connections for
the paced and closed levels, a connection per write for the burst) share the machine's cores with the server. Prints a table and writes
benchmarks/results/feedback_load.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from api_load import Server, _free_port, _percentile  # this folder is sys.path[0] when run

RESULTS = Path(__file__).parent / "results"
RAREGRAPH = Path(sys.executable).parent / "raregraph"
KEY = "bench-key"
HEADERS = {"X-API-Key": KEY}
TARGET_RPS, TARGET_P95_MS = 200.0, 50.0
CASES = [  # HPO terms of a few well-known presentations (diagnosis only makes the answers feedback cites)
    ["HP:0001166", "HP:0001083", "HP:0002616", "HP:0000545"],
    ["HP:0001250", "HP:0001263", "HP:0000252"],
    ["HP:0000256", "HP:0001263", "HP:0001250", "HP:0000729"],
    ["HP:0004322", "HP:0000316", "HP:0000348"],
]


def start_server(snapshot: str, url: str, log_file: Path) -> Server:
    """`raregraph serve` with the benchmark's feedback key and the store at `url`."""
    return Server(snapshot, log_file, headers=HEADERS, env={
        "RAREGRAPH_API_KEYS": json.dumps({"bench": KEY}), "RAREGRAPH_API_KEY_SCOPES": json.dumps({"bench": ["feedback"]}),
        "RAREGRAPH_FEEDBACK_URL": url, "RAREGRAPH_API_LOG_LEVEL": "warning"})


def make_answers(base: str, n: int) -> list[tuple[str, str]]:
    """(response_id, a disease of its list) for `n` diagnose answers."""
    import httpx

    out = []
    with httpx.Client(base_url=base, headers=HEADERS, timeout=60) as client:
        for i in range(n):
            answer = client.post("/v1/diagnose", params={"top": 5, "evidence": "false"},
                                 json={"hpo_present": CASES[i % len(CASES)]}).json()
            out.append((answer["response_id"], answer["candidates"][i % 5]["disease_id"]))
    return out


def _body(answers: list[tuple[str, str]], i: int) -> dict[str, Any]:
    response_id, disease = answers[i % len(answers)]
    return {"response_id": response_id, "confirmed_disease_id": disease,
            "ratings": {"accuracy": 1 + i % 5, "overall": 1 + (i * 7) % 5}, "comment": f"benchmark write {i}"}


class _KeptAlive:
    """One client's HTTP/1.1 connection, kept alive, on asyncio streams: far less client CPU per request than httpx,
    which matters when the load generator shares the machine's cores with the server."""

    def __init__(self, base: str) -> None:
        self.port = int(base.rsplit(":", 1)[1])
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, path: str, doc: dict[str, Any]) -> tuple[int, bytes]:
        """The status and body of one POST (0 and no body: the connection failed; the next call opens a new one)."""
        body = json.dumps(doc).encode()
        head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {KEY}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        try:
            if self._streams is None:
                self._streams = await asyncio.open_connection("127.0.0.1", self.port)
            reader, writer = self._streams
            writer.write(head + body)
            status = int((await reader.readline()).split()[1])
            length, close = 0, False
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
                elif name.strip().lower() == "connection" and value.strip().lower() == "close":
                    close = True
            answer = await reader.readexactly(length)
            if close:
                self.close()
            return status, answer
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):  # refused, or cut by a kill
            self.close()
            return 0, b""

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None


async def _paced(base: str, answers: list[tuple[str, str]], clients: int, rate: float, duration: float) -> dict[str, Any]:
    total = int(rate * duration)
    latencies: list[float] = []
    errors = 0
    start = time.perf_counter() + 0.2

    async def client(offset: int) -> None:
        nonlocal errors
        http = _KeptAlive(base)
        for i in range(offset, total, clients):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            sent = time.perf_counter()
            ok = (await http.post("/v1/feedback", _body(answers, i)))[0] == 201
            latencies.append((time.perf_counter() - sent) * 1000)  # from the actual send
            errors += not ok
        http.close()

    await asyncio.gather(*(client(k) for k in range(clients)))
    elapsed = time.perf_counter() - start
    return _summary("paced", clients, len(latencies), errors, elapsed, latencies, rate)


async def _closed(base: str, answers: list[tuple[str, str]], clients: int, duration: float) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + duration

    async def client(offset: int) -> None:
        nonlocal errors
        http = _KeptAlive(base)
        i = offset
        while time.perf_counter() < stop:
            sent = time.perf_counter()
            ok = (await http.post("/v1/feedback", _body(answers, i)))[0] == 201
            latencies.append((time.perf_counter() - sent) * 1000)
            errors += not ok
            i += clients
        http.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(k) for k in range(clients)))
    return _summary("closed", clients, len(latencies), errors, time.perf_counter() - started, latencies, None)


def _summary(mode: str, clients: int, n: int, errors: int, elapsed: float, latencies: list[float],
             rate: float | None) -> dict[str, Any]:
    return {"mode": mode, "clients": clients, "target_rps": rate, "requests": n, "errors": errors,
            "duration_s": round(elapsed, 2), "throughput_rps": round((n - errors) / elapsed, 1),
            "p50_ms": round(_percentile(latencies, 50), 2), "p95_ms": round(_percentile(latencies, 95), 2),
            "p99_ms": round(_percentile(latencies, 99), 2), "max_ms": round(max(latencies, default=0), 2)}


async def _burst(server: Server, database: Path, answers: list[tuple[str, str]], writes: int,
                 kill_after: int) -> dict[str, Any]:
    """`writes` writes at once; SIGKILL once `kill_after` are acknowledged (rows committed then read from the file)."""
    import sqlite3

    acked: list[int] = []
    failed = 0
    killed: dict[str, float] = {}

    def committed() -> int:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as db:
            return int(db.execute("SELECT count(*) FROM feedback").fetchone()[0])

    async def watch(started: float) -> None:
        while server.process.poll() is None:
            if len(acked) >= kill_after:
                rows = await asyncio.to_thread(committed)
                acked_then = len(acked)
                await asyncio.to_thread(server.kill9)
                killed.update(after_s=time.perf_counter() - started, rows_seen=rows, acked_then=acked_then)
                return
            await asyncio.sleep(0.01)

    async def one(i: int) -> None:
        nonlocal failed
        http = _KeptAlive(server.base)  # a connection per write: all 1,000 are in flight at once
        status, body = await http.post("/v1/feedback", _body(answers, 10_000 + i))
        http.close()
        if status == 201:
            acked.append(int(json.loads(body)["id"]))
        else:
            failed += 1

    started = time.perf_counter()
    await asyncio.gather(watch(started), *(one(i) for i in range(writes)))
    return {"writes": writes, "acknowledged": len(acked), "not_acknowledged": failed, "acked_ids": acked,
            "killed_after_s": round(killed.get("after_s", float("nan")), 3),
            "committed_rows_seen_at_kill": killed.get("rows_seen"), "acknowledged_at_kill": killed.get("acked_then")}


def crash_test(snapshot: str, work: Path, answers_from: int, writes: int, kill_after: int) -> dict[str, Any]:
    """kill -9 during a burst on SQLite; then count acknowledged writes in the reopened database."""
    from sqlalchemy import text

    from raregraph.api.feedback.store import FeedbackStore

    database = work / "crash.sqlite"
    url = f"sqlite:///{database}"
    server = start_server(snapshot, url, work / "crash-server.log")
    server.wait_ready()
    answers = make_answers(server.base, answers_from)
    before = FeedbackStore(url).counts()["feedback"]
    burst = asyncio.run(_burst(server, database, answers, writes, kill_after))
    if server.process.poll() is None:
        server.kill9()
    store = FeedbackStore(url)
    stored = {f.id for f in store.feedback(include_withdrawn=True)}
    with store.engine.connect() as connection:
        integrity = connection.execute(text("PRAGMA integrity_check")).scalar()
        foreign = connection.execute(text("PRAGMA foreign_key_check")).fetchall()
        unaudited = connection.execute(text(
            "SELECT count(*) FROM feedback f WHERE NOT EXISTS "
            "(SELECT 1 FROM audit a WHERE a.target = 'feedback:' || f.id)")).scalar()
    store.close()
    lost = sorted(set(burst.pop("acked_ids")) - stored)
    return {**burst, "stored_after_restart": len(stored) - before, "lost_acknowledged": len(lost),
            "lost_ids": lost[:20], "integrity_check": integrity, "foreign_key_violations": len(foreign),
            "feedback_rows_without_audit": unaudited}


def _server_cpu_s(server: Server) -> float:
    """User + system CPU seconds of the server and its children (PostgreSQL's backends are not counted)."""
    import psutil

    parent = psutil.Process(server.process.pid)
    return sum(sum(p.cpu_times()[:2]) for p in [parent, *parent.children(recursive=True)])


def run_engine(name: str, url: str, snapshot: str, work: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    server = start_server(snapshot, url, work / f"{name}-server.log")
    try:
        server.wait_ready()
        answers = make_answers(server.base, 64)
        asyncio.run(_closed(server.base, answers, args.clients, 2.0))  # warm-up: connections, caches, migrations
        rows = []
        for level in (lambda: _paced(server.base, answers, args.clients, args.rate, args.duration),
                      lambda: _closed(server.base, answers, args.clients, args.duration)):
            cpu = _server_cpu_s(server)
            row = asyncio.run(level())
            # The server's CPU per write does not depend on how busy the machine is: 1000 / it is what one
            # free core would sustain.
            row["server_cpu_ms_per_write"] = round((_server_cpu_s(server) - cpu) * 1000 / max(row["requests"], 1), 2)
            rows.append(row)
    finally:
        server.stop()
    for row in rows:
        row["engine"] = name
        print(f"{name} {row['mode']}: {row['throughput_rps']} writes/s, p95 {row['p95_ms']} ms", file=sys.stderr)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rate", type=float, default=TARGET_RPS, help="Writes/s of the paced level")
    parser.add_argument("--duration", type=float, default=20.0, help="Seconds per level")
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--burst", type=int, default=1000, help="Writes sent at once in the crash test")
    parser.add_argument("--kill-after", type=int, default=100, help="Acknowledged writes before the SIGKILL")
    parser.add_argument("--snapshot", default=None, help="Snapshot folder (default: the default HPO snapshot)")
    parser.add_argument("--out", type=Path, default=RESULTS / "feedback_load.json")
    args = parser.parse_args()

    from raregraph.api.service import ensure_snapshot
    from raregraph.settings import Settings

    snapshot = args.snapshot or str(ensure_snapshot(Settings()).path)
    work = Path(tempfile.mkdtemp(prefix="feedback_load_"))
    load_start = os.getloadavg()
    rows: list[dict[str, Any]] = []
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    if "sqlite" in engines:
        rows += run_engine("sqlite", f"sqlite:///{work / 'feedback.sqlite'}", snapshot, work, args)
    if "postgresql" in engines:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from tests.api.feedback import pg_server

        pg = pg_server.start(_free_port())
        try:
            rows += run_engine("postgresql", pg.url, snapshot, work, args)
        finally:
            pg_server.stop(pg)
    crash = crash_test(snapshot, work, 64, args.burst, args.kill_after)
    result = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_start": load_start,
                    "load_end": os.getloadavg()},
        "targets": {"throughput_rps": TARGET_RPS, "p95_ms": TARGET_P95_MS, "lost_acknowledged": 0},
        "levels": rows, "crash": crash,
    }
    _print_table(rows, crash)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


def _print_table(rows: list[dict[str, Any]], crash: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="POST /v1/feedback, one uvicorn worker")
    for column in ("engine", "mode", "clients", "target/s", "writes/s", "errors", "p50 ms", "p95 ms", "p99 ms",
                   "server CPU ms/write"):
        table.add_column(column, justify="right")
    for r in rows:
        table.add_row(r["engine"], r["mode"], str(r["clients"]), str(r["target_rps"] or "max"), str(r["throughput_rps"]),
                      str(r["errors"]), str(r["p50_ms"]), str(r["p95_ms"]), str(r["p99_ms"]),
                      str(r["server_cpu_ms_per_write"]))
    console = Console()
    console.print(table)
    console.print(f"kill -9 after {crash['killed_after_s']} s ({crash['committed_rows_seen_at_kill']} rows committed) "
                  f"during {crash['writes']} concurrent writes; {crash['acknowledged']} acknowledged: "
                  f"{crash['lost_acknowledged']} acknowledged writes lost; {crash['stored_after_restart']} stored; "
                  f"integrity {crash['integrity_check']}, {crash['foreign_key_violations']} FK violations, "
                  f"{crash['feedback_rows_without_audit']} rows without audit")


if __name__ == "__main__":
    main()
