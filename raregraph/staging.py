"""What a run writes before its result is complete, named after the run's process, and what a dead run left.

A writer stages its result at `.tmp-<name>-<pid>` beside the final path and renames it into
place once complete, so a reader never sees half a file. A `kill -9` leaves the staging path
behind; before writing, a run removes the leftovers of its own kind whose owner is gone
(`remove_orphans`), or takes one over to resume it (`adopt_orphan`). The owner is gone when no
process has that pid, when it is a zombie, or when the process holding the pid now started after
the leftover was last written (the pid was reused, as by the same command in a restarted
container). Owners are processes of this machine: a folder shared between machines needs one
writer at a time.

`claim` makes a final path one run's at a time: a second run writing the same file is refused
with `OutputBusyError` (naming the first run's pid) instead of interleaving with it.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from raregraph.errors import OutputBusyError

__all__ = ["PREFIX", "staging_path", "remove_orphans", "adopt_orphan", "owner_alive", "claim"]

PREFIX = ".tmp-"
# /proc gives a process's start in clock ticks after boot, and the boot time in whole seconds.
_CLOCK_SLACK_S = 2.0


def staging_path(root: Path, name: str) -> Path:
    """Where this process stages `name` in `root`: `root/.tmp-<name>-<pid>`."""
    return root / f"{PREFIX}{name}-{os.getpid()}"


def remove_orphans(root: Path, pattern: str) -> list[Path]:
    """Remove the `root/.tmp-<pattern>-<pid>` files and folders whose owner is gone; the paths removed.

    `pattern` is a glob over the name (`glob.escape` a literal one); paths whose last `-` part
    is not a pid are not staging paths and are left alone.
    """
    removed = []
    for path in _orphans(root, pattern):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def adopt_orphan(root: Path, name: str) -> Path | None:
    """Take over a dead run's staging of `name` (renamed to this process's); None when there is none."""
    mine = staging_path(root, name)
    for path in _orphans(root, glob.escape(name)):
        if path != mine:  # else our pid, left by an earlier process that had it
            try:
                path.rename(mine)
            except FileNotFoundError:  # another run took it first
                continue
        os.utime(mine)  # written now, by us: no other run takes it for a dead one's
        return mine
    return None


def owner_alive(pid: int, path: Path) -> bool:
    """True unless process `pid` is gone, a zombie, or started after `path` was last written (the pid was reused)."""
    stat = Path(f"/proc/{pid}/stat")
    if not Path("/proc/self/stat").is_file():  # no /proc (macOS): ask the kernel about the pid only
        return _pid_exists(pid)
    try:
        fields = stat.read_text(encoding="ascii").rsplit(")", 1)[1].split()
        status = path.lstat()
    except FileNotFoundError:
        return False  # the process, or the leftover, is gone
    except (OSError, IndexError):
        return True  # unreadable: assume it is someone's
    if fields[0] in ("Z", "X"):
        return False
    started = _boot_time() + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    return started <= status.st_mtime + _CLOCK_SLACK_S


@contextlib.contextmanager
def claim(path: Path) -> Iterator[None]:
    """Hold `path` for this run (a lock on `.<name>.lock` beside it, removed after).

    Raises:
        OutputBusyError: another live process holds `path`.
    """
    import fcntl

    lock = path.with_name(f".{path.name}.lock")
    for _ in range(20):  # the holder may remove the lock file between our open and our lock
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            raise OutputBusyError(path, holder) from None
        if _same_file(fd, lock):
            break
        os.close(fd)
    else:
        raise OutputBusyError(path, None)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(lock)  # while still locked: a waiter that opened it sees it is stale and retries
        os.close(fd)


def _orphans(root: Path, pattern: str) -> Iterator[Path]:
    for path in root.glob(f"{glob.escape(PREFIX)}{pattern}-*"):
        pid = path.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not owner_alive(int(pid), path):
            yield path


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _boot_time() -> float:
    """Seconds since the epoch at boot (the `btime` line of /proc/stat)."""
    try:
        for line in Path("/proc/stat").read_text(encoding="ascii").splitlines():
            if line.startswith("btime "):
                return float(line.split()[1])
    except OSError:
        pass
    return time.time() - time.monotonic()  # close enough where /proc/stat is unreadable


def _read_pid(fd: int) -> int | None:
    text = os.pread(fd, 32, 0).decode("ascii", errors="replace").strip()
    return int(text) if text.isdigit() else None


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False
