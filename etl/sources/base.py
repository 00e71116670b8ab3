"""What every source loader returns: typed provenance, tables for the snapshot, a parse report."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

__all__ = ["SourceFile", "ParseReport", "SourceOutput", "describe_file", "sha256_of"]

_MAX_LISTED = 200  # skipped records listed one by one in the manifest; the rest are only counted


def sha256_of(path: Path, *, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class SourceFile:
    """One release file that went into a snapshot."""

    name: str  # short source name, e.g. "hpo:hp.obo"
    path: str
    sha256: str
    size: int  # bytes
    release: str | None  # release date or version read from the file itself

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "path": self.path, "sha256": self.sha256, "size": self.size, "release": self.release}


def describe_file(name: str, path: Path, release: str | None) -> SourceFile:
    """Provenance record (hash, size) of a release file."""
    return SourceFile(name=name, path=str(path), sha256=sha256_of(path), size=path.stat().st_size, release=release)


@dataclass
class ParseReport:
    """Records a parser skipped or changed, counted by reason; the first few listed with their place."""

    skipped: Counter[str] = field(default_factory=Counter)
    listed: list[dict[str, object]] = field(default_factory=list)

    def skip(self, reason: str, *, file: str, line: int | str | None = None, detail: str = "") -> None:
        self.skipped[reason] += 1
        if len(self.listed) < _MAX_LISTED:
            self.listed.append({"reason": reason, "file": file, "line": line, "detail": detail})

    def merge(self, other: "ParseReport") -> None:
        self.skipped.update(other.skipped)
        room = _MAX_LISTED - len(self.listed)
        self.listed.extend(other.listed[: max(room, 0)])

    def to_json(self) -> dict[str, object]:
        return {"skipped": dict(sorted(self.skipped.items())), "listed": self.listed}


@dataclass
class SourceOutput:
    """Tables (named as in `etl.tables.TABLES`) and provenance produced by one source loader."""

    files: list[SourceFile]
    tables: dict[str, pl.DataFrame]
    report: ParseReport = field(default_factory=ParseReport)
    extra: dict[str, object] = field(default_factory=dict)  # source-specific manifest notes
