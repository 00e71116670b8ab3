"""`data refresh` as one operation: pull → build → diff against the active snapshot → switch.

Each step runs only when the previous one succeeded; the active snapshot (the pointer file, and
Neo4j's active marker when a switch for it is given) changes in the last step only, so a failure
or a kill at any step leaves the previous snapshot serving. The error names the step.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from raregraph.errors import RefreshError
from raregraph.etl.active import read_active, write_active
from raregraph.etl.build import BuildInputs, BuildOptions, build_snapshot
from raregraph.etl.catalog import Release
from raregraph.etl.diff import diff_snapshots
from raregraph.etl.pull import PullOptions, pull_release
from raregraph.etl.snapshot import Snapshot
from raregraph.staging import remove_orphans, staging_path

__all__ = ["STEPS", "RefreshResult", "refresh", "switch_to"]

STEPS = ("pull", "build", "diff", "switch")
Say = Callable[[str], None]
# Extra switch for another back-end (Neo4j: `kg load` of the snapshot, which activates it in one transaction).
Switch = Callable[[Snapshot], None]


@dataclass(frozen=True)
class RefreshResult:
    """What a refresh did: the release folder, the snapshots before and after, the diff (None without a previous one)."""

    release_folder: Path
    previous: str | None
    snapshot: Snapshot
    diff: dict[str, Any] | None
    diff_file: Path | None


def refresh(pull: PullOptions, snapshot_root: Path, *, options: BuildOptions = BuildOptions(),
            extra_switch: Switch | None = None, say: Say | None = None, pins: Release | None = None) -> RefreshResult:
    """Pull, build, diff and switch; raise `RefreshError(step)` with the active snapshot unchanged."""
    say = say or (lambda message: None)
    previous = read_active(snapshot_root)
    step = "pull"
    try:
        folder = pull_release(pull, say=say, pins=pins)
        step = "build"
        snapshot = build_snapshot(BuildInputs.discover(folder), snapshot_root, options, say)
        step = "diff"
        diff, diff_file = None, None
        if previous is not None and previous != snapshot.id:
            say(f"comparing {previous} → {snapshot.id}")
            diff = diff_snapshots(Snapshot.open(snapshot_root / previous), snapshot).to_json()
            diff_file = snapshot.cache_dir("diffs") / f"{previous}.json"
            _write_atomic(diff_file, json.dumps(diff, indent=2))
        step = "switch"
        switch_to(snapshot, snapshot_root, extra_switch=extra_switch, say=say)
    except Exception as err:  # noqa: BLE001 - re-raised with the step named
        raise RefreshError(step, err) from err
    return RefreshResult(folder, previous, snapshot, diff, diff_file)


def switch_to(snapshot: Snapshot, snapshot_root: Path, *, extra_switch: Switch | None = None, say: Say | None = None) -> None:
    """Make `snapshot` the active one: the other back-end first (it may fail), the pointer file last."""
    if extra_switch is not None:
        extra_switch(snapshot)
    write_active(snapshot_root, snapshot.id)
    if say:
        say(f"active snapshot: {snapshot.id}")


def _write_atomic(path: Path, text: str) -> None:
    remove_orphans(path.parent, "*")  # what killed refreshes left in the diff cache
    staging = staging_path(path.parent, path.name)
    staging.write_text(text, encoding="utf-8")
    os.replace(staging, path)
