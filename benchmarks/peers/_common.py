"""Shared plumbing of the peer drivers (stdlib only: it runs inside each peer's own virtualenv).

A driver reads cases (JSONL, the eval fields; only `id` and `hpo_present` are used by the
peers), loads its library once (timed as `load_s`), then ranks case by case, timing each case
from the case's term list to its sorted top-N list (the library call and the sort; not the file
writing; `cpu_seconds` is the process CPU time over the same span, all threads, which a busy
machine inflates far less than wall time). Output, one JSON line per case:

    {"id", "ranking": [{"disease_id": "OMIM:n", "score"}...], "seconds", "cpu_seconds", "terms_used",
     "terms_dropped": [...], "terms_replaced": {"old": "new"}}

and a meta JSON (library, versions, data release, load time, the OMIM diseases the library
holds with at least one annotation).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

Ranking = list[dict[str, Any]]


def parse_args(description: str, methods: Iterable[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--cases", type=Path, required=True, help="cases JSONL (id, hpo_present)")
    parser.add_argument("--out", type=Path, required=True, help="rankings JSONL to write")
    parser.add_argument("--meta", type=Path, required=True, help="run metadata JSON to write")
    parser.add_argument("--method", choices=list(methods), required=True)
    parser.add_argument("--data-folder", default=None, help="HPO release folder (hp.obo, phenotype.hpoa, ...); "
                        "default: the data the library ships with")
    parser.add_argument("--kind", default="omim", help="information-content kind")
    parser.add_argument("--sim-method", default="resnik", help="term similarity")
    parser.add_argument("--combine", default="funSimAvg", help="set similarity combination")
    parser.add_argument("--top", type=int, default=100)
    return parser.parse_args()


def read_cases(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def resolve_terms(queries: Iterable[str], lookup: Callable[[str], Any]) -> tuple[list[Any], list[str], dict[str, str]]:
    """Each query term through the library's own lookup, one at a time (a whole-set
    `HPOSet.from_queries` raises on the first unknown id): obsolete terms are replaced by their
    `replaced_by` term when there is one, unknown ids and obsolete terms without replacement
    are dropped."""
    terms: dict[str, Any] = {}
    dropped: list[str] = []
    replaced: dict[str, str] = {}
    for query in dict.fromkeys(queries):
        try:
            term = lookup(query)
        except Exception:  # noqa: BLE001 - both libraries raise RuntimeError/KeyError/ValueError here
            dropped.append(query)
            continue
        if getattr(term, "is_obsolete", False):
            target = getattr(term, "replaced_by", None)
            try:
                term = lookup(target) if target else None
            except Exception:  # noqa: BLE001
                term = None
            if term is None:
                dropped.append(query)
                continue
            replaced[query] = term_id(term)
        terms.setdefault(term_id(term), term)
    return list(terms.values()), dropped, replaced


def term_id(term: Any) -> str:
    value = term.id
    return value if isinstance(value, str) else f"HP:{int(value):07d}"


def top_n(scored: Iterable[tuple[float, int]], top: int) -> Ranking:
    """Best first; equal scores in OMIM-number order (the metric counts ties as an expected rank)."""
    ordered = sorted(scored, key=lambda pair: (-pair[0], pair[1]))[:top]
    return [{"disease_id": f"OMIM:{omim}", "score": score} for score, omim in ordered]


def neg_log10(p: float) -> float:
    """Enrichment p-value as a descending score; p == 0.0 (underflow) ranks above every finite p."""
    return 324.0 if p <= 0.0 else -math.log10(p)


def run(
    args: argparse.Namespace,
    meta: dict[str, Any],
    rank: Callable[[list[Any]], Ranking],
    lookup: Callable[[str], Any],
) -> None:
    """Rank every case, timing each one; write rankings and meta."""
    cases = read_cases(args.cases)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with args.out.open("w", encoding="utf-8") as sink:
        for case in cases:
            t0, c0 = time.perf_counter(), time.process_time()
            terms, dropped, replaced = resolve_terms(case.get("hpo_present") or [], lookup)
            ranking = rank(terms) if terms else []
            seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
            sink.write(json.dumps({
                "id": case["id"], "ranking": ranking, "seconds": seconds, "cpu_seconds": cpu, "terms_used": len(terms),
                "terms_dropped": dropped, "terms_replaced": replaced,
            }) + "\n")
    meta["rank_wall_s"] = time.perf_counter() - started
    meta["n_cases"] = len(cases)
    args.meta.write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
