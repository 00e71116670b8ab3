"""The active snapshot of a snapshot folder: one pointer file, replaced atomically (`data refresh`, `data use`)."""

from __future__ import annotations

import os
from pathlib import Path

from raregraph.errors import SnapshotNotFoundError
from raregraph.etl.snapshot import MANIFEST
from raregraph.staging import remove_orphans, staging_path

__all__ = ["ACTIVE_FILE", "read_active", "write_active"]

ACTIVE_FILE = "ACTIVE"  # in the snapshot folder: the id of the snapshot served when none is named


def read_active(root: Path) -> str | None:
    """The id the pointer names, or None when there is no pointer (or it names no complete snapshot)."""
    pointer = root / ACTIVE_FILE
    if not pointer.is_file():
        return None
    snapshot_id = pointer.read_text(encoding="utf-8").strip()
    return snapshot_id if snapshot_id and (root / snapshot_id / MANIFEST).is_file() else None


def write_active(root: Path, snapshot_id: str) -> None:
    """Point at `snapshot_id`: a new file fsynced, then renamed over the old one (readers see old or new)."""
    if not (root / snapshot_id / MANIFEST).is_file():
        raise SnapshotNotFoundError(f"no complete snapshot {snapshot_id!r} under {root}")
    remove_orphans(root, ACTIVE_FILE)  # pointer files of killed switches
    staging = staging_path(root, ACTIVE_FILE)
    with staging.open("w", encoding="utf-8") as handle:
        handle.write(snapshot_id + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(staging, root / ACTIVE_FILE)
