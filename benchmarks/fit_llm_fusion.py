"""Fit the LLM fusion (llm/fusion.py): the default gate for any model, and (w, margin) per model from recorded runs.

    .venv/bin/python benchmarks/fit_llm_fusion.py bound                 # retrieval only: the default margin
    .venv/bin/python benchmarks/fit_llm_fusion.py model FIT.json [REPORT.json]   # one run: even cases fit, odd report

`bound` ranks development cases with retrieval alone and asks, for each margin of the gate, how
much top-1 a model could take away at worst (an adversary that promotes a wrong candidate in every
case where the gate lets it: retrieval's top is right and another candidate's probability is
within the margin) and how much it could add at best (an oracle: the gold is within the margin
but not first). Fit cases: `dev_cases` P and PV minus the `dev_sample` cases, and the even lines of
RareBench; report cases: `dev_sample` P and PV, the odd lines of RareBench. The default margin is
the smallest one whose worst case on every fit population is at most one point. Writes
benchmarks/results/llm_fusion_bound.json.

`model` takes the JSON that `benchmarks/llm_e2e.py` writes (it records, per case, the retrieval
list with probabilities and the model's grounded order), replays every (w, margin) of a grid on
the FIT run, picks the one with the most top-1 hits (ties: the larger margin, then the smaller
w; no gain over retrieval: w=0, margin=1, i.e. the model's order is not used) and reports that
choice, plain fusion (w=0.5, no gate) and `DEFAULT` on the REPORT run (other cases; without
one, the odd cases of the FIT run, fitted on its even ones). A run's `.partial.jsonl` works too. Writes
benchmarks/results/llm_fusion_fit.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EVAL = ROOT.parent / "shared" / "data" / "eval"
MARGINS = (1.0, 0.99, 0.95, 0.9, 0.8, 0.7, 0.5, 0.3, 0.1, 0.0)
WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
DEPTH = 50  # retrieval candidates the model could name (and so promote), as deep as llm_e2e asks
TOLERANCE = 0.01  # the most top-1 any model may take away


# --- replay (shared with llm_e2e.py) -------------------------------------------------------------


def replay(record: dict[str, Any], weight: float, margin: float, k: float = 60.0) -> list[str]:
    """The merged order (disease ids) a policy gives for one recorded case."""
    from raregraph.llm.fusion import FusionPolicy, gated_order

    retrieval = [(row["id"], row["strength"]) for row in record["retrieval"]]
    return [d for d, _ in gated_order(retrieval, record["llm_order"], FusionPolicy(weight, margin, k))]


def top1_hit(record: dict[str, Any], order: list[str]) -> bool:
    """Whether the first disease of `order` is the case's diagnosis (its id or an exact equivalent)."""
    if not order:
        return False
    gold = set(record["gold"])
    equivalents = {row["id"]: {row["id"], *row["equivalent_ids"]} for row in record["retrieval"]}
    return bool(equivalents.get(order[0], {order[0]}) & gold)


def top1_share(records: list[dict[str, Any]], weight: float, margin: float) -> float:
    return sum(top1_hit(r, replay(r, weight, margin)) for r in records) / len(records) if records else 0.0


# --- the worst case any model can do ----------------------------------------------------------


def _populations() -> dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, set[str]]]]:
    """population -> (fit cases, report cases, gold ids by case id)."""
    def lines(name: str) -> list[dict[str, Any]]:
        return [json.loads(x) for x in (EVAL / name).read_text(encoding="utf-8").splitlines() if x.strip()]

    gold = {g["id"]: set(g["diagnosis_ids"]) for g in lines("dev_cases_gold.jsonl")}
    sample = {c["id"] for c in lines("dev_sample_gold.jsonl")}
    out = {}
    for track in ("p", "pv"):
        every = lines(f"dev_cases_{track}.jsonl")
        out[f"phenopacket {track.upper()}"] = ([c for c in every if c["id"] not in sample],
                                               lines(f"dev_sample_{track}.jsonl"), gold)
    rare = lines("rarebench_dev_p.jsonl")
    rare_gold = {g["id"]: set(g["diagnosis_ids"]) for g in lines("rarebench_dev_gold.jsonl")}
    out["RareBench"] = (rare[0::2], rare[1::2], rare_gold)
    return out


def _contest(service: Any, cases: list[dict[str, Any]], gold: dict[str, set[str]]) -> list[tuple[bool, float, float]]:
    """Per case: (retrieval top-1 right, strongest wrong candidate / top, strongest gold candidate / top)."""
    from raregraph.api.service import LENIENT
    from raregraph.errors import RaregraphError
    from raregraph.llm.fusion import strengths
    from raregraph.models import CaseRequest

    out = []
    for raw in cases:
        try:
            response = service.diagnose(CaseRequest.model_validate(raw), top=DEPTH, evidence=False, policy=LENIENT)
        except RaregraphError:
            out.append((False, 0.0, 0.0))  # nothing ranked: no model can change it
            continue
        candidates = response.candidates
        if not candidates:
            out.append((False, 0.0, 0.0))
            continue
        s = strengths([c.probability for c in candidates], [c.score for c in candidates])
        truth = gold[raw["id"]]
        right = [bool({c.disease_id, *c.equivalent_ids} & truth) for c in candidates]
        top = s[0] or 1.0
        wrong = max((x / top for x, r in zip(s[1:], right[1:]) if not r), default=0.0)
        best_gold = max((x / top for x, r in zip(s[1:], right[1:]) if r), default=0.0)
        out.append((right[0], wrong, best_gold))
    return out


def _bound_row(contest: list[tuple[bool, float, float]], margin: float) -> dict[str, float]:
    n = len(contest)
    worst = sum(right and wrong >= margin for right, wrong, _ in contest) / n
    best = sum((not right) and gold >= margin for right, _, gold in contest) / n
    return {"retrieval_top1": round(sum(r for r, _, _ in contest) / n, 4), "worst_loss": round(worst, 4),
            "oracle_gain": round(best, 4)}


def bound(args: argparse.Namespace) -> dict[str, Any]:
    from raregraph.api.service import build_service
    from raregraph.settings import Settings

    service = build_service(Settings(embedding_enabled=False))
    result: dict[str, Any] = {"margins": list(MARGINS), "depth": DEPTH, "populations": {}}
    for name, (fit, report, gold) in _populations().items():
        started = time.perf_counter()
        rows = {}
        for split, cases in (("fit", fit), ("report", report)):
            contest = _contest(service, cases, gold)
            rows[split] = {"cases": len(cases), "by_margin": {str(m): _bound_row(contest, m) for m in MARGINS}}
        rows["seconds"] = round(time.perf_counter() - started, 1)
        result["populations"][name] = rows
        print(f"{name}: {rows['fit']['cases']} fit / {rows['report']['cases']} report cases, {rows['seconds']} s",
              file=sys.stderr)
    fits = [p["fit"]["by_margin"] for p in result["populations"].values()]
    chosen = min((m for m in MARGINS if all(f[str(m)]["worst_loss"] <= TOLERANCE for f in fits)), default=1.0)
    result["default_margin"] = chosen
    result["date"] = date.today().isoformat()
    result["machine"] = f"{platform.machine()}, {__import__('os').cpu_count()} cores"
    return result


def _print_bound(result: dict[str, Any]) -> None:
    print("| population · split | cases | retrieval top-1 | " + " | ".join(f"m={m:g} worst / oracle" for m in MARGINS)
          + " |\n|---|---|---|" + "---|" * len(MARGINS))
    for name, rows in result["populations"].items():
        for split in ("fit", "report"):
            by = rows[split]["by_margin"]
            cells = " | ".join(f"-{by[str(m)]['worst_loss'] * 100:.1f} / +{by[str(m)]['oracle_gain'] * 100:.1f}"
                               for m in MARGINS)
            print(f"| {name} · {split} | {rows[split]['cases']} | {by['1.0']['retrieval_top1'] * 100:.1f} | {cells} |")
    print(f"\ndefault margin (worst case <= {TOLERANCE * 100:g} point on every fit population): {result['default_margin']:g}")


# --- per model ---------------------------------------------------------------------------------


def _load_run(path: Path) -> dict[str, Any]:
    """An llm_e2e.py result, or its `.partial.jsonl` (one case a line, written as the run goes)."""
    if path.suffix == ".jsonl":
        rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
        return {"model": next((r.get("model") for r in rows if r.get("model")), None), "per_case": rows}
    return json.loads(path.read_text(encoding="utf-8"))


def fit_model(args: argparse.Namespace) -> dict[str, Any]:
    from raregraph.llm.fusion import DEFAULT

    fit_run = _load_run(args.fit)
    fit = [r for r in fit_run["per_case"] if r.get("retrieval")]
    report: list[dict[str, Any]] = []
    if args.report:
        report = [r for r in _load_run(args.report)["per_case"] if r.get("retrieval")]
    else:  # one run: fit on its even cases, report on its odd ones
        fit, report = fit[0::2], fit[1::2]
    base = top1_share(fit, 0.0, 1.0)
    grid = {(w, m): top1_share(fit, w, m) for w in WEIGHTS for m in MARGINS}
    (w, m), best = max(grid.items(), key=lambda kv: (round(kv[1], 9), kv[0][1], -kv[0][0]))
    if best <= base:
        w, m, best = 0.0, 1.0, base
    result: dict[str, Any] = {
        "model": fit_run.get("model"), "fit_run": str(args.fit), "fit_cases": len(fit), "date": date.today().isoformat(),
        "chosen": {"weight": w, "margin": m}, "fit": {"retrieval_top1": round(base, 4), "chosen_top1": round(best, 4)},
        "grid": {f"w={gw:g},m={gm:g}": round(v, 4) for (gw, gm), v in grid.items()},
    }
    every = fit + report
    result["all_cases"] = {"cases": len(every), "retrieval_top1": round(top1_share(every, 0.0, 1.0), 4),
                           "plain_fusion_top1": round(top1_share(every, 0.5, 0.0), 4),
                           "default_top1": round(top1_share(every, DEFAULT.weight, DEFAULT.margin), 4),
                           "chosen_top1": round(top1_share(every, w, m), 4)}
    if report:
        result["report_run"] = str(args.report or f"{args.fit} (odd cases)")
        result["report_cases"] = len(report)
        result["report"] = {
            "retrieval_top1": round(top1_share(report, 0.0, 1.0), 4),
            "chosen_top1": round(top1_share(report, w, m), 4),
            "plain_fusion_top1 (w=0.5, no gate)": round(top1_share(report, 0.5, 0.0), 4),
            f"default_top1 (w={DEFAULT.weight:g}, margin={DEFAULT.margin:g})": round(
                top1_share(report, DEFAULT.weight, DEFAULT.margin), 4),
        }
    return result


def _print_model(result: dict[str, Any]) -> None:
    print(f"model {result['model']}: fitted on {result['fit_cases']} cases ({result['fit_run']}): "
          f"w={result['chosen']['weight']:g}, margin={result['chosen']['margin']:g}; "
          f"top-1 on the fit cases {result['fit']['retrieval_top1']:.3f} -> {result['fit']['chosen_top1']:.3f}")
    for key, value in result.get("report", {}).items():
        print(f"| report ({result['report_cases']} cases) {key} | {value:.3f} |")
    every = result["all_cases"]
    print(f"all {every['cases']} cases, top-1: retrieval {every['retrieval_top1']:.3f}, plain fusion "
          f"{every['plain_fusion_top1']:.3f}, default gate {every['default_top1']:.3f}, fitted {every['chosen_top1']:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    b = sub.add_parser("bound", help="retrieval only: worst case and oracle per margin; the default margin")
    b.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "llm_fusion_bound.json")
    m = sub.add_parser("model", help="fit (w, margin) for one model from llm_e2e.py runs")
    m.add_argument("fit", type=Path, help="llm_e2e.py JSON (or .partial.jsonl) of the fit cases")
    m.add_argument("report", type=Path, nargs="?", help="llm_e2e.py JSON of other cases, to report on")
    m.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "llm_fusion_fit.json")
    args = parser.parse_args()
    result = bound(args) if args.what == "bound" else fit_model(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (_print_bound if args.what == "bound" else _print_model)(result)
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
