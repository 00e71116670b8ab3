"""The snapshot builder: release files in, an immutable `snapshots/<id>/` folder out (or nothing)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import polars as pl

from raregraph import __version__
from raregraph.errors import SnapshotBuildError
from raregraph.etl.snapshot import MANIFEST, SCHEMA_VERSION, Snapshot
from raregraph.etl.sources.base import ParseReport, SourceFile, SourceOutput, sha256_of
from raregraph.etl.sources.hpo import HpoPaths, load_hpo
from raregraph.etl.tables import TABLES

__all__ = ["BuildInputs", "BuildOptions", "build_snapshot", "snapshot_id_for", "read_reference_list"]

log = logging.getLogger(__name__)
Progress = Callable[[str], None]


@dataclass(frozen=True)
class BuildOptions:
    """How to build: what to do with bad records and which references to leave out."""

    skip_bad_records: bool = False
    exclude_references: frozenset[str] = frozenset()

    def fingerprint(self) -> dict[str, object]:
        refs = hashlib.sha256("\n".join(sorted(self.exclude_references)).encode()).hexdigest()[:16]
        return {"skip_bad_records": self.skip_bad_records, "exclude_references": refs if self.exclude_references else None}


@dataclass(frozen=True)
class BuildInputs:
    """The release files a snapshot is built from."""

    hpo: HpoPaths
    extra_loaders: tuple[tuple[str, tuple[Path, ...], Callable[[BuildOptions], SourceOutput]], ...] = field(default=())

    def input_files(self) -> list[Path]:
        files = [self.hpo.obo, self.hpo.hpoa, self.hpo.genes_to_phenotype]
        for _, paths, _ in self.extra_loaders:
            files.extend(paths)
        return files


def read_reference_list(path: Path) -> frozenset[str]:
    """References (e.g. `PMID:37951597`), one per line; blank lines and `#` comments ignored."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(s for line in lines if (s := line.split("#", 1)[0].strip()))


def snapshot_id_for(inputs: BuildInputs, options: BuildOptions) -> str:
    """A content-derived id: same input bytes and options give the same id."""
    digest = hashlib.sha256()
    digest.update(f"schema={SCHEMA_VERSION}\n".encode())
    for path in inputs.input_files():
        digest.update(f"{path.name}={sha256_of(path)}\n".encode())
    digest.update(json.dumps(options.fingerprint(), sort_keys=True).encode())
    release = _obo_release(inputs.hpo.obo) or "unknown"
    return f"hpo-{release}-{digest.hexdigest()[:12]}"


def _obo_release(path: Path) -> str | None:
    with path.open(encoding="utf-8", errors="replace") as handle:
        for _, line in zip(range(50), handle):
            if line.startswith("data-version:"):
                return line.split("/")[-1].strip() or None
    return None


def build_snapshot(
    inputs: BuildInputs, out_root: Path, options: BuildOptions = BuildOptions(), progress: Progress | None = None
) -> Snapshot:
    """Build (or find, if already built) the snapshot of `inputs` under `out_root`; a failure leaves nothing."""
    say = progress or (lambda message: log.info(message))
    say("hashing release files")
    snapshot_id = snapshot_id_for(inputs, options)
    target = out_root / snapshot_id
    if (target / MANIFEST).is_file():
        say(f"snapshot {snapshot_id} already built")
        return Snapshot.open(target)

    started = time.perf_counter()
    outputs = _load_all(inputs, options, say)
    tables = _merge_tables(outputs)
    report = ParseReport()
    for output in outputs:
        report.merge(output.report)
    manifest = _manifest(snapshot_id, outputs, tables, report, options, time.perf_counter() - started)

    say(f"writing snapshot {snapshot_id}")
    out_root.mkdir(parents=True, exist_ok=True)
    staging = out_root / f".tmp-{snapshot_id}-{os.getpid()}"
    try:
        staging.mkdir()
        for name, frame in tables.items():
            frame.write_parquet(staging / f"{name}.parquet", compression="zstd", statistics=True)
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=False), encoding="utf-8")
        _rename_into_place(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    say(f"built {snapshot_id} in {time.perf_counter() - started:.1f} s")
    return Snapshot.open(target)


def _load_all(inputs: BuildInputs, options: BuildOptions, say: Progress) -> list[SourceOutput]:
    say("parsing HPO (hp.obo, phenotype.hpoa, genes_to_phenotype.txt)")
    outputs = [
        load_hpo(inputs.hpo, skip_bad_records=options.skip_bad_records, exclude_references=options.exclude_references)
    ]
    for name, _, loader in inputs.extra_loaders:
        say(f"parsing {name}")
        outputs.append(loader(options))
    return outputs


def _merge_tables(outputs: list[SourceOutput]) -> dict[str, pl.DataFrame]:
    merged: dict[str, pl.DataFrame] = {}
    for name in TABLES:
        parts = [out.tables[name] for out in outputs if name in out.tables and out.tables[name].height]
        if not parts:
            continue
        frame = pl.concat(parts, how="vertical_relaxed") if len(parts) > 1 else parts[0]
        if "id" in frame.columns:  # a node named by two sources keeps the first source's record
            frame = frame.unique(subset="id", keep="first", maintain_order=True)
        merged[name] = frame
    return merged


def _manifest(
    snapshot_id: str,
    outputs: list[SourceOutput],
    tables: dict[str, pl.DataFrame],
    report: ParseReport,
    options: BuildOptions,
    seconds: float,
) -> dict[str, object]:
    files: list[SourceFile] = [f for out in outputs for f in out.files]
    notes: dict[str, object] = {}
    for out in outputs:
        notes.update(out.extra)
    return {
        "snapshot_id": snapshot_id,
        "schema_version": SCHEMA_VERSION,
        "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "build_seconds": round(seconds, 3),
        "code_version": _code_version(),
        "options": {
            "skip_bad_records": options.skip_bad_records,
            "exclude_references": sorted(options.exclude_references),
        },
        "sources": [f.to_json() for f in files],
        "tables": {name: frame.height for name, frame in tables.items()},
        "parse_report": report.to_json(),
        "notes": notes,
    }


def _code_version() -> str:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{__version__}+{commit}" if commit else __version__


def _rename_into_place(staging: Path, target: Path) -> None:
    try:
        staging.rename(target)
    except OSError as err:
        if (target / MANIFEST).is_file():  # a concurrent build of the same inputs won the race
            shutil.rmtree(staging, ignore_errors=True)
            return
        raise SnapshotBuildError(f"cannot move the built snapshot into {target}: {err}") from err

