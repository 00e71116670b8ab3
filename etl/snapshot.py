"""Reading a built snapshot: its folder, manifest and tables."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import polars as pl

from raregraph.errors import SnapshotNotFoundError
from raregraph.etl.tables import TABLES, empty_frame

__all__ = ["Snapshot", "MANIFEST", "list_snapshots", "SCHEMA_VERSION"]

MANIFEST = "manifest.json"
# Bumped whenever the table layout changes, so an old snapshot is never read with a new schema.
SCHEMA_VERSION = 2


@dataclass(frozen=True)
class Snapshot:
    """A built, immutable snapshot folder `snapshots/<id>/`."""

    path: Path

    @classmethod
    def open(cls, path: Path) -> "Snapshot":
        """Open a snapshot folder; raise if it is not a complete snapshot."""
        if not (path / MANIFEST).is_file():
            raise SnapshotNotFoundError(f"no snapshot at {path} (no {MANIFEST}); build one with 'raregraph etl build'")
        return cls(path)

    @cached_property
    def manifest(self) -> dict[str, Any]:
        return json.loads((self.path / MANIFEST).read_text(encoding="utf-8"))

    @property
    def id(self) -> str:
        return str(self.manifest["snapshot_id"])

    def table(self, name: str) -> pl.DataFrame:
        """One table; an absent table (a source not in this snapshot) is an empty frame of its schema."""
        if name not in TABLES:
            raise KeyError(f"unknown snapshot table {name!r}")
        file = self.path / f"{name}.parquet"
        return pl.read_parquet(file) if file.is_file() else empty_frame(name)

    def cache_dir(self, kind: str) -> Path:
        """A folder beside the snapshot for derived caches (the snapshot itself stays immutable)."""
        folder = self.path.parent / ".cache" / self.id / kind
        folder.mkdir(parents=True, exist_ok=True)
        return folder


def list_snapshots(root: Path) -> list[Snapshot]:
    """Complete snapshots under `root`, newest build first."""
    if not root.is_dir():
        return []
    found = [Snapshot(p) for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / MANIFEST).is_file()]
    return sorted(found, key=lambda s: str(s.manifest.get("built_at", "")), reverse=True)
