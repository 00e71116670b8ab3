"""Provenance of one release file: the release it states itself, and where it came from.

A file's release is read from the file (hp.obo `data-version`, hpoa `#version`, Orphadata's
`<JDBOR date=…>`, SSSOM `mapping_set_version`), never from a neighbour. Where the file states
none, the release is `unknown` and the origin (package and version, URL or local path) recorded
by `data pull` in the release folder's `release.json` says where it came from.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["UNKNOWN", "RELEASE_FILE", "read_release", "kind_of", "origins_in"]

UNKNOWN = "unknown"
RELEASE_FILE = "release.json"  # written by `data pull` into a release folder


def kind_of(path: Path) -> str:
    """How a file's release is read, from its name: obo | hpoa | orphadata | sssom | none."""
    name = path.name
    if name.endswith(".obo"):
        return "obo"
    if name.endswith(".hpoa"):
        return "hpoa"
    if name.startswith("en_product") and name.endswith(".xml"):
        return "orphadata"
    if name.endswith(".sssom.tsv"):
        return "sssom"
    return "none"


def read_release(path: Path, kind: str | None = None) -> str | None:
    """The release (YYYY-MM-DD or version) the file states in its header; None where it states none."""
    from raregraph.etl.sources.hpo import read_hpoa_version, read_obo_version
    from raregraph.etl.sources.mondo import RELEASE_KEYS, read_metadata
    from raregraph.etl.sources.orphadata import read_header

    kind = kind or kind_of(path)
    if kind == "obo":
        return read_obo_version(path)
    if kind == "hpoa":
        return read_hpoa_version(path)
    if kind == "orphadata":
        return read_header(path).release
    if kind == "sssom":
        meta, _ = read_metadata(path)
        return next((meta[k] for k in RELEASE_KEYS if meta.get(k)), None)
    return None


def origins_in(folder: Path) -> dict[str, dict[str, Any]]:
    """Origin of each file `data pull` put in `folder`, keyed by sha256 (empty without a release.json)."""
    record = folder / RELEASE_FILE
    if not record.is_file():
        return {}
    data = json.loads(record.read_text(encoding="utf-8"))
    return {str(f["sha256"]): dict(f["origin"]) for f in data.get("files", []) if f.get("sha256") and f.get("origin")}
