"""Benchmark: which evidence changed between two checkouts, on the dev sample's candidates (P and PV, top 10).

Run `dump` with each checkout's interpreter (the script only uses `build_service` and
`diagnose`, so it also runs on the code before issue 16), then `compare` the two files:

    /path/to/old/.venv/bin/python benchmarks/evidence_diff.py dump /tmp/evidence_before.jsonl
    .venv/bin/python benchmarks/evidence_diff.py dump /tmp/evidence_after.jsonl
    .venv/bin/python benchmarks/evidence_diff.py compare /tmp/evidence_before.jsonl /tmp/evidence_after.jsonl

Prints counts by (before → after) relation and examples; writes benchmarks/results/evidence_diff.json.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

EVAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "eval"
RESULTS = Path(__file__).parent / "results"


def dump(out: Path) -> None:
    from raregraph.api.service import build_service
    from raregraph.models import CaseRequest
    from raregraph.settings import Settings

    try:
        from raregraph.retrieval.case import LENIENT
    except ImportError:  # before issue 16 the policy lived in api.service
        from raregraph.api.service import LENIENT  # type: ignore[attr-defined,no-redef]

    service = build_service(Settings(embedding_enabled=False))
    with out.open("w", encoding="utf-8") as sink:
        for track in ("p", "pv"):
            for line in (EVAL / f"dev_sample_{track}.jsonl").read_text(encoding="utf-8").splitlines():
                case = CaseRequest.model_validate(json.loads(line))
                try:
                    response = service.diagnose(case, top=10, policy=LENIENT)
                except Exception as err:  # noqa: BLE001 - a case that cannot be ranked is recorded as such
                    sink.write(json.dumps({"track": track, "id": case.id, "error": str(err)}) + "\n")
                    continue
                for c in response.candidates:
                    ev = c.evidence
                    assert ev is not None
                    sink.write(json.dumps({
                        "track": track, "id": case.id, "disease": c.disease_id, "score": c.score,
                        "matched": [[m.case_term, m.disease_term, m.relation, m.via] for m in ev.matched],
                        "unmatched": ev.unmatched,
                        "twin": [[m.case_term, m.disease_term, m.relation, m.via] for m in ev.twin.matched] if ev.twin else None,
                    }) + "\n")


def compare(before: Path, after: Path) -> dict[str, Any]:
    old = [json.loads(line) for line in before.read_text(encoding="utf-8").splitlines()]
    new = [json.loads(line) for line in after.read_text(encoding="utf-8").splitlines()]
    if [(o["id"], o.get("disease"), o.get("score")) for o in old] != [(n["id"], n.get("disease"), n.get("score")) for n in new]:
        raise SystemExit("the two dumps rank differently: compare evidence only on identical rankings")
    candidates = changed = pairs = pairs_changed = twins_changed = 0
    kinds: Counter[str] = Counter()
    examples: list[Any] = []
    for o, n in zip(old, new):
        if "error" in o:
            continue
        candidates += 1
        before_m = {m[0]: m for m in o["matched"]}
        after_m = {m[0]: m for m in n["matched"]}
        terms = sorted(set(before_m) | set(after_m) | set(o["unmatched"]) | set(n["unmatched"]))
        diff = [(t, before_m.get(t), after_m.get(t)) for t in terms if before_m.get(t) != after_m.get(t)]
        pairs += len(terms)
        pairs_changed += len(diff)
        changed += bool(diff)
        twins_changed += o["twin"] != n["twin"]
        for term, a, b in diff:
            kinds[f"{a[2] if a else 'unmatched'} -> {b[2] if b else 'unmatched'}"] += 1
            if len(examples) < 30:
                examples.append({"track": o["track"], "case": o["id"], "disease": o["disease"], "before": a, "after": b})
    return {"candidates": candidates, "candidates_changed": changed, "pairs": pairs, "pairs_changed": pairs_changed,
            "twin_evidence_changed": twins_changed, "by_relation": dict(kinds.most_common()), "examples": examples}


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "dump":
        dump(Path(sys.argv[2]))
    elif len(sys.argv) == 4 and sys.argv[1] == "compare":
        summary = compare(Path(sys.argv[2]), Path(sys.argv[3]))
        print(f"candidates {summary['candidates']}, with changed matched evidence {summary['candidates_changed']} "
              f"({100 * summary['candidates_changed'] / max(summary['candidates'], 1):.1f} %); (candidate, term) pairs "
              f"{summary['pairs']}, changed {summary['pairs_changed']}; twin evidence changed {summary['twin_evidence_changed']}")
        for kind, count in summary["by_relation"].items():
            print(f"  {kind:<30} {count:>7}")
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "evidence_diff.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
