"""Is a disease id in a given snapshot? Answered by the serving graph, or by that snapshot's disease table."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from raregraph.errors import SnapshotNotFoundError

__all__ = ["SnapshotDiseases"]

_KEPT_TABLES = 4  # disease tables of other snapshots held in memory (about 1 MB each)


class SnapshotDiseases:
    """A `Grounder`: names of the ids that exist in a snapshot (obsolete entries count as absent).

    The active snapshot is asked through `active()` (its graph), any other one is read from
    `<snapshot_dir>/<id>/diseases.parquet` once and kept (a few at most).
    """

    def __init__(self, snapshot_dir: Path, active: Callable[[], Any | None] = lambda: None) -> None:
        self.snapshot_dir = snapshot_dir
        self._active = active
        self._tables: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()

    def __call__(self, snapshot_id: str, ids: Sequence[str]) -> Mapping[str, str]:
        graph = self._active()
        if graph is not None and getattr(graph, "snapshot_id", None) == snapshot_id:
            return {i: d.name for i, d in graph.diseases(list(ids)).items()}
        table = self._table(snapshot_id)
        return {i: table[i] for i in ids if i in table}

    def _table(self, snapshot_id: str) -> dict[str, str]:
        with self._lock:
            if snapshot_id not in self._tables:
                from raregraph.etl.snapshot import Snapshot

                path = self.snapshot_dir / snapshot_id
                if not path.is_dir():
                    raise SnapshotNotFoundError(
                        f"snapshot {snapshot_id} (of the cited response) is not under {self.snapshot_dir}: "
                        "the confirmed disease cannot be checked against it")
                frame = Snapshot.open(path).table("diseases")
                if "obsolete" in frame.columns:
                    frame = frame.filter(~frame["obsolete"].fill_null(False))
                while len(self._tables) >= _KEPT_TABLES:
                    self._tables.pop(next(iter(self._tables)))
                self._tables[snapshot_id] = dict(zip(frame["id"].to_list(), frame["name"].to_list(), strict=True))
            return self._tables[snapshot_id]
