"""Benchmark: large clinical texts beside a stream of 4-term requests on one `raregraph serve` worker (issue 19).

    .venv/bin/python benchmarks/text_load.py                               # 6 texts of 99,000 characters
    .venv/bin/python benchmarks/text_load.py --baseline /path/to/old/.venv/bin/raregraph   # before/after, one run
    .venv/bin/python benchmarks/text_load.py --skip-cost --texts 2 --chars 20000         # a quick look

Three parts, one run:
1. Cost of text extraction in this process (cold: a new linker per size, nothing recalled), exact
   tier alone and with the embedding tier, at 10k, 25k, 50k and 99k characters of GSC+ abstracts
   (`shared/data/text-corpora/GSC+`): wall and CPU time, ms per 1,000 characters; linear cost
   keeps ms per 1,000 characters flat as the text grows.
2. For each server (this checkout, then `--baseline`): `raregraph serve --workers 1` on loopback,
   embedding tier on (the snapshot's cached FAISS index), default threads, RAREGRAPH_API_MAX_TEXT_CHARS
   raised to `--chars` when that is over the default (50,000) so the texts are served. Once /readyz answers
   200: idle RSS; then 4-term requests alone (`--quiet-s`, one every `--pace-ms`) as the peer;
   then `--texts` POST /v1/diagnose with `--chars` characters of text each, all at once, while the
   same 4-term stream runs until the last text request has ended (answered or timed out). The
   stream then stops and the server's CPU is watched until it is idle (under 10% of a core over
   0.5 s): the seconds that takes are `idle_after_s`.
3. Per server: 4-term p50/p95 alone and under text load, text answers (status, seconds), CPU
   idle time after the last text, RSS idle and peak (the serve process and its children, sampled
   every 0.1 s), the machine's load average.

Targets (issue 19): 4-term p95 under load <= 200 ms, idle within 2 s of the last text, RSS < 1.5 GB.
Texts are windows of the corpus at different offsets (`--same-text`: one text sent N times, as the
issue's reproduction did; the server then recalls the spans it searched for the first).
Prints a table and writes benchmarks/results/text_load.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from api_load import Server  # this folder is sys.path[0] when run

RESULTS = Path(__file__).parent / "results"
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "data" / "text-corpora" / "GSC+" / "corpus"
RAREGRAPH = Path(sys.executable).parent / "raregraph"
CASES = [  # 4 present terms each: Marfan-like, epileptic encephalopathy-like, a skeletal dysplasia, a neuromuscular picture
    ["HP:0001166", "HP:0001083", "HP:0002616", "HP:0000545"],
    ["HP:0001250", "HP:0001263", "HP:0001252", "HP:0000252"],
    ["HP:0004322", "HP:0002650", "HP:0001156", "HP:0000316"],
    ["HP:0003701", "HP:0003560", "HP:0002093", "HP:0001638"],
]
TARGET_P95_MS, TARGET_IDLE_S, TARGET_RSS_MIB = 200.0, 2.0, 1.5e9 / 2**20
IDLE_CPU = 0.10  # of one core, averaged over 0.5 s


def corpus_text() -> str:
    return "\n\n".join(p.read_text(encoding="utf-8") for p in sorted(CORPUS.iterdir()))


def windows(base: str, count: int, chars: int, same: bool) -> list[str]:
    """`count` texts of `chars` characters: one window (same), or windows at evenly spread offsets, wrapping."""
    ring = base * (chars // len(base) + 2)
    step = 0 if same else len(base) // max(count, 1)
    return [ring[i * step:i * step + chars] for i in range(count)]


# --- part 1: cost in process -------------------------------------------------------------------------


def extraction_cost(snapshot: str, base: str, sizes: list[int]) -> list[dict[str, Any]]:
    """Wall and CPU seconds of `Retriever.extract` per size, exact tier and with embeddings, a cold linker each."""
    from raregraph.api.service import build_service
    from raregraph.retrieval.embeddings import TermEmbeddingIndex, limit_threads
    from raregraph.retrieval.linking import EmbeddingSettings, TermLinker
    from raregraph.settings import Settings

    service = build_service(Settings(snapshot=snapshot))
    index = service.linker.build_index()
    service.extract("seizures")  # the graph's label look-up tables, built on first use (as a server's start-up does)
    limit_threads(1)  # as a server runs it: one core per text
    rows = []
    for tier in ("exact", "exact+embedding"):
        for size in sizes:
            cold = None
            if index is not None and tier != "exact":  # the loaded model and names, with nothing recalled yet
                cold = TermEmbeddingIndex(index._index, index.term_ids, index.texts, index.encoder, index.model,
                                          loaded_from_cache=True)
            linker = TermLinker(service.graph, service.linker.settings if tier != "exact" else
                                EmbeddingSettings(enabled=False), index=cold)
            text = base[:size]
            cpu, wall = time.process_time(), time.perf_counter()
            found = linker.extract(text)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            rows.append({"tier": tier, "chars": size, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
                         "ms_per_1k_chars": round(wall / size * 1e6, 1), "linked": len(found.linked),
                         "embedding": found.embedding_status})
            print(f"  {tier:<16}{size:>8,} chars {wall:7.2f} s wall {cpu:7.2f} s CPU "
                  f"{wall / size * 1e6:7.1f} ms/1k chars", flush=True)
    return rows


# --- part 2: a server under text load ----------------------------------------------------------------


class Sampler(threading.Thread):
    """CPU (cores busy) and RSS of a process tree every 0.1 s."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        import psutil

        self._root = psutil.Process(pid)
        self.samples: list[tuple[float, float, float, float]] = []  # (monotonic, cores, rss total MiB, rss max MiB)
        self._halt = threading.Event()

    def _tree(self) -> list[Any]:
        return [self._root, *self._root.children(recursive=True)]

    def run(self) -> None:
        last_t, last_cpu = time.monotonic(), self._cpu()
        while not self._halt.wait(0.1):
            now, cpu = time.monotonic(), self._cpu()
            rss = [p.memory_info().rss / 2**20 for p in self._tree()]
            self.samples.append((now, (cpu - last_cpu) / (now - last_t), sum(rss), max(rss)))
            last_t, last_cpu = now, cpu

    def _cpu(self) -> float:
        total = 0.0
        for p in self._tree():
            times = p.cpu_times()
            total += times.user + times.system
        return total

    def stop(self) -> None:
        self._halt.set()
        self.join()

    def idle_after(self, since: float, window: float = 0.5) -> float | None:
        """Seconds after `since` until the CPU stays under `IDLE_CPU` cores for a `window` (None: never seen)."""
        later = [s for s in self.samples if s[0] >= since]
        per = max(int(window / 0.1), 1)
        for i in range(len(later) - per + 1):
            if all(s[1] < IDLE_CPU for s in later[i:i + per]):
                return round(later[i][0] - since, 2)
        return None


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))], 1)


async def _hpo_stream(client: Any, url: str, pace_s: float, stop: asyncio.Event, out: list[dict[str, Any]]) -> None:
    i = 0
    while not stop.is_set():
        started = time.perf_counter()
        try:
            r = await client.post(url, json={"hpo_present": CASES[i % len(CASES)]}, timeout=60)
            status = r.status_code
        except Exception as err:  # noqa: BLE001 - a transport error is a result here
            status = type(err).__name__
        took = time.perf_counter() - started
        out.append({"ms": round(took * 1000, 1), "status": status, "at": time.monotonic()})
        i += 1
        await asyncio.sleep(max(pace_s - took, 0))


async def _text(client: Any, url: str, text: str) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        r = await client.post(url, json={"text": text}, timeout=180)
        status, kind = r.status_code, (r.json().get("type", "").rsplit(":", 1)[-1] if r.status_code != 200 else "")
    except Exception as err:  # noqa: BLE001
        status, kind = type(err).__name__, ""
    return {"status": status, "kind": kind, "s": round(time.perf_counter() - started, 2), "ended": time.monotonic()}


async def _drive(base: str, texts: list[str], quiet_s: float, pace_s: float) -> dict[str, Any]:
    import httpx

    url = f"{base}/v1/diagnose?llm=off"
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=64)) as client:
        await client.post(url, json={"hpo_present": CASES[0]}, timeout=60)
        alone: list[dict[str, Any]] = []
        stop = asyncio.Event()
        stream = asyncio.create_task(_hpo_stream(client, url, pace_s, stop, alone))
        await asyncio.sleep(quiet_s)
        stop.set()
        await stream
        loaded: list[dict[str, Any]] = []
        stop = asyncio.Event()
        started = time.monotonic()
        stream = asyncio.create_task(_hpo_stream(client, url, pace_s, stop, loaded))
        answers = await asyncio.gather(*(_text(client, url, t) for t in texts))
        stop.set()
        await stream
    return {"alone": alone, "loaded": loaded, "texts": answers, "load_started": started,
            "last_text_ended": max(a["ended"] for a in answers)}


def measure_server(label: str, executable: Path, snapshot: str, texts: list[str], args: argparse.Namespace,
                   work: Path) -> dict[str, Any]:
    print(f"{label}: starting {executable} serve", flush=True)
    server = Server(snapshot, work / f"{label}.log", executable=executable, env={
        "RAREGRAPH_EMBEDDING_ENABLED": "true", "RAREGRAPH_API_LOG_LEVEL": "warning",
        "RAREGRAPH_API_MAX_TEXT_CHARS": str(max(args.chars, 50_000))})
    sampler = None
    try:
        ready_s = server.wait_ready(timeout=1200.0)
        sampler = Sampler(server.process.pid)
        sampler.start()
        time.sleep(2.0)
        idle_rss = max(s[3] for s in sampler.samples)
        print(f"{label}: ready in {ready_s:.1f} s, idle RSS {idle_rss:.0f} MiB; {args.quiet_s:g} s of 4-term requests, "
              f"then {len(texts)} texts", flush=True)
        run = asyncio.run(_drive(server.base, texts, args.quiet_s, args.pace_ms / 1000))
        deadline = run["last_text_ended"] + args.idle_wait
        while time.monotonic() < deadline and sampler.idle_after(run["last_text_ended"]) is None:
            time.sleep(0.5)
        time.sleep(0.6)
        sampler.stop()
        during = [s for s in sampler.samples if s[0] >= run["load_started"]]
        alone_ms = [r["ms"] for r in run["alone"] if r["status"] == 200]
        loaded_ms = [r["ms"] for r in run["loaded"]]
        return {
            "label": label, "executable": str(executable), "ready_s": round(ready_s, 1),
            "rss_idle_mib": round(idle_rss), "rss_peak_mib": round(max(s[3] for s in during)),
            "rss_peak_tree_mib": round(max(s[2] for s in during)),
            "hpo_alone": {"n": len(alone_ms), "p50_ms": _pct(alone_ms, 50), "p95_ms": _pct(alone_ms, 95)},
            "hpo_under_text": {"n": len(loaded_ms), "p50_ms": _pct(loaded_ms, 50), "p95_ms": _pct(loaded_ms, 95),
                               "max_ms": max(loaded_ms, default=None),
                               "not_200": sum(r["status"] != 200 for r in run["loaded"])},
            "texts": [{k: v for k, v in t.items() if k != "ended"} for t in run["texts"]],
            "last_text_s": round(run["last_text_ended"] - run["load_started"], 1),
            "idle_after_s": sampler.idle_after(run["last_text_ended"]),
            "cpu_cores_mean_under_text": round(statistics.fmean(s[1] for s in during if s[0] <= run["last_text_ended"]), 2),
        }
    finally:
        if sampler is not None and sampler.is_alive():
            sampler.stop()
        server.stop()


def _print(rows: list[dict[str, Any]], load: tuple[float, ...]) -> None:
    print(f"\nload average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({os.cpu_count()} CPUs)")
    head = (f"{'server':<10}{'ready s':>8}{'RSS idle':>9}{'RSS peak':>9}{'alone p95':>10}{'text p50':>9}"
            f"{'text p95':>9}{'max':>8}{'texts 200/503':>14}{'last text s':>12}{'idle after s':>13}")
    print(head)
    for r in rows:
        ok = sum(t["status"] == 200 for t in r["texts"])
        unavailable = sum(t["status"] == 503 for t in r["texts"])
        idle = "never" if r["idle_after_s"] is None else f"{r['idle_after_s']:.1f}"
        print(f"{r['label']:<10}{r['ready_s']:>8.1f}{r['rss_idle_mib']:>9}{r['rss_peak_mib']:>9}"
              f"{r['hpo_alone']['p95_ms']!s:>10}{r['hpo_under_text']['p50_ms']!s:>9}{r['hpo_under_text']['p95_ms']!s:>9}"
              f"{r['hpo_under_text']['max_ms']!s:>8}{f'{ok}/{unavailable}':>14}{r['last_text_s']:>12}{idle:>13}")
    print(f"targets: 4-term p95 under text <= {TARGET_P95_MS:g} ms, idle after <= {TARGET_IDLE_S:g} s, "
          f"RSS < {TARGET_RSS_MIB:.0f} MiB (MiB = 2^20 bytes)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--snapshot", default=None, help="Snapshot folder (default: the default HPO snapshot)")
    parser.add_argument("--texts", type=int, default=6)
    parser.add_argument("--chars", type=int, default=99_000)
    parser.add_argument("--same-text", action="store_true", help="Send one text N times (the issue's reproduction)")
    parser.add_argument("--quiet-s", type=float, default=10.0, help="Seconds of 4-term requests alone first")
    parser.add_argument("--pace-ms", type=float, default=100.0, help="One 4-term request every … ms (sequential)")
    parser.add_argument("--idle-wait", type=float, default=120.0, help="Longest wait for the CPU to go idle")
    parser.add_argument("--sizes", default="10000,25000,50000,99000", help="Part 1 text sizes")
    parser.add_argument("--skip-cost", action="store_true", help="Skip part 1 (in-process cost)")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="A `raregraph` executable of another checkout (the code before a change), measured after this one")
    parser.add_argument("--out", type=Path, default=RESULTS / "text_load.json")
    args = parser.parse_args()

    from raregraph.api.service import ensure_snapshot
    from raregraph.settings import Settings

    snapshot = args.snapshot or str(ensure_snapshot(Settings()).path)
    base = corpus_text()
    texts = windows(base, args.texts, args.chars, args.same_text)
    load_start = os.getloadavg()
    cost = []
    if not args.skip_cost:
        print("part 1: extraction cost in this process (one core)", flush=True)
        cost = extraction_cost(snapshot, base, [int(x) for x in args.sizes.split(",")])
    work = Path(tempfile.mkdtemp(prefix="text_load_"))
    servers = [measure_server("this", RAREGRAPH, snapshot, texts, args, work)]
    if args.baseline is not None:
        servers.append(measure_server("baseline", args.baseline, snapshot, texts, args, work))
    load_end = os.getloadavg()
    _print(servers, load_end)
    summary = {
        "benchmark": "text_load", "snapshot": snapshot, "texts": args.texts, "chars": args.chars,
        "same_text": args.same_text, "pace_ms": args.pace_ms, "quiet_s": args.quiet_s, "cost": cost, "servers": servers,
        "targets": {"hpo_p95_ms": TARGET_P95_MS, "idle_after_s": TARGET_IDLE_S, "rss_mib": round(TARGET_RSS_MIB)},
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "load_average_start": load_start,
                    "load_average_end": load_end},
        "logs": str(work), "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
