"""Peer driver: hpo3 1.5.1 (Rust backend) ranking OMIM diseases by HPOSet similarity or enrichment.

Runs inside the hpo3 virtualenv (`.cache/peers/hpo3/`), started by benchmarks/ranking.py:

    python hpo3_driver.py --cases C.jsonl --out R.jsonl --meta M.json --method similarity|enrichment \
        [--data-folder DIR] [--kind omim --sim-method resnik --combine funSimAvg] [--top 100]

Without --data-folder hpo3 uses the ontology compiled into its wheel (HPO 2025-11); with it,
`Ontology(data_folder=DIR, from_obo_file=True)` reads the standard release files (hp.obo,
phenotype.hpoa, genes_to_phenotype.txt / phenotype_to_genes.txt) from DIR.

- similarity: `HPOSet(case terms).similarity_scores(all OMIM disease sets, kind, method, combine)`
  (hpo3's batch API; it runs on all available CPUs), sorted, top N.
- enrichment: `stats.EnrichmentModel("omim").enrichment("hypergeom", case set)` (hypergeometric
  p-value of each OMIM disease sharing a term with the case); score = -log10(p).
"""

from __future__ import annotations

import time
from importlib.metadata import version

from _common import neg_log10, parse_args, run, top_n


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], ["similarity", "enrichment"])
    t0 = time.perf_counter()
    import pyhpo
    from pyhpo import HPOSet, Ontology, stats

    if args.data_folder:
        Ontology(data_folder=args.data_folder, from_obo_file=True)
    else:
        Ontology()
    omims = list(Ontology.omim_diseases)
    ids = [d.id for d in omims]
    sets = [d.hpo_set() for d in omims]
    model = stats.EnrichmentModel("omim") if args.method == "enrichment" else None
    load_s = time.perf_counter() - t0

    def rank_similarity(terms: list) -> list:
        scores = HPOSet(terms).similarity_scores(sets, kind=args.kind, method=args.sim_method, combine=args.combine)
        return top_n(zip(scores, ids), args.top)

    def rank_enrichment(terms: list) -> list:
        assert model is not None
        found = model.enrichment("hypergeom", HPOSet(terms))
        return top_n(((neg_log10(e["enrichment"]), e["item"].id) for e in found), args.top)

    meta = {
        "library": "hpo3", "version": version("hpo3"), "backend": getattr(pyhpo, "__backend__", None),
        "data": args.data_folder or "bundled", "data_version": Ontology.version(),
        "method": args.method, "kind": args.kind,
        **({"sim_method": args.sim_method, "combine": args.combine} if args.method == "similarity"
           else {"test": "hypergeom", "score": "-log10(p)"}),
        "load_s": load_s, "n_omim_diseases": len(omims),
        "universe": sorted(f"OMIM:{i}" for i, s in zip(ids, sets) if len(s)),
    }
    run(args, meta, rank_similarity if args.method == "similarity" else rank_enrichment, Ontology.get_hpo_object)


if __name__ == "__main__":
    main()
