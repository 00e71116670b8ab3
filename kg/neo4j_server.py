"""A real Neo4j 5.26 Community server on 127.0.0.1 for development and integration tests.

The server is the embedded DBMS from Maven Central (``org.neo4j:neo4j``) wrapped by the small
Java launcher in ``tools/neo4j/``, with its Bolt connector on 127.0.0.1 and nothing else
listening. It is not how production runs Neo4j (a real installation or Aura, same driver and
Cypher); it is how a fresh machine with Java 17 and Maven gets a real server without Docker.

One server per data folder, laid out as::

    <data_dir>/home/        Neo4j home: home/data (stores), home/logs/debug.log
    <data_dir>/home.current the name of the home in use when a bulk import switched it
                            (`switch_home`; absent: ``home``)
    <data_dir>/neo4j.pid    pid of the Java process
    <data_dir>/neo4j.log    the launcher's stdout and stderr
    <data_dir>/ready.json   written by the launcher once Bolt is up, removed on shutdown

A server started here dies with the process that started it, so a killed test session leaves
none running; the CLI's ``neo4j start`` starts it detached, to outlive the command.

Auth: with ``password=None`` the server runs with auth disabled and accepts any credentials
(or none). With a password (8 characters at least) auth is enabled and user ``neo4j`` has that
password. The password reaches the launcher through the ``RAREGRAPH_NEO4J_PASSWORD``
environment variable, never its command line.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from raregraph.errors import GraphUnavailableError
from raregraph.processes import spawn_with_this_process

__all__ = [
    "DEFAULT_PORT",
    "LAUNCHER_DIR",
    "JVM_OPTIONS",
    "LAUNCHER_JAR",
    "LAUNCHER_LIB",
    "NEO4J_VERSION",
    "PASSWORD_ENV",
    "USER",
    "ServerInfo",
    "adopt_class_archive",
    "class_archive_options",
    "build_launcher",
    "exclusive_lock",
    "memory_settings",
    "start",
    "home_dir",
    "status",
    "stop",
    "store_bytes",
    "switch_home",
    "wait_port_free",
]

NEO4J_VERSION = "5.26.31"
DEFAULT_PORT = 7687
USER = "neo4j"
PASSWORD_ENV = "RAREGRAPH_NEO4J_PASSWORD"
MIN_PASSWORD_LENGTH = 8

LAUNCHER_DIR = Path(__file__).resolve().parent.parent / "tools" / "neo4j"
LAUNCHER_JAR = LAUNCHER_DIR / "target" / "raregraph-neo4j-launcher.jar"
LAUNCHER_LIB = LAUNCHER_DIR / "target" / "lib"
_LAUNCHER_SOURCES = (
    LAUNCHER_DIR / "pom.xml",
    LAUNCHER_DIR / "src" / "main" / "java" / "org" / "raregraph" / "neo4j" / "Launcher.java",
)
_JAR_MARKER = "raregraph-neo4j-launcher"

# Class-data sharing: the JVM maps Neo4j's classes, parsed and verified by an earlier run, from
# an archive instead of loading them from ~210 jars; it halves the server's start-up on two
# cores (21 s → 10 s at load average 7). The first start without one records it at its clean exit.
_CDS_ARCHIVE = LAUNCHER_DIR / "target" / "launcher.jsa"
_CDS_PENDING = "cds.pending"  # in the data folder: the archive its server records at exit

_PID_FILE = "neo4j.pid"
_LOG_FILE = "neo4j.log"
_READY_FILE = "ready.json"
_HOME_DIR = "home"
_HOME_POINTER = "home.current"

# "auto" sizes: a share of the machine's memory each, within bounds (a development machine runs
# other things too; Neo4j's own advice for a dedicated server is far more).
_AUTO_SHARE = 8  # heap and page cache each get 1/8 of physical memory
_HEAP_BOUNDS = (512 * 2**20, 8 * 2**30)
_PAGE_CACHE_BOUNDS = (256 * 2**20, 16 * 2**30)

# Neo4j's own start script passes these.
JVM_OPTIONS = (
    "-XX:+UseG1GC",
    "-XX:-OmitStackTraceInFastThrow",
    "-XX:+ExitOnOutOfMemoryError",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Dlog4j2.disable.jmx=true",
)


@dataclass(frozen=True)
class ServerInfo:
    """A running launcher: its pid, Bolt URI, data folder and log; ``user`` is None when auth is off."""

    pid: int
    bolt_uri: str
    data_dir: Path
    log_path: Path
    user: str | None = None
    heap_bytes: int | None = None  # the JVM's maximum heap, as the launcher reports it
    page_cache_bytes: int | None = None

    @property
    def auth_enabled(self) -> bool:
        """True when the server checks credentials (user ``neo4j`` and the password it was started with)."""
        return self.user is not None

    @property
    def port(self) -> int:
        """The Bolt port on 127.0.0.1."""
        return int(self.bolt_uri.rsplit(":", 1)[1])


def build_launcher(*, force: bool = False, timeout_s: float = 900.0) -> Path:
    """Build the launcher with Maven unless it is built and newer than its sources; return the jar.

    The first build downloads Neo4j and its dependencies from Maven Central (about 125 MB of
    jars, plus Maven's own plugins) into ``~/.m2``; later builds are offline and take seconds.

    Raises:
        GraphUnavailableError: java or mvn is not on PATH, or the Maven build failed.
    """
    _require_tool("java")
    if not force and _launcher_is_current():
        return LAUNCHER_JAR
    mvn = _require_tool("mvn")
    if not (LAUNCHER_DIR / "pom.xml").is_file():
        raise GraphUnavailableError(f"the Neo4j launcher's sources are missing: no {LAUNCHER_DIR / 'pom.xml'}")
    (LAUNCHER_DIR / "target").mkdir(parents=True, exist_ok=True)
    with exclusive_lock(LAUNCHER_DIR / "target" / ".build.lock"):
        if not force and _launcher_is_current():  # built by someone else while we waited
            return LAUNCHER_JAR
        command = [mvn, "-B", "-q", "-Dstyle.color=never", "-f", str(LAUNCHER_DIR / "pom.xml"), "package"]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired as err:
            raise GraphUnavailableError(f"building the Neo4j launcher took over {timeout_s:.0f} s: {' '.join(command)}") from err
        if done.returncode != 0 or not LAUNCHER_JAR.is_file():
            output = _tail((done.stdout or "") + (done.stderr or ""), 40)
            raise GraphUnavailableError(
                f"building the Neo4j launcher failed (exit {done.returncode}): {' '.join(command)}\n{output}"
            )
    return LAUNCHER_JAR


def start(
    data_dir: Path,
    port: int = DEFAULT_PORT,
    *,
    timeout_s: float = 120.0,
    password: str | None = None,
    page_cache: str = "auto",
    heap: str = "auto",
    detach: bool = False,
) -> ServerInfo:
    """Start a server for ``data_dir`` on 127.0.0.1:``port`` and return once it answers ``RETURN 1``.

    Builds the launcher first when needed (see `build_launcher`). If a server already runs for
    ``data_dir`` it is returned as is (its port and auth may differ from what was asked); if
    one is still starting, this waits for it. ``timeout_s`` counts from the spawn; a server this
    call started that does not answer in time is killed, so nothing is left running. Start-up
    takes about 5 to 15 s on two cores (twice that for the first start, which records
    the class-data-sharing archive); ``page_cache`` and ``heap`` take sizes (256m, 1g) or
    ``auto`` (see `memory_settings`). The server dies with this process (even a ``kill -9`` of it,
    on Linux) unless ``detach``: the CLI's ``neo4j start`` detaches it so that it outlives the
    command, until ``neo4j stop``.

    Raises:
        GraphUnavailableError: java/mvn missing, build failed, the port is taken, the password
            is too short or refused by an already-running server, or the server exited or did not
            answer in time (the message ends with the log tail).
    """
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise GraphUnavailableError(f"the Neo4j password must have at least {MIN_PASSWORD_LENGTH} characters")
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    spawned = False
    with exclusive_lock(data_dir / ".start.lock"):
        pid = _read_pid(data_dir)
        if pid is None or not _launcher_alive(pid):
            _remove_state(data_dir)
            if not _port_is_free(port):
                raise GraphUnavailableError(f"port {port} on 127.0.0.1 is already in use; pick another with --port")
            build_launcher()
            heap, page_cache = memory_settings(heap, page_cache)
            pid = _spawn(data_dir, port, password=password, page_cache=page_cache, heap=heap, detach=detach)
            spawned = True
    deadline = time.monotonic() + timeout_s  # counted from the spawn, not from a first build
    try:
        return _wait_until_ready(data_dir, pid, password, deadline, timeout_s)
    except GraphUnavailableError:
        if spawned:  # never kill a server this call did not start
            _terminate(pid, 10.0)
            _remove_state(data_dir)
        raise


def memory_settings(heap: str = "auto", page_cache: str = "auto") -> tuple[str, str]:
    """The heap and page cache sizes to start with: as given, or for ``auto`` 1/8 of physical memory each
    (heap 512 MiB to 8 GiB, page cache 256 MiB to 16 GiB).

    Raises:
        GraphUnavailableError: a size that is neither ``auto`` nor a number with k, m or g.
    """
    total = _physical_memory()
    sizes = []
    for name, value, (low, high) in (("heap", heap, _HEAP_BOUNDS), ("page cache", page_cache, _PAGE_CACHE_BOUNDS)):
        value = value.strip().lower()
        if value == "auto":
            value = f"{max(low, min(high, total // _AUTO_SHARE)) // 2**20}m"
        elif not (value[:-1].isdigit() and value[-1] in "kmg" and int(value[:-1]) > 0):
            raise GraphUnavailableError(f"the Neo4j {name} size must be 'auto' or a size such as 512m or 2g, got {value!r}")
        sizes.append(value)
    return sizes[0], sizes[1]


def _physical_memory() -> int:
    """Bytes of physical memory (a cgroup limit, where one is set, if lower)."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text(encoding="utf-8").strip()
        if limit.isdigit():
            total = min(total, int(limit))
    except OSError:
        pass
    return total


def store_bytes(data_dir: Path) -> int:
    """Bytes on disk of the server's stores and transaction logs (``<data_dir>/home/data``)."""
    root = home_dir(data_dir) / "data"
    return sum(f.stat().st_size for f in root.rglob("*") if f.is_file()) if root.is_dir() else 0


def home_dir(data_dir: Path) -> Path:
    """The Neo4j home a server for ``data_dir`` starts on: the one ``home.current`` names, else ``<data_dir>/home``."""
    data_dir = Path(data_dir).resolve()
    try:
        name = (data_dir / _HOME_POINTER).read_text(encoding="utf-8").strip()
    except OSError:
        return data_dir / _HOME_DIR
    if not name or "/" in name or name.startswith("."):
        raise GraphUnavailableError(f"{data_dir / _HOME_POINTER} must name a folder of {data_dir}, got {name!r}")
    return data_dir / name


def switch_home(data_dir: Path, name: str) -> None:
    """Make ``<data_dir>/<name>`` the home the next start uses, in one atomic rename (durable on return).

    A crash leaves the pointer naming the old home or the new one, never neither. Switch only
    while no server runs for ``data_dir``: a running one keeps the home it started on.
    """
    data_dir = Path(data_dir).resolve()
    if not (data_dir / name).is_dir():
        raise GraphUnavailableError(f"cannot switch the Neo4j home to {data_dir / name}: no such folder")
    tmp = data_dir / (_HOME_POINTER + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(name + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, data_dir / _HOME_POINTER)
    directory = os.open(data_dir, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def status(data_dir: Path, *, password: str | None = None) -> ServerInfo | None:
    """The server running for ``data_dir`` if its process is alive and Bolt answers, else None.

    With auth enabled and a wrong or missing ``password``, a server that refuses the credentials
    still counts as answering (it is up; the caller's credentials are the problem).
    """
    data_dir = Path(data_dir).resolve()
    pid = _read_pid(data_dir)
    if pid is None or not _launcher_alive(pid):
        return None
    info = _ready_info(data_dir, pid)
    if info is None:
        return None
    return info if _bolt_check(info, password, timeout_s=5.0) in ("ok", "refused") else None


def stop(data_dir: Path, timeout_s: float = 30.0) -> bool:
    """Stop the server for ``data_dir`` (SIGTERM, then SIGKILL after ``timeout_s``); True if one was running."""
    data_dir = Path(data_dir).resolve()
    pid = _read_pid(data_dir)
    was_running = pid is not None and _launcher_alive(pid)
    if was_running:
        assert pid is not None
        _terminate(pid, timeout_s)
    elif pid is not None:
        _reap(pid)  # killed by someone else: no zombie left
    _remove_state(data_dir)
    with contextlib.suppress(OSError):
        pending = data_dir / _CDS_PENDING
        recording = Path(pending.read_text(encoding="utf-8").strip())
        pending.unlink()
        adopt_class_archive(recording, _CDS_ARCHIVE)
    return was_running


# --- internals -------------------------------------------------------------------------------


def _require_tool(name: str) -> str:
    """The path of ``name`` on PATH, or a GraphUnavailableError saying what to install."""
    found = shutil.which(name)
    if found is None:
        hint = "a Java 17+ runtime (e.g. apt-get install openjdk-17-jre-headless)" if name == "java" else "Apache Maven 3.6+"
        raise GraphUnavailableError(f"'{name}' is not on PATH; the local Neo4j server needs {hint}")
    return found


def _launcher_is_current() -> bool:
    """True when the jar and its library folder exist and are newer than the pom and the source."""
    if not LAUNCHER_JAR.is_file() or not LAUNCHER_LIB.is_dir() or not any(LAUNCHER_LIB.glob("neo4j-*.jar")):
        return False
    built = LAUNCHER_JAR.stat().st_mtime
    return all(not source.exists() or source.stat().st_mtime <= built for source in _LAUNCHER_SOURCES)


@contextlib.contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``path`` (a no-op where fcntl is missing)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def wait_port_free(port: int, timeout_s: float = 30.0) -> bool:
    """Wait until nothing listens on 127.0.0.1:``port``; False if something still does after ``timeout_s``.

    A killed JVM's main thread is a zombie before its other threads have exited, and the port
    is released with the last one: "process gone" is not yet "port free".
    """
    deadline = time.monotonic() + timeout_s
    while not _port_is_free(port):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def _port_is_free(port: int) -> bool:
    """True when nothing listens on 127.0.0.1:``port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def class_archive_options(archive: Path) -> tuple[list[str], Path | None]:
    """JVM options to map classes from `archive` when it is newer than the launcher's jar, else to record one
    at the JVM's clean exit into a temporary file (returned: move it in place with `adopt_class_archive`)."""
    if archive.is_file() and LAUNCHER_JAR.is_file() and archive.stat().st_mtime >= LAUNCHER_JAR.stat().st_mtime:
        return [f"-XX:SharedArchiveFile={archive}"], None  # a stale or foreign archive is ignored by the JVM
    recording = archive.with_name(f"{archive.name}.{os.getpid()}-{time.monotonic_ns()}.tmp")
    return [f"-XX:ArchiveClassesAtExit={recording}"], recording


def adopt_class_archive(recording: Path, archive: Path) -> None:
    """Move an archive recorded by a JVM that has exited into place (atomically); drop an empty one."""
    with contextlib.suppress(OSError):
        if recording.stat().st_size > 0:
            os.replace(recording, archive)
            return
    with contextlib.suppress(OSError):
        recording.unlink()


def _spawn(data_dir: Path, port: int, *, password: str | None, page_cache: str, heap: str, detach: bool) -> int:
    """Start the launcher, detached (own session, not our child) or dying with us, and write its pid file; its pid."""
    java = _require_tool("java")
    sharing, recording = class_archive_options(_CDS_ARCHIVE)
    if recording is not None:  # `stop` adopts it once the server has exited
        (data_dir / _CDS_PENDING).write_text(str(recording), encoding="utf-8")
    command = [
        java,
        f"-Xmx{heap}",
        *JVM_OPTIONS,
        *sharing,
        "-jar", str(LAUNCHER_JAR),
        "--home", str(home_dir(data_dir)),
        "--port", str(port),
        "--ready-file", str(data_dir / _READY_FILE),
        "--page-cache", page_cache,
    ]  # fmt: skip
    env = {key: value for key, value in os.environ.items() if key != PASSWORD_ENV}
    if password is not None:
        env[PASSWORD_ENV] = password
    env["RAREGRAPH_NEO4J_LOG"] = str(data_dir / _LOG_FILE)
    pid = _spawn_detached(command, data_dir, env) if detach else _spawn_tied(command, data_dir, env)
    # `$!` is known as soon as the shell forks; wait for the fork to exec Java before judging it.
    deadline = time.monotonic() + 10.0
    while _process_state(pid) == "other" and time.monotonic() < deadline:
        time.sleep(0.02)
    (data_dir / _PID_FILE).write_text(f"{pid}\n", encoding="utf-8")
    return pid


def _spawn_detached(command: list[str], data_dir: Path, env: dict[str, str]) -> int:
    """Java in the background of a shell that exits at once, so Java is re-parented away from this
    process: no Popen object to reap or to warn about, and it outlives a CLI invocation."""
    shell = 'echo "$ $*" >"$RAREGRAPH_NEO4J_LOG"; "$@" >>"$RAREGRAPH_NEO4J_LOG" 2>&1 </dev/null & echo $!'
    done = subprocess.run(
        ["/bin/sh", "-c", shell, "sh", *command],
        env=env,
        cwd=data_dir,
        capture_output=True,
        text=True,
        timeout=30,
        start_new_session=True,
        check=False,
    )
    try:
        return int(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError) as err:
        raise GraphUnavailableError(f"could not start the Neo4j launcher: {done.stderr.strip() or done.stdout.strip()}") from err


def _spawn_tied(command: list[str], data_dir: Path, env: dict[str, str]) -> int:
    """Java as our child, killed when this process ends however it ends (a test session's server)."""
    log = data_dir / _LOG_FILE
    log.write_text(f"$ {' '.join(command)}\n", encoding="utf-8")
    try:
        return spawn_with_this_process(command, cwd=data_dir, env=env, output=log)
    except OSError as err:
        raise GraphUnavailableError(f"could not start the Neo4j launcher: {err}") from err


def _wait_until_ready(data_dir: Path, pid: int, password: str | None, deadline: float, timeout_s: float) -> ServerInfo:
    """Poll until the launcher's ready file appears and Bolt answers ``RETURN 1``."""
    log_path = data_dir / _LOG_FILE
    while True:
        if not _launcher_alive(pid):
            raise GraphUnavailableError(f"the Neo4j launcher (pid {pid}) exited during start-up; {log_path}:\n{_log_tail(log_path)}")
        info = _ready_info(data_dir, pid)
        answer = "down" if info is None else _bolt_check(info, password, timeout_s=5.0)
        if answer == "ok":
            assert info is not None
            return info
        if answer == "refused":
            raise GraphUnavailableError(
                f"the Neo4j server for {data_dir} (pid {pid}) refuses user '{USER}' with the given password"
                " (it runs with auth enabled; pass the password it was started with)"
            )
        if time.monotonic() >= deadline:
            raise GraphUnavailableError(
                f"Neo4j did not answer within {timeout_s:.0f} s (pid {pid} stopped); {log_path}:\n{_log_tail(log_path)}"
            )
        time.sleep(0.25)


def _ready_info(data_dir: Path, pid: int) -> ServerInfo | None:
    """The ServerInfo described by the launcher's ready file, or None while it is not written."""
    try:
        ready = json.loads((data_dir / _READY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if ready.get("pid") != pid:
        return None
    return ServerInfo(
        pid=pid,
        bolt_uri=str(ready["bolt_uri"]),
        data_dir=data_dir,
        log_path=data_dir / _LOG_FILE,
        user=USER if ready.get("auth") else None,
        heap_bytes=ready.get("heap_max_bytes"),
        page_cache_bytes=ready.get("page_cache_bytes"),
    )


def _bolt_check(info: ServerInfo, password: str | None, *, timeout_s: float) -> Literal["ok", "refused", "down"]:
    """Run ``RETURN 1`` over Bolt: "ok", "refused" (server up, credentials refused) or "down"."""
    import neo4j
    from neo4j.exceptions import AuthError, DriverError, Neo4jError

    auth = (USER, password or "") if info.auth_enabled else None
    try:
        with neo4j.GraphDatabase.driver(
            info.bolt_uri,
            auth=auth,
            connection_timeout=timeout_s,
            connection_acquisition_timeout=timeout_s,
            max_transaction_retry_time=0,
        ) as driver:
            records, _, _ = driver.execute_query("RETURN 1 AS ok", database_="neo4j")
            return "ok" if records and records[0]["ok"] == 1 else "down"
    except AuthError:
        return "refused"
    except (DriverError, Neo4jError, OSError):
        return "down"


def _read_pid(data_dir: Path) -> int | None:
    """The pid in ``data_dir``'s pid file, or None."""
    try:
        return int((data_dir / _PID_FILE).read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None


def _launcher_alive(pid: int) -> bool:
    """True when ``pid`` is a live (not zombie) process, and on Linux one running our launcher."""
    return _process_state(pid) == "launcher"


def _process_state(pid: int) -> Literal["launcher", "other", "gone"]:
    """Whether ``pid`` runs our launcher, runs something else (pid reused, or not exec'd yet), or is gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return "gone"
    except PermissionError:
        pass  # exists, owned by someone else; /proc below decides
    proc = Path(f"/proc/{pid}")
    if not proc.is_dir():
        return "gone" if sys.platform == "linux" else "launcher"
    try:
        state = (proc / "stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()[0]
        cmdline = (proc / "cmdline").read_bytes()
    except (OSError, IndexError):
        return "gone"
    if state in ("Z", "X"):
        return "gone"
    return "launcher" if _JAR_MARKER.encode() in cmdline else "other"


def _terminate(pid: int, timeout_s: float) -> None:
    """SIGTERM ``pid`` and wait up to ``timeout_s``; then SIGKILL and wait a little more (and reap our child)."""
    try:
        for sig, wait_s in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, 10.0)):
            if not _launcher_alive(pid):
                return
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
            deadline = time.monotonic() + wait_s
            while time.monotonic() < deadline:
                if not _launcher_alive(pid):
                    return
                time.sleep(0.1)
        if _launcher_alive(pid):
            raise GraphUnavailableError(f"could not stop the Neo4j launcher (pid {pid})")
    finally:
        _reap(pid)


def _reap(pid: int) -> None:
    """Collect the exit status of a server that was our child (one started without ``detach``)."""
    with contextlib.suppress(ChildProcessError):  # not our child: a detached server, reaped by init
        os.waitpid(pid, os.WNOHANG)


def _remove_state(data_dir: Path) -> None:
    """Delete the pid and ready files (the stores and logs stay)."""
    for name in (_PID_FILE, _READY_FILE, _READY_FILE + ".tmp"):
        with contextlib.suppress(FileNotFoundError):
            (data_dir / name).unlink()


def _log_tail(path: Path, lines: int = 30) -> str:
    """The last ``lines`` lines of ``path`` (or a note that it is missing)."""
    try:
        return _tail(path.read_text(encoding="utf-8", errors="replace"), lines)
    except OSError:
        return f"(no log at {path})"


def _tail(text: str, lines: int) -> str:
    """The last ``lines`` lines of ``text``."""
    return "\n".join(text.rstrip().splitlines()[-lines:])
