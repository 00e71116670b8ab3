"""The snapshot builder: release files in, an immutable `snapshots/<id>/` folder out (or nothing)."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path

import polars as pl

from raregraph import __version__
from raregraph.errors import SnapshotBuildError, SourceMissingError
from raregraph.staging import remove_orphans, staging_path
from raregraph.etl.provenance import UNKNOWN, origins_in
from raregraph.etl.merge import MergeResult, genemap2_symbols, merge_outputs
from raregraph.etl.snapshot import MANIFEST, SCHEMA_VERSION, Snapshot
from raregraph.etl.sources.base import ParseReport, SourceOutput, sha256_of
from raregraph.etl.sources.clinvar import find_clinvar_file, load_clinvar
from raregraph.etl.sources.hpo import HpoPaths, find_hpo_files, load_hpo, read_obo_version
from raregraph.etl.sources.mondo import find_mondo_sssom, load_mondo_sssom
from raregraph.etl.sources.omim import FILE_NAMES as OMIM_FILE_NAMES
from raregraph.etl.sources.omim import OmimPaths, find_omim_files, load_omim
from raregraph.etl.sources.orphadata import PRODUCTS as ORPHADATA_PRODUCTS
from raregraph.etl.sources.orphadata import OrphadataPaths, find_orphadata_files, load_orphadata

__all__ = ["BuildInputs", "BuildOptions", "build_snapshot", "snapshot_id_for", "read_reference_list", "remove_dead_staging"]

log = logging.getLogger(__name__)
Progress = Callable[[str], None]


@dataclass(frozen=True)
class BuildOptions:
    """How to build: bad records, references to leave out, and which ClinVar rows to keep."""

    skip_bad_records: bool = False
    exclude_references: frozenset[str] = frozenset()
    clinvar_assembly: str = "GRCh38"
    clinvar_origin: str | None = "germline"  # None keeps every origin

    def fingerprint(self) -> dict[str, object]:
        refs = hashlib.sha256("\n".join(sorted(self.exclude_references)).encode()).hexdigest()[:16]
        return {
            "skip_bad_records": self.skip_bad_records, "exclude_references": refs if self.exclude_references else None,
            "clinvar_assembly": self.clinvar_assembly, "clinvar_origin": self.clinvar_origin,
        }


_CLINVAR_OPTIONS = ("clinvar_assembly", "clinvar_origin")
SNAPSHOT_ID_PREFIX = "hpo-"  # every snapshot id starts so (the HPO release comes next)
_DATE_IN_NAME = re.compile(r"(\d{4}-\d{2}(?:-\d{2})?)")


@dataclass(frozen=True)
class BuildInputs:
    """The release files a snapshot is built from: HPO always, Orphadata, OMIM, ClinVar and MONDO when given."""

    hpo: HpoPaths
    orphadata: OrphadataPaths | None = None
    omim: OmimPaths | None = None
    clinvar: Path | None = None  # variant_summary.txt(.gz)
    # variant_summary states no release: this one, else a date in its file name, else "sha256:<12 hex>"
    clinvar_release: str | None = None
    mondo: Path | None = None  # MONDO's SSSOM mappings (mondo.sssom.tsv): MONDO ids and exact OMIM/ORPHA equivalences
    extra_loaders: tuple[tuple[str, tuple[Path, ...], Callable[[BuildOptions], SourceOutput]], ...] = field(default=())
    # where each file came from, by sha256 (`data pull`'s release.json); `default_origin` for the others
    origins: dict[str, dict[str, object]] = field(default_factory=dict)
    default_origin: dict[str, object] | None = None

    @classmethod
    def discover(
        cls, source_dir: Path, *, orphadata_dir: Path | None = None, omim_dir: Path | None = None,
        clinvar: Path | None = None, clinvar_release: str | None = None, search_source_dir: bool = True,
        mondo: Path | None = None,
    ) -> "BuildInputs":
        """HPO files of `source_dir`, plus Orphadata/OMIM/ClinVar/MONDO files under their usual names there
        (when `search_source_dir`) or in the folders/file given; a folder given without them raises."""
        orphadata = find_orphadata_files(orphadata_dir or source_dir) if orphadata_dir or search_source_dir else None
        if orphadata_dir is not None and orphadata is None:
            raise SourceMissingError(f"no Orphadata files in {orphadata_dir} or its orphadata/ folder "
                                     f"(looked for {', '.join(ORPHADATA_PRODUCTS.values())})")
        omim = find_omim_files(omim_dir or source_dir) if omim_dir or search_source_dir else None
        if omim_dir is not None and omim is None:
            raise SourceMissingError(f"no OMIM files in {omim_dir} or its omim/ folder (looked for {', '.join(OMIM_FILE_NAMES.values())})")
        if clinvar is not None and not clinvar.is_file():
            raise SourceMissingError(f"ClinVar file not found: {clinvar}")
        clinvar = clinvar or (find_clinvar_file(source_dir) if search_source_dir else None)
        if mondo is not None and not mondo.is_file():
            raise SourceMissingError(f"MONDO SSSOM file not found: {mondo}")
        mondo = mondo or (find_mondo_sssom(source_dir) if search_source_dir else None)
        return cls(find_hpo_files(source_dir), orphadata=orphadata, omim=omim, clinvar=clinvar, clinvar_release=clinvar_release,
                   mondo=mondo, origins=origins_in(source_dir))

    def labelled_files(self) -> Iterator[tuple[str, Path]]:
        """(role, path) of every input file; HPO and extra files have the empty role (as before roles existed)."""
        for path in (self.hpo.obo, self.hpo.hpoa, self.hpo.genes_to_phenotype):
            yield "", path
        for group, paths in (("orphadata", self.orphadata), ("omim", self.omim)):
            for f in fields(paths) if paths is not None else ():
                if (path := getattr(paths, f.name)) is not None:
                    yield f"{group}:{f.name}", Path(path)
        if self.clinvar is not None:
            yield "clinvar", self.clinvar
        if self.mondo is not None:
            yield "mondo", self.mondo
        for _, paths, _ in self.extra_loaders:
            for path in paths:
                yield "", path

    def input_files(self) -> list[Path]:
        return [path for _, path in self.labelled_files()]


def read_reference_list(path: Path) -> frozenset[str]:
    """References (e.g. `PMID:37951597`), one per line; blank lines and `#` comments ignored."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(s for line in lines if (s := line.split("#", 1)[0].strip()))


def snapshot_id_for(inputs: BuildInputs, options: BuildOptions) -> str:
    """A content-derived id: same input bytes and options give the same id (HPO-only ids as before)."""
    digest = hashlib.sha256()
    digest.update(f"schema={SCHEMA_VERSION}\n".encode())
    for role, path in inputs.labelled_files():
        label = f"{role}/{path.name}" if role else path.name
        digest.update(f"{label}={_sha256(path)}\n".encode())
    fingerprint = options.fingerprint()
    if inputs.clinvar is None:  # options of a source not in the build do not change what is built
        fingerprint = {k: v for k, v in fingerprint.items() if k not in _CLINVAR_OPTIONS}
    elif inputs.clinvar_release:
        fingerprint["clinvar_release"] = inputs.clinvar_release
    digest.update(json.dumps(fingerprint, sort_keys=True).encode())
    release = read_obo_version(inputs.hpo.obo) or UNKNOWN
    return f"{SNAPSHOT_ID_PREFIX}{release}-{digest.hexdigest()[:12]}"


def _sha256(path: Path) -> str:
    """sha256 of a file, remembered per (path, size, mtime) so a big ClinVar file is read once per build."""
    stat = path.stat()
    return _sha256_of_version(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _sha256_of_version(path: str, size: int, mtime_ns: int) -> str:
    return sha256_of(Path(path))


def build_snapshot(
    inputs: BuildInputs, out_root: Path, options: BuildOptions = BuildOptions(), progress: Progress | None = None
) -> Snapshot:
    """Build (or find, if already built) the snapshot of `inputs` under `out_root`; a failure leaves nothing."""
    say = progress or (lambda message: log.info(message))
    say("hashing release files")
    snapshot_id = snapshot_id_for(inputs, options)
    target = out_root / snapshot_id
    remove_dead_staging(out_root)  # every killed build's, whatever it was building, even when this one is done
    if (target / MANIFEST).is_file():
        say(f"snapshot {snapshot_id} already built")
        return Snapshot.open(target)

    started = time.perf_counter()
    outputs, gene_symbols = _load_all(inputs, options, say)
    say("merging sources (diseases, equivalences, HGNC gene keys)")
    merged = merge_outputs(outputs, gene_symbols)
    tables = merged.tables
    report = ParseReport()
    for output in outputs:
        report.merge(output.report)
    manifest = _manifest(snapshot_id, inputs, outputs, merged, report, options, time.perf_counter() - started)

    say(f"writing snapshot {snapshot_id}")
    out_root.mkdir(parents=True, exist_ok=True)
    staging = staging_path(out_root, snapshot_id)
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


def _load_all(inputs: BuildInputs, options: BuildOptions, say: Progress) -> tuple[list[SourceOutput], pl.DataFrame | None]:
    """Every loader's output (HPO first), and OMIM's other gene symbols; loaders skip bad records if asked."""
    skip = options.skip_bad_records
    say("parsing HPO (hp.obo, phenotype.hpoa, genes_to_phenotype.txt)")
    outputs = [load_hpo(inputs.hpo, skip_bad_records=skip, exclude_references=options.exclude_references)]
    gene_symbols = None
    if inputs.orphadata is not None:
        say(f"parsing Orphadata ({_names(inputs.orphadata)})")
        outputs.append(load_orphadata(inputs.orphadata, skip_bad_records=skip))
    if inputs.omim is not None:
        say(f"parsing OMIM ({_names(inputs.omim)})")
        outputs.append(load_omim(inputs.omim, skip_bad_records=skip))
        if inputs.omim.genemap2 is not None:
            gene_symbols = genemap2_symbols(inputs.omim.genemap2, skip_bad_records=skip)
    if inputs.clinvar is not None:
        say(f"parsing ClinVar ({inputs.clinvar.name}, {options.clinvar_assembly}, {options.clinvar_origin or 'all origins'})")
        outputs.append(load_clinvar(inputs.clinvar, assembly=options.clinvar_assembly, origin=options.clinvar_origin,
                                    skip_bad_records=skip, release=_clinvar_release(inputs)))
    if inputs.mondo is not None:
        say(f"parsing MONDO mappings ({inputs.mondo.name})")
        outputs.append(load_mondo_sssom(inputs.mondo, skip_bad_records=skip))
    for name, _, loader in inputs.extra_loaders:
        say(f"parsing {name}")
        outputs.append(loader(options))
    return outputs, gene_symbols


def _names(paths: OrphadataPaths | OmimPaths) -> str:
    return ", ".join(Path(p).name for f in fields(paths) if (p := getattr(paths, f.name)) is not None)


def _clinvar_release(inputs: BuildInputs) -> str:
    assert inputs.clinvar is not None
    if inputs.clinvar_release:
        return inputs.clinvar_release
    match = _DATE_IN_NAME.search(inputs.clinvar.name)
    return match.group(1) if match else f"sha256:{_sha256(inputs.clinvar)[:12]}"


def _manifest(
    snapshot_id: str,
    inputs: BuildInputs,
    outputs: list[SourceOutput],
    merged: MergeResult,
    report: ParseReport,
    options: BuildOptions,
    seconds: float,
) -> dict[str, object]:
    notes: dict[str, object] = {}
    for out in outputs:
        notes.update(out.extra)
    chosen: dict[str, object] = {"skip_bad_records": options.skip_bad_records,
                                 "exclude_references": sorted(options.exclude_references)}
    if inputs.clinvar is not None:
        chosen.update(clinvar_assembly=options.clinvar_assembly, clinvar_origin=options.clinvar_origin)
    return {
        "snapshot_id": snapshot_id,
        "schema_version": SCHEMA_VERSION,
        "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "build_seconds": round(seconds, 3),
        "code_version": _code_version(),
        "options": chosen,
        "sources": [_provenance(f.to_json(), inputs) for f in merged.files],
        "tables": {name: frame.height for name, frame in merged.tables.items()},
        "parse_report": report.to_json(),
        "merge": merged.notes,
        "notes": notes,
    }


def _provenance(entry: dict[str, object], inputs: BuildInputs) -> dict[str, object]:
    """A manifest source entry with its own release (`unknown` where the file states none) and origin."""
    origin = inputs.origins.get(str(entry["sha256"])) or inputs.default_origin or {"path": entry["path"]}
    return {**entry, "release": entry["release"] or UNKNOWN, "origin": origin}


def _code_version() -> str:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{__version__}+{commit}" if commit else __version__


def remove_dead_staging(root: Path) -> list[Path]:
    """Remove the staging folders (`.tmp-<snapshot id>-<pid>`) that killed builds left in `root`."""
    return remove_orphans(root, f"{SNAPSHOT_ID_PREFIX}*") if root.is_dir() else []


def _rename_into_place(staging: Path, target: Path) -> None:
    try:
        staging.rename(target)
    except OSError as err:
        if (target / MANIFEST).is_file():  # a concurrent build of the same inputs won the race
            shutil.rmtree(staging, ignore_errors=True)
            return
        raise SnapshotBuildError(f"cannot move the built snapshot into {target}: {err}") from err

