"""A throw-away PostgreSQL server from the Debian package: initdb into a temp folder, start on a port, stop.

Used by the test session (`postgres_url` fixture) and `benchmarks/feedback_load.py`. PostgreSQL
refuses to run as root, so under root the server runs as the `postgres` user the package creates.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PgServer", "pg_bindir", "start", "stop"]

START_TIMEOUT_S = 60


@dataclass(frozen=True)
class PgServer:
    base: Path
    port: int
    bindir: Path
    as_user: tuple[str, ...]

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://raregraph@127.0.0.1:{self.port}/postgres"

    @property
    def data(self) -> Path:
        return self.base / "data"


def pg_bindir() -> Path | None:
    """The newest PostgreSQL server binaries installed (Debian: /usr/lib/postgresql/<major>/bin), else PATH's."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def _run(server: PgServer, *args: str) -> None:
    subprocess.run([*server.as_user, *args], check=True, capture_output=True, text=True, timeout=START_TIMEOUT_S + 30)


def start(port: int, bindir: Path | None = None) -> PgServer:
    """initdb (trust auth, user `raregraph`) into a fresh temp folder and start the server on 127.0.0.1:port."""
    bindir = bindir or pg_bindir()
    if bindir is None:
        raise FileNotFoundError("PostgreSQL server binaries not found (apt-get install postgresql)")
    base = Path(tempfile.mkdtemp(prefix="raregraph-pg-"))
    as_user: tuple[str, ...] = ()
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
        as_user = ("runuser", "-u", "postgres", "--")
    server = PgServer(base, port, bindir, as_user)
    try:
        _run(server, str(bindir / "initdb"), "-D", str(server.data), "-U", "raregraph", "--auth=trust",
             "-E", "UTF8", "--no-sync")
        _run(server, str(bindir / "pg_ctl"), "-D", str(server.data), "-l", str(base / "server.log"), "-w",
             "-t", str(START_TIMEOUT_S), "-o", f"-p {port} -k {base} -c listen_addresses=127.0.0.1", "start")
    except subprocess.CalledProcessError as err:
        log = (base / "server.log").read_text() if (base / "server.log").is_file() else ""
        shutil.rmtree(base, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {err.stderr or err.stdout}\n{log}") from err
    return server


def stop(server: PgServer) -> None:
    """Stop the server (fast shutdown) and remove its folder."""
    try:
        _run(server, str(server.bindir / "pg_ctl"), "-D", str(server.data), "-m", "fast", "-w", "stop")
    finally:
        shutil.rmtree(server.base, ignore_errors=True)
