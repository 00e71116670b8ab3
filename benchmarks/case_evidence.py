"""Benchmark: confirmed cases as evidence (RAREGRAPH_CASE_EVIDENCE): top-1/top-10 with and without, on held-back halves.

Each development disease's cases are split in two halves; one half is entered as confirmed cases,
the other is ranked with and without them, on the standard snapshot and on the de-leaked one
(built without every annotation citing only papers of phenopacket-store development cases, both
halves': the knowledge base knows those patients only through the confirmed half).

The split, per disease (the case's first gold id), deterministic:
- a disease whose cases come from several cohorts (phenopacket-store: its gene cohorts; RareBench:
  its MME / HMS / LIRICAL / RAMEDIS subsets) is split by cohort: cohorts largest first (then by
  name), each to the half with fewer cases so far, the first to the ranked half;
- a disease from one cohort is split by case id: sorted ids, even positions ranked, odd confirmed.
A disease with one case has it ranked and nothing confirmed (it counts in the ranked half).

Confirmed cases enter as the service reads them from the feedback store: `ConfirmedCase(feedback id,
disease id, present terms as the service understood the case)`, through `Retriever.use_confirmed_cases`
(what RAREGRAPH_CASE_EVIDENCE=on wires); ranking is `Retriever.rank_line` (`raregraph rank`'s).
Rows: all ranked cases; those whose diagnosis the snapshot ranks ("in universe": only those can
gain, a disease without release annotations is not made rankable by its cases); those whose
disease has no confirmed case (what the other diseases' cases cost them); and, for
phenopacket-store, those in dev_sample. Populations: phenopacket-store development cases (3,755)
and RareBench dev (standard protocol only: no publication ids). Track P (phenotype only) by
default; PV adds the candidate variants (phenopacket-store only).

    .venv/bin/python benchmarks/case_evidence.py [--tracks P,PV] [--case-weights 1,0.25,4]

Prints a table and writes benchmarks/results/case_evidence.json (with the machine's load average).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import fit_ranking  # noqa: E402 - found through the path just set
from fit_ranking import read_jsonl  # noqa: E402
EVAL = ROOT.parent / "shared" / "data" / "eval"
RESULTS = ROOT / "benchmarks" / "results"


def snapshot_folder(refs: list[str] | None) -> Path:
    """The snapshot, de-leaked of `refs` when given (fit_ranking's build, its own reference listing)."""
    return fit_ranking.snapshot_folder(refs, "case_evidence_refs.txt")


def split_halves(case_ids: Sequence[str], disease_of: Mapping[str, str],
                 cohort_of: Mapping[str, str]) -> tuple[set[str], set[str], dict[str, int]]:
    """(ranked ids, confirmed ids, how many diseases were split by cohort / by case id)."""
    by_disease: dict[str, list[str]] = {}
    for case_id in case_ids:
        by_disease.setdefault(disease_of[case_id], []).append(case_id)
    ranked: set[str] = set()
    confirmed: set[str] = set()
    how = {"by_cohort": 0, "by_case_id": 0}
    for disease in sorted(by_disease):
        ids = sorted(by_disease[disease])
        cohorts: dict[str, list[str]] = {}
        for case_id in ids:
            cohorts.setdefault(cohort_of[case_id], []).append(case_id)
        if len(cohorts) > 1:
            how["by_cohort"] += 1
            halves: tuple[list[str], list[str]] = ([], [])
            for _, members in sorted(cohorts.items(), key=lambda kv: (-len(kv[1]), kv[0])):
                (halves[0] if len(halves[0]) <= len(halves[1]) else halves[1]).extend(members)
            ranked.update(halves[0])
            confirmed.update(halves[1])
        else:
            how["by_case_id"] += 1
            ranked.update(ids[0::2])
            confirmed.update(ids[1::2])
    return ranked, confirmed, how


class Population:
    """One population's inputs: track lines, gold ids, cohorts, and which half each case is in."""

    def __init__(self, name: str, tracks: dict[str, list[dict[str, Any]]], golds: dict[str, list[str]],
                 cohorts: dict[str, str], sample: set[str] | None, protocols: Sequence[str]) -> None:
        self.name, self.tracks, self.golds, self.cohorts = name, tracks, golds, cohorts
        self.sample, self.protocols = sample, protocols
        ids = sorted(i for i in golds if golds[i])
        self.ranked, self.confirmed, self.split = split_halves(ids, {i: golds[i][0] for i in ids}, cohorts)


def confirmed_cases(retriever: Any, population: Population, track: str) -> list[Any]:
    """The confirmed half as the service would read it from the store: the terms the case was ranked on."""
    from raregraph.errors import InvalidCaseError
    from raregraph.models import CaseRequest
    from raregraph.retrieval.case import LENIENT
    from raregraph.retrieval.case_evidence import ConfirmedCase

    rows = retriever.engine.rows_by_id()
    out = []
    for number, line in enumerate(population.tracks[track], start=1):
        case_id = line["id"]
        if case_id not in population.confirmed:
            continue
        try:
            case = retriever.resolve(CaseRequest.model_validate(line), LENIENT)
        except InvalidCaseError:
            continue
        # The verdict names one disease: the first gold id the snapshot ranks (any, when none is).
        gold = population.golds[case_id]
        disease = next((d for d in gold if d in rows), gold[0])
        out.append(ConfirmedCase(number, disease, tuple(t.id for t in case.present)))
    return out


def rank(retriever: Any, lines: Sequence[dict[str, Any]]) -> tuple[dict[str, list[dict[str, Any]]], float]:
    from raregraph.models import CaseRequest

    started = time.perf_counter()
    out = {}
    for line in lines:
        ranked = retriever.rank_line(CaseRequest.model_validate(line), top=100)
        out[line["id"]] = [e.model_dump() for e in ranked.ranking]
    return out, time.perf_counter() - started


def metrics(rankings: Mapping[str, list[dict[str, Any]]], golds: Mapping[str, list[str]],
            ids: Sequence[str]) -> dict[str, Any]:
    from raregraph.retrieval.evaluation import case_outcome, summarize

    outcomes = [case_outcome(i, rankings[i], golds[i]) for i in ids if i in rankings]
    summary = summarize(outcomes, [i for i in ids if i not in rankings])
    return {"n": summary.n_cases, "top1": round(summary.top[1], 4), "top3": round(summary.top[3], 4),
            "top10": round(summary.top[10], 4), "mrr": round(summary.mrr, 4)}


def measure(retriever: Any, population: Population, track: str, weights: Sequence[float]) -> dict[str, Any]:
    """Rank the held-back half without case evidence, then with the confirmed half at each `case_weight`."""
    confirmed = confirmed_cases(retriever, population, track)
    lines = [line for line in population.tracks[track] if line["id"] in population.ranked]
    confirmed_diseases = {c.disease_id for c in confirmed}
    ranked_ids = retriever.engine.rows_by_id()
    ids = [line["id"] for line in lines]
    subsets = {"all": ids, "in universe": [i for i in ids if set(population.golds[i]) & set(ranked_ids)],
               # what the others' confirmed cases cost a patient whose disease has none
               "disease not confirmed": [i for i in ids if not set(population.golds[i]) & confirmed_diseases]}
    if population.sample is not None:
        subsets["in dev_sample"] = [i for i in ids if i in population.sample]
    runs: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    engine, params = retriever.engine, retriever.engine.params
    retriever.case_evidence = None
    runs["without"], seconds["without"] = rank(retriever, lines)
    started = time.perf_counter()
    retriever.use_confirmed_cases(_Fixed(confirmed), float("inf"))  # what RAREGRAPH_CASE_EVIDENCE=on wires
    seconds["build"] = time.perf_counter() - started
    descriptions = retriever.confirmed()
    for weight in weights:
        engine.params = replace(params, case_weight=weight)
        runs[_label(weight)], seconds[_label(weight)] = rank(retriever, lines)
    engine.params = params
    retriever.case_evidence = None
    described = {d for d in confirmed_diseases if d in ranked_ids}
    return {
        "confirmed_cases": len(confirmed), "confirmed_diseases": len(confirmed_diseases),
        "ranked_cases_described": sum(1 for i in ids if set(population.golds[i]) & described),
        "confirmed_not_ranked": descriptions.skipped if descriptions else len(confirmed), "ranked_cases": len(lines),
        "subsets": {name: {key: metrics(run, population.golds, ids) for key, run in runs.items()}
                    for name, ids in subsets.items()},
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
    }


def _label(weight: float) -> str:
    return "with" if weight == 1.0 else f"with (case_weight {weight:g})"


class _Fixed:
    """A case source that never changes (the benchmark's confirmed half)."""

    def __init__(self, cases: list[Any]) -> None:
        self._cases = cases

    def version(self) -> int:
        return 0

    def cases(self) -> list[Any]:
        return self._cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, default=EVAL / "dev_cases.jsonl")
    parser.add_argument("--sample", type=Path, default=EVAL / "dev_sample.jsonl")
    parser.add_argument("--rarebench", type=Path, default=EVAL / "rarebench_dev_p.jsonl")
    parser.add_argument("--tracks", default="P")
    parser.add_argument("--protocols", default="standard,deleaked")
    parser.add_argument("--case-weights", default="1", help="comma-separated ScoringParams.case_weight values (1: the "
                                                             "default, reported as 'with'; others: sensitivity only)")
    parser.add_argument("--out", type=Path, default=RESULTS / "case_evidence.json")
    args = parser.parse_args()
    from ranking import references_of
    from raregraph.api.service import build_service
    from raregraph.settings import Settings

    tracks = args.tracks.split(",")
    protocols = args.protocols.split(",")
    weights = [float(w) for w in args.case_weights.split(",")]
    stem = args.cases.with_suffix("")
    gold_lines = read_jsonl(Path(f"{stem}_gold.jsonl"))
    phenopackets = Population(
        "phenopacket-store dev", {t: read_jsonl(Path(f"{stem}_{t.lower()}.jsonl")) for t in tracks},
        {g["id"]: list(g["diagnosis_ids"]) for g in gold_lines}, {g["id"]: g["cohort"] for g in gold_lines},
        {c["id"] for c in read_jsonl(args.sample)}, protocols)
    rb_gold = read_jsonl(args.rarebench.with_name(args.rarebench.name.replace("_p.jsonl", "_gold.jsonl")))
    rarebench = Population("RareBench dev", {"P": read_jsonl(args.rarebench)},
                           {g["id"]: list(g["diagnosis_ids"]) for g in rb_gold},
                           {g["id"]: str(g.get("subset") or "all") for g in rb_gold}, None, ["standard"])
    folders = {"standard": snapshot_folder(None)}
    if "deleaked" in protocols:
        folders["deleaked"] = snapshot_folder(references_of(read_jsonl(args.cases)))
    load_before = os.getloadavg()
    results: dict[str, Any] = {}
    for protocol in protocols:
        retriever = build_service(Settings(snapshot=str(folders[protocol]), embedding_enabled=False))
        for population in (phenopackets, rarebench):
            if protocol not in population.protocols:
                continue
            for track in tracks:
                if track not in population.tracks:
                    continue
                print(f"[{population.name} · {track} · {protocol}] ranking {len(population.ranked)} held-back cases ...",
                      file=sys.stderr, flush=True)
                results[f"{population.name}|{track}|{protocol}"] = measure(retriever, population, track, weights)
    load_after = os.getloadavg()
    print_table(results, ["without", *map(_label, weights)])
    doc = {
        "what": "confirmed cases as evidence: each development disease's cases split in two halves, one entered as "
                "confirmed cases, the other ranked with and without them",
        "split": {"rule": "per disease (first gold id): several cohorts -> by cohort, largest first, each to the half "
                          "with fewer cases (first to the ranked half); one cohort -> sorted case ids, even positions "
                          "ranked, odd confirmed",
                  "phenopacket-store dev": {"ranked": len(phenopackets.ranked), "confirmed": len(phenopackets.confirmed),
                                            "diseases": phenopackets.split},
                  "RareBench dev": {"ranked": len(rarebench.ranked), "confirmed": len(rarebench.confirmed),
                                    "diseases": rarebench.split}},
        "snapshots": {k: os.path.relpath(v, ROOT) for k, v in folders.items()},
        "deleaked": "annotations citing only papers of phenopacket-store development cases (both halves) dropped",
        "results": results,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                    "loadavg_before": [round(x, 2) for x in load_before],
                    "loadavg_after": [round(x, 2) for x in load_after]},
        "command": " ".join([os.path.relpath(sys.argv[0], ROOT), *sys.argv[1:]]),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    print(f"\nsplit: phenopacket-store {doc['split']['phenopacket-store dev']}; RareBench {doc['split']['RareBench dev']}")
    print(f"load average before {doc['machine']['loadavg_before']} after {doc['machine']['loadavg_after']}; wrote {args.out}")


def print_table(results: Mapping[str, Any], columns: Sequence[str]) -> None:
    head = f"{'population · track · protocol':40} {'ranked cases':26} {'n':>5}  " + "  ".join(
        f"{name + ' top-1 / top-10':>28}" for name in columns)
    print(head)
    print("-" * len(head))
    for key, block in results.items():
        for subset, rows in block["subsets"].items():
            cells = "  ".join(f"{rows[name]['top1']:>19.3f} / {rows[name]['top10']:.3f}" for name in columns)
            print(f"{key.replace('|', ' · '):40} {subset:26} {rows['without']['n']:>5}  {cells}")
        print(f"{'':40} confirmed: {block['confirmed_cases']} cases of {block['confirmed_diseases']} diseases "
              f"({block['confirmed_not_ranked']} of them of a disease this snapshot does not rank); "
              f"{block['ranked_cases_described']} ranked cases have a described disease; seconds {block['seconds']}")


if __name__ == "__main__":
    main()
