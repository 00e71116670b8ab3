"""A throw-away PostgreSQL server from the Debian package: initdb into a temp folder, start on a port, stop.

Used by the test session (`postgres_url` fixture) and `benchmarks/feedback_load.py`. PostgreSQL
refuses to run as root, so under root the server runs as the `postgres` user the package creates.
The server is this process's child and dies with it (Linux), so a killed test session leaves no
server running; its folder, `/tmp/.tmp-raregraph-pg-<port>-<pid>`, is removed by the next start.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from raregraph.processes import dies_with_this_process
from raregraph.staging import remove_orphans, staging_path

__all__ = ["PgServer", "pg_bindir", "start", "stop"]

START_TIMEOUT_S = 60


@dataclass(frozen=True)
class PgServer:
    base: Path
    port: int
    bindir: Path
    user: str | None  # the account the server runs as (`postgres` under root), None for ours
    process: subprocess.Popen[bytes]

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


def start(port: int, bindir: Path | None = None) -> PgServer:
    """initdb (trust auth, user `raregraph`) into a fresh temp folder and start the server on 127.0.0.1:port."""
    bindir = bindir or pg_bindir()
    if bindir is None:
        raise FileNotFoundError("PostgreSQL server binaries not found (apt-get install postgresql)")
    tmp = Path(tempfile.gettempdir())
    remove_orphans(tmp, "raregraph-pg-*")  # folders of killed test sessions
    base = staging_path(tmp, f"raregraph-pg-{port}")
    base.mkdir()
    user = None
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
        user = "postgres"
    log = base / "server.log"
    process = None
    try:
        subprocess.run([str(bindir / "initdb"), "-D", str(base / "data"), "-U", "raregraph", "--auth=trust",
                        "-E", "UTF8", "--no-sync"], check=True, capture_output=True, text=True,
                       timeout=START_TIMEOUT_S + 30, user=user, preexec_fn=dies_with_this_process())
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [str(bindir / "postgres"), "-D", str(base / "data"), "-p", str(port), "-k", str(base),
                 "-c", "listen_addresses=127.0.0.1"],
                stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT, cwd=base, user=user,
                preexec_fn=dies_with_this_process(),
            )
        server = PgServer(base, port, bindir, user, process)
        _wait_until_ready(server, log)
    except (subprocess.CalledProcessError, RuntimeError) as err:
        detail = err.stderr or err.stdout if isinstance(err, subprocess.CalledProcessError) else str(err)
        text = log.read_text(errors="replace") if log.is_file() else ""
        if process is not None:
            _end(process)
        shutil.rmtree(base, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {detail}\n{text}") from err
    return server


def stop(server: PgServer) -> None:
    """Stop the server (fast shutdown) and remove its folder."""
    try:
        _end(server.process)
    finally:
        shutil.rmtree(server.base, ignore_errors=True)


def _wait_until_ready(server: PgServer, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    probe = [str(server.bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(server.port), "-t", "2"]
    while subprocess.run(probe, capture_output=True, check=False).returncode != 0:
        if server.process.poll() is not None:
            raise RuntimeError(f"postgres exited with {server.process.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"postgres did not accept connections within {START_TIMEOUT_S} s (log: {log})")
        time.sleep(0.2)


def _end(process: subprocess.Popen[bytes]) -> None:
    """SIGINT is PostgreSQL's fast shutdown; SIGKILL if it does not end in time."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=START_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
