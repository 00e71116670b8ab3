"""Refit the ranking model's combination weights (ScoringParams) on the development cases.

How the constants in `retrieval/scoring.py` were chosen (2026-11-23, dev split, 3,755 cases):

1. background_weight (cases without variants): grid 0..1.25 on the dev cases outside
   dev_sample (so dev_sample stays a check set), track P, on both protocols: the standard
   snapshot and one de-leaked of every dev case's references. Printed as a table; 0.75 had the
   best MRR on the standard snapshot and within 0.002 of the best de-leaked. With gene twins
   (re-run 2026-11-23): standard flat from 0.75 to 1.25 (0.580 / 0.581), de-leaked best at
   1.25 (0.399 vs 0.381); dev_sample ranked lower at 1.25 on both, so 0.75 was kept.
2. Genotype (gene_scale, gene_bonus, zygosity_mismatch): conditional-logit (softmax over
   candidate diseases) maximum likelihood on track PV, both protocols pooled, at most
   --per-disease cases per disease, with the phenotype term fixed at
   phenotype_scale x (phenotype - background_weight_variants x n_present x background).
   Candidates: the 300 best by the current model, every disease a case variant hits, 200 random
   ones and the gold. Also reported: the same fit with diseases held out (5 folds by disease),
   evaluated on dev_sample over the whole universe. Refitted with gene twins (re-run 2026-11-23, 4.8 min
   for all four steps): gene_bonus 0.317, zygosity_mismatch 2.991, gene_scale 1.966; dev_sample
   PV ranked slightly lower with them than with the weights in ScoringParams, which were kept.

    .venv/bin/python benchmarks/fit_ranking.py [--cases ../shared/data/eval/dev_cases.jsonl]
        [--sample ../shared/data/eval/dev_sample.jsonl] [--per-disease 12] [--background-variants 1.0]

3. probability_temperature(_variants) and temperature_terms(_variants): the softmax temperature
   T0 x (n_present / 8) ** c maximising the gold group's likelihood, per track, on the in-universe dev
   cases outside dev_sample (standard snapshot); ranking is unchanged by it. `--temperature-only` runs
   just this step. 2026-12-03 (Orphanet-only candidates and the twin link prior on, 3,145 cases): P 0.604 x
   (n / 8) ** 0.454, PV 0.633 x (n / 8) ** 0.292; dev_sample mean -log p(gold) P 1.593 fixed -> 1.443, PV 0.324
   -> 0.314.

4. twin_weight(_variants) (retrieval/twins.py): top-1 / top-10 / MRR on the dev cases outside
   dev_sample for a small grid, per track, on both protocols (the de-leaked one built without
   every dev case's references). `--twins-only` runs just this step.

5. Exact MONDO twins (2026-11-23; `--priors-only --mondo-sssom FILE`, MONDO's SSSOM mappings, e.g.
   `pheval/resources/mondo.sssom.tsv` in the pheval 0.7.14 wheel): OMIM-Orphanet pairs sharing an exact
   MONDO match added as gene twins at log-prior 0 (a one-gene twin) or 1. At 1: de-leaked P 0.380 -> 0.424
   MRR outside dev_sample but standard P on the sample 0.719 -> 0.685; at 0: flat. Not used.

6. The disease prior (retrieval/prior.py; `--disease-prior-only`, ~3 min): literature_prior x log(1 +
   PMIDs cited by the disease's annotations) + coded_prior x [an exact MedDRA term, Orphadata product 1],
   on a grid, track P, on both populations at once: MRR outside dev_sample (standard and de-leaked) and
   on the RareBench dev cases (standard), dev_sample top-1 on both protocols as the check that may lose
   at most half a point. Best allowed mean MRR: 0.25 / 0.4 (2026-12-03, 2026-06-06 snapshot; 0.25 / 0.5
   is better by 0.003 but costs dev_sample a full point). Alone, on the
   2025 snapshot and phenopacket-store only, the literature term ranked lower (lambda 0.25: standard MRR
   0.580 -> 0.571 outside dev_sample), which is why it was not used before RareBench was measured.

7. orphanet_only_prior (retrieval/prior.py; `--orphanet-only`, ~3 min): the log-prior of the Orphanet-only
   candidates (RAREGRAPH_RANK_ORPHANET_ONLY), maximum likelihood of the gold under the track-P softmax, three
   sets weighted alike: phenopacket-store outside dev_sample, standard and de-leaked, and RareBench dev (whose
   diagnoses may be Orphanet-only; also in 5 folds by case, each fitted without its fold), each case at its own
   temperature. 2026-12-03, with the twin link prior (step 8): -3.80 (folds -3.4 to -4.3), RareBench top-1 /
   top-10 0.343 / 0.693 at 0 -> 0.361 / 0.702; 1,048 candidates, the diagnosis of 4 of 332 RareBench dev
   patients (before step 8, at track P's fixed temperature: -3.51).

8. twin_resemblance / twin_fanout (retrieval/twins.py; `--twin-links`, ~6 min): a grid, track P (PV columns:
   its own links, which stay plain), chosen by step 6's rule. 2026-12-03, (resemblance, fanout): MRR outside
   dev_sample standard / de-leaked | RareBench MRR | dev_sample top-1/top-10 standard / de-leaked:
   (0, 0) 0.658 / 0.410 | 0.445 | 0.745/0.881 / 0.254/0.548; (0, 0.5) 0.664 / 0.407 | 0.458 | 0.750/0.884 /
   0.246/0.544; (0.5, 0) 0.659 / 0.398 | 0.461 | 0.752/0.886 / 0.262/0.548; (0.5, 0.5) 0.664 / 0.389 | 0.466 |
   0.755/0.892 / 0.254/0.544 (chosen); (1, 0) 0.652 / 0.370 | 0.469.

Nothing learned is specific to a disease, gene or reference: three global weights, one background
weight and two prior weights, fitted with disease-grouped folds or on cases outside dev_sample.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import zlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import minimize, minimize_scalar
from scipy.special import logsumexp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
EVAL = ROOT.parent / "shared" / "data" / "eval"
FOLDS = 5


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def snapshot_folder(refs: list[str] | None, listing_name: str = "fit_ranking_refs.txt") -> Path:
    """`raregraph etl build` (a no-op when it exists), optionally without annotations citing refs (listed in
    .cache/benchmarks/`listing_name`)."""
    cmd = [str(Path(sys.executable).with_name("raregraph")), "etl", "build", "--out", str(ROOT / "snapshots")]
    if refs:
        listing = ROOT / ".cache" / "benchmarks" / listing_name
        listing.parent.mkdir(parents=True, exist_ok=True)
        listing.write_text("\n".join(refs) + "\n", encoding="utf-8")
        cmd += ["--exclude-references", str(listing)]
    out = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True)
    folder = Path(out.stdout.strip().splitlines()[-1])
    return folder if folder.is_absolute() else ROOT / folder


def vectors(service: Any, lines: list[dict[str, Any]]) -> dict[str, tuple[Any, list[Any]]]:
    from raregraph.retrieval.case import LENIENT

    from raregraph.errors import InvalidCaseError
    from raregraph.models import CaseRequest

    out = {}
    for line in lines:
        try:
            case = service.resolve(CaseRequest.model_validate(line), LENIENT)
        except InvalidCaseError:  # a case with nothing to rank on is left out
            continue
        vector, hits, _ = service.cases.vectors(case)
        out[line["id"]] = (vector, hits)
    return out


def rank_of(total: np.ndarray, gold_rows: list[int]) -> float:
    best = max(total[r] for r in gold_rows)
    first, last = int((total > best).sum()) + 1, int((total >= best).sum())
    return (first + last) / 2


class Protocol:
    """One snapshot's engine and the resolved dev cases (P and PV inputs)."""

    def __init__(self, folder: Path, cases: Path, **settings: Any) -> None:
        from raregraph.api.service import build_service

        from raregraph.settings import Settings

        self.folder = folder
        self.service = build_service(Settings(snapshot=str(folder), **settings))
        self.engine = self.service.engine
        stem = cases.with_suffix("")
        self.p = vectors(self.service, read_jsonl(Path(f"{stem}_p.jsonl")))
        self.pv = vectors(self.service, read_jsonl(Path(f"{stem}_pv.jsonl")))
        position = self.engine.index.disease_position
        self.gold = {g["id"]: [position[d] for d in g["diagnosis_ids"] if d in position]
                     for g in read_jsonl(Path(f"{stem}_gold.jsonl"))}
        self.disease = {g["id"]: g["diagnosis_ids"][0] for g in read_jsonl(Path(f"{stem}_gold.jsonl"))}
        flags = replace(self.engine.params, gene_scale=0.0, gene_bonus=1.0, zygosity_mismatch=0.5)
        from raregraph.retrieval.scoring import GenotypeScorer

        self._flags = GenotypeScorer(self.engine.index, flags)  # 1: fitting hit, 0.5: zygosity mismatch

    def features(self, case_id: str) -> np.ndarray:
        """(n_diseases, 4): phenotype term at fixed weights (twin included), hit, mismatch, hit x log(n_genes / n_case_genes)."""
        engine, (vector, hits) = self.engine, self.pv[case_id]
        scored = engine.score(vector, hits)
        flags = self._flags.scores(hits)
        n_genes = len({h.gene_row for h in hits})
        log_ratio = np.log(max(len(engine.index.gene_ids), 2) / max(n_genes, 1))
        pheno = (scored.total - scored.genotype).astype(np.float64)  # own description mixed with its gene twin's
        hit = (flags > 0).astype(np.float64)
        return np.stack([pheno, hit, (flags == 0.5).astype(np.float64), hit * log_ratio], axis=1)


def conditional_logit(items: list[tuple[np.ndarray, np.ndarray]], l2: float = 1e-3) -> np.ndarray:
    """Weights of columns 1.. (column 0 is a fixed offset) maximising the softmax likelihood of the gold rows."""

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = 0.0, np.zeros_like(w)
        for x, gold in items:
            s = x[:, 0] + x[:, 1:] @ w
            lz, lg = logsumexp(s), logsumexp(s[gold])
            total += lz - lg
            grad += np.exp(s - lz) @ x[:, 1:] - np.exp(s[gold] - lg) @ x[gold, 1:]
        return total / len(items) + l2 * w @ w, grad / len(items) + 2 * l2 * w

    return minimize(loss, np.zeros(items[0][0].shape[1] - 1), jac=True, method="L-BFGS-B").x


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, default=EVAL / "dev_cases.jsonl")
    parser.add_argument("--sample", type=Path, default=EVAL / "dev_sample.jsonl")
    parser.add_argument("--per-disease", type=int, default=12)
    parser.add_argument("--background-variants", type=float, default=1.0)
    parser.add_argument("--temperature-only", action="store_true", help="only step 3 (standard snapshot)")
    parser.add_argument("--twins-only", action="store_true", help="only step 4 (both protocols)")
    parser.add_argument("--priors-only", action="store_true", help="only step 5 (both protocols; needs --mondo-sssom)")
    parser.add_argument("--disease-prior-only", action="store_true", help="only step 6 (both protocols and RareBench)")
    parser.add_argument("--twin-links", action="store_true",
                        help="only step 8: twin_fanout / twin_resemblance grid (both protocols and RareBench)")
    parser.add_argument("--orphanet-only", action="store_true",
                        help="only step 7: the log-prior of Orphanet-only candidates (both protocols and RareBench)")
    parser.add_argument("--rarebench", type=Path, default=EVAL / "rarebench_dev_p.jsonl")
    parser.add_argument("--mondo-sssom", type=Path, help="MONDO SSSOM TSV for step 5's exact twins (skipped without it)")
    args = parser.parse_args()
    from ranking import references_of
    from raregraph.retrieval.engine import RankingEngine

    cases = read_jsonl(args.cases)
    sample_ids = {c["id"] for c in read_jsonl(args.sample)}
    if args.orphanet_only:
        fit_orphanet_only_prior({"standard": Protocol(snapshot_folder(None), args.cases, rank_orphanet_only=True),
                                 "deleaked": Protocol(snapshot_folder(references_of(cases)), args.cases,
                                                      rank_orphanet_only=True)}, sample_ids, args.rarebench)
        return
    if args.temperature_only:
        fit_temperatures(Protocol(snapshot_folder(None), args.cases), sample_ids)
        return
    protocols = {"standard": Protocol(snapshot_folder(None), args.cases),
                 "deleaked": Protocol(snapshot_folder(references_of(cases)), args.cases)}
    if args.twins_only:
        compare_twin_weights(protocols, sample_ids)
        return
    if args.twin_links:
        compare_twin_links(protocols, sample_ids, args.rarebench)
        return
    if args.priors_only:
        compare_priors(protocols, sample_ids, args.mondo_sssom)
        return
    if args.disease_prior_only:
        compare_disease_priors(protocols, sample_ids, args.rarebench)
        return

    print("1. background_weight, track P, dev cases outside the sample (MRR):")
    for name, proto in protocols.items():
        ids = [i for i in proto.p if i not in sample_ids and proto.gold.get(i)]
        row = []
        for weight in (0.0, 0.25, 0.5, 0.75, 1.0, 1.25):
            engine = RankingEngine(proto.engine.index, replace(proto.engine.params, background_weight=weight),
                                   proto.engine.groups, proto.engine.twins)
            rr = [1 / rank_of(engine.score(proto.p[i][0]).total, proto.gold[i]) for i in ids]
            row.append(f"{weight}: {np.mean(rr):.3f}")
        print(f"  {name} ({len(ids)} cases)  " + "  ".join(row))

    print("2. genotype weights, track PV (conditional logit)")
    rng = random.Random(0)
    items: list[tuple[str, np.ndarray, np.ndarray]] = []
    for name, proto in protocols.items():
        proto.engine = RankingEngine(proto.engine.index, replace(proto.engine.params, background_weight_variants=args.background_variants),
                                     proto.engine.groups, proto.engine.twins)
        by_disease: dict[str, list[str]] = {}
        for case_id in sorted(proto.pv):
            if proto.gold.get(case_id):
                by_disease.setdefault(proto.disease[case_id], []).append(case_id)
        for disease, ids in sorted(by_disease.items()):
            rng.shuffle(ids)
            for case_id in ids[: args.per_disease]:
                x = proto.features(case_id)
                current = x[:, 0] + x[:, 1:] @ np.array([proto.engine.params.gene_bonus, -proto.engine.params.zygosity_mismatch,
                                                         proto.engine.params.gene_scale])
                gold = proto.gold[case_id]
                keep = set(np.argsort(-current)[:300].tolist()) | set(np.flatnonzero(x[:, 1]).tolist()) | set(gold)
                keep |= set(np.random.default_rng(len(items)).choice(len(x), 200, replace=False).tolist())
                rows = np.array(sorted(keep))
                items.append((disease, x[rows], np.isin(rows, gold)))
    weights = conditional_logit([(x, g) for _, x, g in items])
    print(f"  all folds ({len(items)} case-protocols): gene_bonus={weights[0]:.3f} zygosity_mismatch={-weights[1]:.3f} "
          f"gene_scale={weights[2]:.3f}")
    fold_of = lambda disease: zlib.crc32(disease.encode()) % FOLDS
    held: dict[int, np.ndarray] = {k: conditional_logit([(x, g) for d, x, g in items if fold_of(d) != k]) for k in range(FOLDS)}
    for name, proto in protocols.items():
        ids = [i for i in proto.pv if i in sample_ids and proto.gold.get(i)]
        ranks = np.array([rank_of(proto.features(i) @ np.r_[1.0, held[fold_of(proto.disease[i])]], proto.gold[i]) for i in ids])
        print(f"  held-out diseases, dev_sample PV {name} ({len(ids)} in universe; ties not collapsed): "
              f"top-1 {np.mean(ranks <= 1):.3f} top-10 {np.mean(ranks <= 10):.3f} MRR {np.mean(1 / ranks):.3f}")
    print("  note: 'deleaked' here removes every dev case's references (the benchmark removes dev_sample's only)")
    fit_temperatures(protocols["standard"], sample_ids)
    compare_twin_weights(protocols, sample_ids)
    compare_priors(protocols, sample_ids, args.mondo_sssom)
    compare_disease_priors(protocols, sample_ids, args.rarebench)
    print("7. run with --orphanet-only (it needs engines that rank the Orphanet-only disorders)")


def fit_temperatures(proto: Protocol, sample_ids: set[str]) -> None:
    """Step 3: the softmax temperature per track, T0 x (n_present / TERMS_REFERENCE) ** c, by the gold group's
    likelihood outside dev_sample; the fixed temperature (c = 0) beside it."""
    from raregraph.retrieval.scoring import TERMS_REFERENCE

    print("3. probability temperature (standard snapshot; fitted outside dev_sample, checked on it)")
    engine, groups = proto.engine, proto.engine.groups.group_of
    n_groups = int(groups.max()) + 1
    for track, cases in (("P", proto.p), ("PV", proto.pv)):
        fit, check = [], []
        for case_id, (vector, hits) in sorted(cases.items()):
            if not proto.gold.get(case_id):
                continue
            best = np.full(n_groups, -np.inf)
            np.maximum.at(best, groups, engine.score(vector, hits).total.astype(np.float64))
            item = (best, sorted({int(groups[r]) for r in proto.gold[case_id]}),
                    np.log(max(len(vector.present), 1) / TERMS_REFERENCE))
            (check if case_id in sample_ids else fit).append(item)

        def nll(w: np.ndarray, items: list[tuple[np.ndarray, list[int], float]]) -> float:
            t = [np.exp(w[0] + w[1] * x) for _, _, x in items]
            return float(np.mean([logsumexp(b / ti) - logsumexp(b[g] / ti) for (b, g, _), ti in zip(items, t)]))

        fixed = minimize_scalar(lambda x: nll(np.array([np.log(x), 0.0]), fit), bounds=(0.05, 5.0), method="bounded").x
        w = minimize(lambda w: nll(w, fit), np.array([np.log(fixed), 0.0]), method="Nelder-Mead",
                     options={"xatol": 1e-4, "fatol": 1e-6}).x
        print(f"  {track}: temperature {np.exp(w[0]):.3f} x (n_present / {TERMS_REFERENCE}) ** {w[1]:.3f} ({len(fit)} cases; "
              f"fixed: {fixed:.3f}); dev_sample mean -log p(gold) {nll(np.zeros(2), check):.3f} at 1.0, "
              f"{nll(np.array([np.log(fixed), 0.0]), check):.3f} fixed, {nll(w, check):.3f} with the term count")


def compare_twin_weights(protocols: dict[str, Protocol], sample_ids: set[str]) -> None:
    """Step 4: the gene-twin prior per track, compared outside dev_sample on both protocols."""
    from raregraph.retrieval.engine import RankingEngine

    print("4. twin weight (gene twins), dev cases outside dev_sample: top-1 / top-10 / MRR")
    grids = {"P": ("twin_weight", (0.0, 0.5, 1.0, 1.5, 2.0)), "PV": ("twin_weight_variants", (0.0, 0.25, 0.5, 1.0))}
    for name, proto in protocols.items():
        base = proto.engine
        for track, (field, grid) in grids.items():
            cases = proto.p if track == "P" else proto.pv
            ids = [i for i in sorted(cases) if i not in sample_ids and proto.gold.get(i)]
            row = []
            for weight in grid:
                engine = RankingEngine(base.index, replace(base.params, **{field: weight}), base.groups, base.twins)
                ranks = np.array([rank_of(engine.score(*cases[i]).total, proto.gold[i]) for i in ids])
                row.append(f"{weight}: {np.mean(ranks <= 1):.3f}/{np.mean(ranks <= 10):.3f}/{np.mean(1 / ranks):.3f}")
            print(f"  {name} {track} ({len(ids)} cases)  " + "  ".join(row))


TWIN_LINK_GRID = ((0.0, 0.0), (0.0, 0.25), (0.0, 0.5), (0.0, 1.0), (0.5, 0.0), (0.5, 0.5), (1.0, 0.0))


def compare_twin_links(protocols: dict[str, Protocol], sample_ids: set[str], rarebench: Path) -> None:
    """Step 8: the twin link's prior (twin_resemblance, twin_fanout; retrieval/twins.py), track P and PV: MRR
    outside dev_sample on both protocols and on RareBench dev, top-1 / top-10 on dev_sample."""
    from raregraph.etl.snapshot import Snapshot
    from raregraph.retrieval.engine import RankingEngine
    from raregraph.retrieval.twins import GeneTwins

    print("8. twin links (resemblance, fanout): P outside MRR std / de-leaked | RareBench MRR | dev_sample P top-1/top-10 "
          "std / de-leaked | PV dev_sample top-1 std / de-leaked")
    for resemblance, fanout in TWIN_LINK_GRID:
        cells: dict[str, str] = {}
        for name, proto in protocols.items():
            base = proto.engine
            params = replace(base.params, twin_resemblance=resemblance, twin_fanout=fanout)
            twins = GeneTwins.load(Snapshot.open(proto.folder), base.index, params, databases=("ORPHA",),
                                   same_disease=base.groups.members)
            engine = RankingEngine(base.index, params, base.groups, twins, base.prior)
            for track, cases in (("P", proto.p), ("PV", proto.pv)):
                for inside in (False, True):
                    if track == "PV" and not inside:
                        continue
                    ids = [i for i in sorted(cases) if proto.gold.get(i) and (i in sample_ids) == inside]
                    ranks = np.array([rank_of(engine.score(*cases[i]).total, proto.gold[i]) for i in ids])
                    key = f"{name} {track} {'sample' if inside else 'outside'}"
                    cells[key] = (f"{np.mean(1 / ranks):.3f}" if not inside else
                                  f"{np.mean(ranks <= 1):.3f}/{np.mean(ranks <= 10):.3f}" if track == "P" else f"{np.mean(ranks <= 1):.3f}")
            if name == "standard":
                ranks = np.array([rank_of(total, gold) for total, gold in rarebench_items(proto, engine, rarebench)])
                cells["rarebench"] = f"{np.mean(1 / ranks):.3f}"
        print(f"  {resemblance:.2f} {fanout:.2f}: {cells['standard P outside']} / {cells['deleaked P outside']} | "
              f"{cells['rarebench']} | {cells['standard P sample']} / {cells['deleaked P sample']} | "
              f"{cells['standard PV sample']} / {cells['deleaked PV sample']}")


def compare_priors(protocols: dict[str, Protocol], sample_ids: set[str], mondo_sssom: Path | None) -> None:
    """Step 5: exact (MONDO) twins as a prior, top-1 / top-10 / MRR outside dev_sample and on it."""
    from raregraph.retrieval.engine import RankingEngine
    from raregraph.retrieval.twins import GeneTwins

    if not mondo_sssom:
        print("5. exact MONDO twins: skipped (no --mondo-sssom)")
        return
    print("5. exact MONDO twins as gene twins at log-prior 0 / 1; outside dev_sample | on it")
    pairs = exact_pairs_via_mondo(mondo_sssom)
    for name, proto in protocols.items():
        base = proto.engine
        if base.twins is None:
            continue
        for log_prior in (0.0, 1.0):
            twins = GeneTwins(base.twins.universe, base.twins.index, with_exact_links(base.twins, pairs, log_prior), base.params)
            engine = RankingEngine(base.index, base.params, base.groups, twins, base.prior)
            for track, cases in (("P", proto.p), ("PV", proto.pv)):
                cells = []
                for inside in (False, True):
                    ids = [i for i in sorted(cases) if proto.gold.get(i) and (i in sample_ids) == inside]
                    ranks = np.array([rank_of(engine.score(*cases[i]).total, proto.gold[i]) for i in ids])
                    cells.append(f"{np.mean(ranks <= 1):.3f}/{np.mean(ranks <= 10):.3f}/{np.mean(1 / ranks):.3f}")
                print(f"  {name} {track} exact twins {log_prior}: " + " | ".join(cells))


# dev_sample may lose at most this much top-1 (the issue allows a point; half keeps a margin for held-out cases)
SAMPLE_LOSS = 0.005
PRIOR_GRID = {"literature_prior": (0.0, 0.1, 0.25, 0.4), "coded_prior": (0.0, 0.25, 0.4, 0.5, 0.6)}


def compare_disease_priors(protocols: dict[str, Protocol], sample_ids: set[str], rarebench: Path) -> None:
    """Step 6: the disease prior's two weights, chosen on both populations at once (track P).

    For each pair of weights: dev_sample top-1 on both protocols (the check set, which may lose at most
    SAMPLE_LOSS), MRR outside dev_sample on both protocols and MRR on the RareBench dev cases (standard only:
    they cite no papers); the allowed pair with the best mean of those three MRRs wins.
    """
    from raregraph.etl.snapshot import Snapshot
    from raregraph.retrieval.engine import RankingEngine
    from raregraph.retrieval.prior import DiseasePrior

    print("6. disease prior (retrieval/prior.py), track P: literature x log(1 + PMIDs) + coded x [MedDRA term]")
    totals: dict[str, dict[str, list[tuple[np.ndarray, list[int]]]]] = {}
    units: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, proto in protocols.items():
        base = proto.engine
        plain = RankingEngine(base.index, base.params, base.groups, base.twins)  # no prior
        snapshot = Snapshot.open(proto.folder)
        lit_unit, code_unit = (
            DiseasePrior.from_snapshot(snapshot, base.index.disease_ids, base.groups.members,
                                       replace(base.params, literature_prior=lit, coded_prior=code)).log_prior.astype(np.float64)
            for lit, code in ((1.0, 0.0), (0.0, 1.0))
        )
        units[name] = (lit_unit, code_unit)
        sets: dict[str, list[tuple[np.ndarray, list[int]]]] = {"sample": [], "outside": []}
        for case_id, (vector, _) in sorted(proto.p.items()):
            if proto.gold.get(case_id):
                sets["sample" if case_id in sample_ids else "outside"].append(
                    (plain.score(vector).total.astype(np.float64), proto.gold[case_id]))
        if name == "standard":
            sets["rarebench"] = rarebench_items(proto, plain, rarebench)
        totals[name] = sets
    rows = []
    for lit in PRIOR_GRID["literature_prior"]:
        for code in PRIOR_GRID["coded_prior"]:
            cell: dict[str, float] = {}
            for name, sets in totals.items():
                prior = lit * units[name][0] + code * units[name][1]
                for part, items in sets.items():
                    ranks = np.array([rank_of(total + prior, gold) for total, gold in items])
                    cell[f"{name} {part} top-1"], cell[f"{name} {part} MRR"] = np.mean(ranks <= 1), np.mean(1 / ranks)
            rows.append(((lit, code), cell))
    base_cell = rows[0][1]
    print(f"  {'lit':>5} {'coded':>5} | sample top-1 std / de-leaked | outside MRR std / de-leaked | RareBench top-1 / MRR | mean MRR")
    allowed = []
    for (lit, code), cell in rows:
        score = float(np.mean([cell["standard outside MRR"], cell["deleaked outside MRR"], cell["standard rarebench MRR"]]))
        ok = all(base_cell[f"{n} sample top-1"] - cell[f"{n} sample top-1"] <= SAMPLE_LOSS + 1e-9 for n in totals)
        if ok:
            allowed.append((score, lit, code))
        print(f"  {lit:5.2f} {code:5.2f} | {cell['standard sample top-1']:.3f} / {cell['deleaked sample top-1']:.3f} | "
              f"{cell['standard outside MRR']:.3f} / {cell['deleaked outside MRR']:.3f} | "
              f"{cell['standard rarebench top-1']:.3f} / {cell['standard rarebench MRR']:.3f} | {score:.4f}"
              f"{'' if ok else '  (costs dev_sample over half a point)'}")
    best = max(allowed)
    print(f"  chosen: literature_prior={best[1]} coded_prior={best[2]} (mean MRR {best[0]:.4f})")


def rarebench_items(proto: Protocol, engine: Any, path: Path, with_ids: bool = False) -> list[Any]:
    """(total score, gold rows) of the RareBench dev cases ((case id, total, gold rows, temperature) `with_ids`): a
    gold id may be any id of a candidate's group."""
    gold = {g["id"]: g["diagnosis_ids"] for g in read_jsonl(path.with_name(path.name.replace("_p.jsonl", "_gold.jsonl")))}
    rows_of: dict[str, list[int]] = {}
    for row, ids in enumerate(engine.groups.members):
        for disease in ids:
            rows_of.setdefault(disease, []).append(row)
    lines = [{k: v for k, v in line.items() if k != "subset"} for line in read_jsonl(path)]
    items = []
    for case_id, (vector, _) in vectors(proto.service, lines).items():
        rows = sorted({r for d in gold[case_id] for r in rows_of.get(d, [])})
        if rows:
            scored = engine.score(vector)
            total = scored.total.astype(np.float64)
            items.append((case_id, total, rows, scored.temperature) if with_ids else (total, rows))
    return items


def exact_pairs_via_mondo(path: Path) -> list[tuple[str, str]]:
    """(OMIM id, ORPHA id) pairs that are both exact matches of one MONDO class (the ETL's SSSOM loader)."""
    import polars as pl

    from raregraph.etl.sources.mondo import load_mondo_sssom

    exact = load_mondo_sssom(path).tables["disease_xrefs"].filter(pl.col("mapping_exact"))
    members: dict[str, list[str]] = {}
    for mondo, xref in exact.select("disease_id", "xref_id").iter_rows():
        members.setdefault(mondo, []).append(xref)
    return [(a, b) for ids in members.values() for a in ids if a.startswith("OMIM:") for b in ids if b.startswith("ORPHA:")]


def with_exact_links(twins: Any, pairs: list[tuple[str, str]], log_prior: float) -> Any:
    """The gene-twin links plus exact pairs at `log_prior` (the larger prior where both link a pair)."""
    from raregraph.retrieval.twins import link_matrix

    links = twins.links.tocoo()
    value = dict(zip(zip(links.row.tolist(), links.col.tolist()), links.data.tolist()))
    universe, twin = twins.universe.disease_position, {d: i for i, d in enumerate(twins.index.disease_ids)}
    for a, b in pairs:
        if a in universe and b in twin:
            key = (universe[a], twin[b])
            value[key] = max(value.get(key, -np.inf), log_prior)
    keys = list(value)
    return link_matrix(np.array([k[0] for k in keys]), np.array([k[1] for k in keys]), np.array([value[k] for k in keys]),
                       links.shape)



# --- step 7: Orphanet-only candidates -------------------------------------------------------------------------
OFFSET_GRID = (0.0, -0.5, -1.0, -1.5, -2.0, -2.5, -3.0, -3.5, -4.0, -5.0)
_KEPT = 300  # best scores kept per case and kind of candidate; a gold below them counts as rank > _KEPT


class SourceItem:
    """One case's scores split into the candidates from the ranked databases and the Orphanet-only ones."""

    def __init__(self, total: np.ndarray, added: np.ndarray, gold: list[int], temperature: float) -> None:
        self.gold_added = bool(added[gold].any()) and not (~added[gold]).any()
        self.gold = float(total[gold].max())
        core, extra = total[~added], total[added]
        self.core = -np.sort(-core)[:_KEPT]
        self.extra = -np.sort(-extra)[:_KEPT]
        self.lse_core, self.lse_extra = logsumexp(core / temperature), logsumexp(extra / temperature)
        self.temperature = temperature

    def rank(self, offset: float) -> float:
        gold = self.gold + (offset if self.gold_added else 0.0)
        extra = self.extra + offset
        first = int((self.core > gold).sum() + (extra > gold).sum()) + 1
        last = int((self.core >= gold).sum() + (extra >= gold).sum())
        return (first + max(last, first)) / 2

    def nll(self, offset: float) -> float:
        t = self.temperature
        log_gold = self.gold / t + (offset / t if self.gold_added else 0.0)
        return float(np.logaddexp(self.lse_core, self.lse_extra + offset / t) - log_gold)


def fit_orphanet_only_prior(protocols: dict[str, Protocol], sample_ids: set[str], rarebench: Path) -> None:
    """Step 7: one log-prior offset for the Orphanet-only candidates (RAREGRAPH_RANK_ORPHANET_ONLY), track P.

    Maximum likelihood of the gold under the probability softmax (each case's temperature), the three sets
    weighted alike: phenopacket-store outside dev_sample, standard and de-leaked, and RareBench dev (the only
    development population whose diagnoses can be Orphanet-only). Held out: RareBench in 5 folds by case id,
    each fold's offset fitted without it. dev_sample and the grid are printed as the check.
    """
    print("7. Orphanet-only candidates: log-prior offset, track P (top-1 / top-10 / MRR; mean -log p(gold))")
    sets: dict[str, list[tuple[str, SourceItem]]] = {}
    for name, proto in protocols.items():
        engine = proto.engine
        added = np.isin(np.array(engine.index.disease_ids), np.array(engine.index.also, dtype=object))
        source = engine.prior.source if engine.prior.source is not None else np.zeros(len(added))  # fitted from 0
        for case_id, (vector, _) in sorted(proto.p.items()):
            if proto.gold.get(case_id):
                part = f"{name} {'sample' if case_id in sample_ids else 'outside'}"
                scored = engine.score(vector)
                sets.setdefault(part, []).append((case_id, SourceItem(scored.total - source, added, proto.gold[case_id],
                                                                       scored.temperature)))
        if name == "standard":
            rows = rarebench_items(proto, engine, rarebench, with_ids=True)
            sets["rarebench"] = [(case_id, SourceItem(total - source, added, gold, temperature))
                                 for case_id, total, gold, temperature in rows]
            print(f"  {int(added.sum())} Orphanet-only candidates; RareBench dev cases whose diagnosis is one: "
                  f"{sum(item.gold_added for _, item in sets['rarebench'])} of {len(sets['rarebench'])}")
    fitted_on = ("standard outside", "deleaked outside", "rarebench")

    def objective(offset: float, skip_fold: int | None = None) -> float:
        parts = []
        for part in fitted_on:
            items = [item for case_id, item in sets[part]
                     if skip_fold is None or part != "rarebench" or _fold(case_id) != skip_fold]
            parts.append(np.mean([item.nll(offset) for item in items]))
        return float(np.mean(parts))

    best = minimize_scalar(objective, bounds=(-10.0, 3.0), method="bounded").x
    print(f"  fitted offset {best:.2f} (all folds)")
    for offset in (*OFFSET_GRID, round(best, 2)):
        cells = []
        for part, items in sets.items():
            ranks = np.array([item.rank(offset) for _, item in items])
            cells.append(f"{part} {np.mean(ranks <= 1):.3f}/{np.mean(ranks <= 10):.3f}/{np.mean(1 / ranks):.3f}")
        print(f"  {offset:5.2f}: " + " | ".join(cells) + f" | objective {objective(offset):.4f}")
    held = {k: minimize_scalar(lambda x, k=k: objective(x, k), bounds=(-10.0, 3.0), method="bounded").x for k in range(FOLDS)}
    ranks = np.array([item.rank(held[_fold(case_id)]) for case_id, item in sets["rarebench"]])
    print("  held-out RareBench folds: offsets " + " ".join(f"{held[k]:.2f}" for k in range(FOLDS))
          + f"; top-1 {np.mean(ranks <= 1):.3f} top-10 {np.mean(ranks <= 10):.3f} MRR {np.mean(1 / ranks):.3f}")


def _fold(case_id: str) -> int:
    return zlib.crc32(case_id.encode()) % FOLDS


if __name__ == "__main__":
    main()
