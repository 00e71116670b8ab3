"""Bulk import: a snapshot written as CSV files and imported with `neo4j-admin database import full`.

The offline path for a first load or a cold rebuild of the local server (`kg.neo4j_server`):
the same load steps as the online loader (`kg.neo4j_rows.steps`, so one layout) become one CSV
file per step, the import tool writes them into a fresh store next to the one in use (the server
goes on serving it meanwhile), and the switch is a restart on the new store:

1. write the files under `<data_dir>/import-<token>/` and import them into `<data_dir>/home-<token>/`;
   the new store holds the snapshot's nodes and relationships and its `:Snapshot` marker in
   state `loading` with this import's token (readers ignore it);
2. check the tool's counts against the files; a mismatch deletes the new store, nothing changed;
3. stop the server (if one runs), point `<data_dir>/home.current` at the new home (one atomic
   rename, `neo4j_server.switch_home`), start the server on it;
4. create the schema (constraints, indexes, full text; `kg.neo4j_load.apply_schema`; Community's
   import cannot build them), compare the store's counts with the files' (the count store: the
   store holds this snapshot only), and only then mark it `complete` for the token and activate
   it; the old home and the CSV files are deleted last.

A kill at any point (of this process or of the server) leaves the pointer on the old store (steps
1–2: the store in use was never touched) or on the new one with the snapshot `loading` or
`complete` (steps 3–4); a re-run deletes homes and files no pointer names and imports again, so
it ends with exactly one complete, active snapshot. Community Edition has one user database:
the import replaces every snapshot in the store, and readers get errors while the server
restarts. Side-by-side refresh (`kg.neo4j_load.refresh_snapshot`) stays the online loader's job.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import neo4j
import polars as pl

from raregraph.errors import GraphUnavailableError
from raregraph.etl.snapshot import Snapshot
from raregraph.kg import neo4j_server
from raregraph.kg.cypher_files import load_cypher
from raregraph.kg.neo4j import open_driver
from raregraph.kg.neo4j_load import LAYOUT_VERSION, LoadReport, StepReport, activate_snapshot, apply_schema, complete_snapshot
from raregraph.kg.neo4j_rows import Step, steps
from raregraph.processes import dies_with_this_process

__all__ = ["ARRAY_DELIMITER", "ImportFiles", "ImportReport", "write_import_files", "run_import", "import_snapshot"]

# Between the elements of a list property: a control character no text field of the sources
# holds (checked while writing; a value holding it is an error, never a silent split).
ARRAY_DELIMITER = "\x1f"

_CDS_ARCHIVE = neo4j_server.LAUNCHER_DIR / "target" / "import-tool.jsa"  # the tool's classes (see neo4j_server)
_IMPORT_PREFIX = "import-"  # <data_dir>/import-<token>: the CSV files of one import
_HOME_PREFIX = "home-"  # <data_dir>/home-<token>: the store one import wrote
_TYPES: dict[type[pl.DataType], str] = {
    pl.Utf8: "string", pl.Boolean: "boolean", pl.Float32: "double", pl.Float64: "double",
    pl.Int8: "long", pl.Int16: "long", pl.Int32: "long", pl.Int64: "long",
    pl.UInt8: "long", pl.UInt16: "long", pl.UInt32: "long", pl.UInt64: "long",
}


@dataclass
class ImportFiles:
    """The CSV files of one snapshot and what the import must create from them."""

    folder: Path
    snapshot_id: str
    token: str
    nodes: list[tuple[str, Path]] = field(default_factory=list)  # (label, file)
    relationships: list[tuple[str, Path]] = field(default_factory=list)  # (type, file)
    steps: dict[str, StepReport] = field(default_factory=dict)
    created_nodes: dict[str, int] = field(default_factory=dict)  # per label, as the online loader counts them
    node_total: int = 0  # every node of the files, the marker included
    relationship_total: int = 0
    multiline: list[Path] = field(default_factory=list)  # files where some text value holds a line break

    def arguments(self) -> list[str]:
        """The import tool's `--nodes`/`--relationships` arguments for these files."""
        return ([f"--nodes={label}={path}" for label, path in self.nodes]
                + [f"--relationships={rel_type}={path}" for rel_type, path in self.relationships])


# (relationship type, id space of the start, id space of the end) per edge statement; synonyms,
# aliases, gene keys and xrefs create their own nodes (id spaces of their own).
_EDGES: dict[str, tuple[str, str, str]] = {
    "term_synonyms_by_rows": ("HAS_SYNONYM", "Phenotype", "Synonym"),
    "disease_synonyms_by_rows": ("HAS_SYNONYM", "Disease", "Synonym"),
    "disease_xrefs_by_rows": ("HAS_XREF", "Disease", "Xref"),
    "is_a_edges_by_rows": ("IS_A", "Phenotype", "Phenotype"),
    "has_phenotype_edges_by_rows": ("HAS_PHENOTYPE", "Disease", "Phenotype"),
    "has_inheritance_edges_by_rows": ("HAS_INHERITANCE", "Disease", "Phenotype"),
    "associated_with_edges_by_rows": ("ASSOCIATED_WITH", "Disease", "Gene"),
    "gene_has_phenotype_edges_by_rows": ("GENE_HAS_PHENOTYPE", "Gene", "Phenotype"),
    "asserted_for_edges_by_rows": ("ASSERTED_FOR", "Variant", "Disease"),
    "replaced_by_edges_by_rows": ("REPLACED_BY", "Phenotype", "Phenotype"),
    "term_aliases_by_rows": ("ALIAS_OF", "TermAlias", "Phenotype"),
    "gene_keys_by_rows": ("KEY_OF", "GeneKey", "Gene"),
    "in_gene_edges_by_rows": ("IN_GENE", "Variant", "Gene"),
}
_SYNONYM_STATEMENTS = ("term_synonyms_by_rows", "disease_synonyms_by_rows")


def write_import_files(snapshot: Snapshot, folder: Path, *, token: str | None = None, started_at: str | None = None) -> ImportFiles:
    """Write one CSV file per load step of `snapshot` (and the `:Snapshot` marker) into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    files = ImportFiles(folder, snapshot.id, token or uuid.uuid4().hex)
    known: dict[str, pl.Series] = {}  # id space -> ids of its nodes
    synonyms = 0
    for step in steps(snapshot):
        if step.edge is None:
            _node_step(files, step, known)
        elif step.statement in _SYNONYM_STATEMENTS:
            synonyms = _synonym_step(files, step, known, synonyms)
        else:
            _edge_step(files, step, known)
    marker = pl.DataFrame({
        "id:ID(Snapshot)": [snapshot.id], "state": ["loading"], "active:boolean": [False], "token": [files.token],
        "started_at": [started_at or _now()], "manifest_json": [json.dumps(snapshot.manifest, sort_keys=True)],
        "layout_version:long": [LAYOUT_VERSION],
    })
    _write(files, marker, "Snapshot", "snapshot", node=True)
    return files


def _node_step(files: ImportFiles, step: Step, known: dict[str, pl.Series]) -> None:
    label = step.label or "Record"
    frame = step.frame
    if label == "Record":
        frame = frame.with_columns(pl.lit(step.params["table"]).alias("table"))
    else:
        known[label] = frame["id"].cast(pl.Utf8)
    frame = _with_snapshot(frame, files.snapshot_id)
    _write(files, _typed(frame, {"id": f"id:ID({label})"} if label != "Record" else {}, step.name), label, step.name, node=True)
    files.steps[step.name] = StepReport(rows=step.frame.height, created=frame.height, duplicates=step.duplicates)
    files.created_nodes[label] = files.created_nodes.get(label, 0) + frame.height


def _synonym_step(files: ImportFiles, step: Step, known: dict[str, pl.Series], first: int) -> int:
    """Synonyms: a :Synonym node per row whose owner exists, and HAS_SYNONYM from the owner; the next free id."""
    rel_type, owner, _ = _EDGES[step.statement]
    frame = step.frame.filter(pl.col("start").is_in(known.get(owner, pl.Series(dtype=pl.Utf8)).implode()))
    frame = frame.with_columns(pl.int_range(first, first + frame.height, dtype=pl.Int64).cast(pl.Utf8).alias("_sid"))
    nodes = _with_snapshot(frame.drop("start", "end"), files.snapshot_id)
    _write(files, _typed(nodes, {"_sid": ":ID(Synonym)"}, step.name), "Synonym", step.name, node=True)
    rels = frame.select(pl.col("start").alias(f":START_ID({owner})"), pl.col("_sid").alias(":END_ID(Synonym)"))
    _write(files, rels, rel_type, step.name + "_rel", node=False)
    files.steps[step.name] = StepReport(rows=step.frame.height, created=frame.height)
    files.created_nodes["Synonym"] = files.created_nodes.get("Synonym", 0) + frame.height
    files.relationship_total += frame.height
    return first + frame.height


def _edge_step(files: ImportFiles, step: Step, known: dict[str, pl.Series]) -> None:
    rel_type, start_space, end_space = _EDGES[step.statement]
    frame = step.frame.filter(pl.col("start").is_not_null() & pl.col("end").is_not_null())
    if start_space in known:  # else the statement creates the start node (alias, gene key)
        frame = frame.filter(pl.col("start").is_in(known[start_space].implode()))
    if end_space in known:  # else it creates the end node (xref)
        frame = frame.filter(pl.col("end").is_in(known[end_space].implode()))
    created_label = {"TermAlias": "TermAlias", "GeneKey": "GeneKey", "Xref": "Xref"}
    if start_space in created_label:  # one node per row, carrying the row's start as its id or key
        key = "key" if start_space == "GeneKey" else "id"
        nodes = _with_snapshot(frame.select(pl.col("start").alias(key)), files.snapshot_id)
        _write(files, _typed(nodes, {key: f"{key}:ID({start_space})"}, step.name), start_space, step.name + "_nodes", node=True)
        files.created_nodes[start_space] = files.created_nodes.get(start_space, 0) + frame.height
    if end_space == "Xref":  # one node per distinct id (the statement MERGEs them)
        xrefs = _with_snapshot(frame.select(pl.col("end").alias("id")).unique(maintain_order=True), files.snapshot_id)
        _write(files, _typed(xrefs, {"id": "id:ID(Xref)"}, step.name), "Xref", step.name + "_nodes", node=True)
    props = frame.drop("start", "end")
    rels = pl.concat([frame.select(pl.col("start").alias(f":START_ID({start_space})"), pl.col("end").alias(f":END_ID({end_space})")),
                      _typed(props, {}, step.name)], how="horizontal")
    _write(files, rels, rel_type, step.name, node=False)
    files.steps[step.name] = StepReport(rows=step.frame.height, created=frame.height, duplicates=step.duplicates)
    files.relationship_total += frame.height


def _with_snapshot(frame: pl.DataFrame, snapshot_id: str) -> pl.DataFrame:
    return frame.with_columns(pl.lit(snapshot_id, pl.Utf8).alias("snapshot"))


def _typed(frame: pl.DataFrame, rename: dict[str, str], step: str) -> pl.DataFrame:
    """Columns named `name:type` for the import tool (ids as given in `rename`); lists joined, as the online loader cleans them.

    Raises:
        GraphUnavailableError: a list element holds the array delimiter (the import would split it).
    """
    columns = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.List) and frame.select(
                pl.col(name).list.eval(pl.element().cast(pl.Utf8).str.contains(ARRAY_DELIMITER, literal=True)).list.any().any()).item():
            raise GraphUnavailableError(f"{step}.{name}: a list element holds the array delimiter U+001F; the import would split it")
        if name in rename:
            columns.append(pl.col(name).cast(pl.Utf8).alias(rename[name]))
            continue
        if frame[name].null_count() == frame.height:
            continue  # never a property, as in the online loader
        if isinstance(dtype, pl.List):
            inner = _TYPES.get(type(dtype.inner), "string")
            cleaned = pl.col(name).list.drop_nulls()
            joined = cleaned.list.eval(pl.element().cast(pl.Utf8)).list.join(ARRAY_DELIMITER)
            columns.append(pl.when(cleaned.list.len() > 0).then(joined).alias(f"{name}:{inner}[]"))
        else:
            columns.append(pl.col(name).alias(f"{name}:{_TYPES.get(type(dtype), 'string')}"))
    return frame.select(columns)


def _write(files: ImportFiles, frame: pl.DataFrame, label_or_type: str, name: str, *, node: bool) -> None:
    path = files.folder / f"{len(files.nodes) + len(files.relationships):02d}-{name}.csv"
    if any(dtype == pl.Utf8 and frame[column].str.contains(r"[\r\n]").any() for column, dtype in frame.schema.items()):
        files.multiline.append(path)  # parsed apart: a multi-line file is read by one thread
    frame.write_csv(path, quote_style="necessary")
    if node:
        files.nodes.append((label_or_type, path))
        files.node_total += frame.height
    else:
        files.relationships.append((label_or_type, path))


_DONE = re.compile(r"Imported:\s+(\d+)\s+nodes\s+(\d+)\s+relationships", re.S)


def run_import(files: ImportFiles, home: Path, *, heap: str = "1g", threads: int = 2, timeout_s: float = 1800.0) -> tuple[int, int, float]:
    """Import `files` into a new store under `home` (which must not hold one); (nodes, relationships, seconds).

    Raises:
        GraphUnavailableError: java missing, the tool failed, or its counts differ from the files'.
    """
    java = shutil.which("java")
    if java is None:
        raise GraphUnavailableError("'java' is not on PATH; the Neo4j import tool needs a Java 17+ runtime")
    neo4j_server.build_launcher()
    (home / "conf").mkdir(parents=True, exist_ok=True)
    (home / "conf" / "neo4j.conf").write_text("", encoding="utf-8")
    sharing, recording = neo4j_server.class_archive_options(_CDS_ARCHIVE)
    command = [
        java, f"-Xmx{heap}", *neo4j_server.JVM_OPTIONS, *sharing, "-cp", str(neo4j_server.LAUNCHER_LIB / "*"),
        "org.neo4j.cli.AdminTool", "database", "import", "full", "neo4j",
        f"--array-delimiter=U+{ord(ARRAY_DELIMITER):04X}", f"--threads={threads}",
        *(["--multiline-fields-format=v2", f"--multiline-fields={','.join(map(str, files.multiline))}"] if files.multiline else []),
        "--max-off-heap-memory=1g",
        f"--report-file={files.folder / 'import.report'}", *files.arguments(),
    ]  # fmt: skip
    env = {**os.environ, "NEO4J_HOME": str(home), "NEO4J_CONF": str(home / "conf")}
    started = time.perf_counter()
    try:
        # tied to this process: a killed import leaves no tool writing into a store a re-run deletes
        done = subprocess.run(command, env=env, cwd=home, capture_output=True, text=True, timeout=timeout_s, check=False,
                              preexec_fn=dies_with_this_process())
    except subprocess.TimeoutExpired as err:
        if recording is not None:
            recording.unlink(missing_ok=True)
        raise GraphUnavailableError(f"the Neo4j import of {files.snapshot_id} took over {timeout_s:.0f} s") from err
    seconds = time.perf_counter() - started
    if recording is not None:
        if done.returncode == 0:
            neo4j_server.adopt_class_archive(recording, _CDS_ARCHIVE)
        else:
            recording.unlink(missing_ok=True)
    output = (done.stdout or "") + (done.stderr or "")
    found = _DONE.search(output)
    if done.returncode != 0 or found is None:
        tail = "\n".join(output.strip().splitlines()[-30:])
        raise GraphUnavailableError(f"the Neo4j import of {files.snapshot_id} failed (exit {done.returncode}):\n{tail}")
    nodes, relationships = int(found.group(1)), int(found.group(2))
    if (nodes, relationships) != (files.node_total, files.relationship_total):
        raise GraphUnavailableError(
            f"the Neo4j import of {files.snapshot_id} created {nodes} nodes and {relationships} relationships;"
            f" the files hold {files.node_total} and {files.relationship_total}")
    return nodes, relationships, seconds


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class ImportReport:
    """A bulk import: the load (as the online loader reports it) and where its time went."""

    load: LoadReport
    bolt_uri: str
    replaced: list[str]  # snapshot ids the store held before (the import replaced them)
    seconds: dict[str, float]  # files, import, restart, schema, verify


Phase = Callable[[str], None]
"""Called with the name of each phase as it starts (files, import, restart, schema, verify)."""


def import_snapshot(
    data_dir: Path, snapshot: Snapshot, *, port: int = neo4j_server.DEFAULT_PORT, password: str | None = None,
    heap: str = "auto", page_cache: str = "auto", detach: bool = False, timeout_s: float = 240.0,
    phase: Phase | None = None,
) -> ImportReport:
    """Replace the store of the local server for `data_dir` by `snapshot`, imported in bulk; see the module docstring.

    A server running for `data_dir` is stopped for the switch and started again (on `port`,
    with `password`, `heap`, `page_cache`; `detach` as `neo4j_server.start`); without one, one
    is started. Returns once the snapshot is complete and active.

    Raises:
        GraphUnavailableError: java missing, the import or the server failed, or the counts in
            the database differ from the files' (the snapshot then stays `loading`, never active).
    """
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    seconds: dict[str, float] = {}
    mark = {"name": "", "t": started}

    def enter(name: str) -> None:
        now = time.perf_counter()
        if mark["name"]:
            seconds[mark["name"]] = round(now - mark["t"], 2)
        mark.update(name=name, t=now)
        if phase is not None and name:
            phase(name)

    with neo4j_server.exclusive_lock(data_dir / ".import.lock"):
        _remove_leftovers(data_dir)
        token = uuid.uuid4().hex
        folder, home = data_dir / f"{_IMPORT_PREFIX}{token}", data_dir / f"{_HOME_PREFIX}{token}"
        try:
            enter("files")
            files = write_import_files(snapshot, folder, token=token)
            enter("import")
            run_import(files, home)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            shutil.rmtree(home, ignore_errors=True)
            raise
        enter("restart")
        running = neo4j_server.status(data_dir, password=password)
        replaced = _current_snapshots(running.bolt_uri, running.user, password) if running else []
        previous = neo4j_server.home_dir(data_dir)
        neo4j_server.stop(data_dir)
        if running is not None:
            neo4j_server.wait_port_free(running.port)
        neo4j_server.switch_home(data_dir, home.name)
        info = neo4j_server.start(data_dir, port, timeout_s=timeout_s, password=password, heap=heap,
                                  page_cache=page_cache, detach=detach)
        with open_driver(info.bolt_uri, info.user or "neo4j", password or "", timeout_s=30.0) as driver:
            enter("schema")
            apply_schema(driver)
            enter("verify")
            relationships = files.relationship_total
            nodes = complete_snapshot(driver, snapshot.id, token, files.steps, files.created_nodes, relationships,
                                      seconds=time.perf_counter() - started, counted_nodes=_check_store(driver, files))
            activate_snapshot(driver, snapshot.id)
        enter("")
        if previous != home:
            shutil.rmtree(previous, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)
    load = LoadReport(snapshot.id, "loaded", active=True, steps=files.steps, nodes=nodes, relationships=relationships,
                      seconds=time.perf_counter() - started)
    return ImportReport(load, info.bolt_uri, replaced, seconds)


def _check_store(driver: neo4j.Driver, files: ImportFiles) -> int:
    """Compare the store's counts (the count store: no scan) with the files'; the snapshot's nodes (the marker not counted).

    The store holds this import only, so its counts per label are the snapshot's.
    """
    records, _, _ = driver.execute_query(load_cypher("counts_by_label"), database_="neo4j", routing_=neo4j.RoutingControl.READ)
    found = {r["what"]: int(r["n"]) for r in records}
    expected = {**files.created_nodes, "Snapshot": 1, "nodes": files.node_total, "relationships": files.relationship_total}
    problems = [f"{what}: {found.get(what, 0)} in the database, {n} written" for what, n in expected.items() if found.get(what, 0) != n]
    if problems:
        raise GraphUnavailableError(f"the import of {files.snapshot_id!r} is not what was written ({'; '.join(problems)}); run it again")
    return found["nodes"] - 1


def _remove_leftovers(data_dir: Path) -> None:
    """Delete the CSV folders and homes of earlier imports that never switched (or whose old home outlived the switch)."""
    current = neo4j_server.home_dir(data_dir)
    for entry in data_dir.iterdir():
        leftover = entry.name.startswith(_IMPORT_PREFIX) or (
            entry.name.startswith(_HOME_PREFIX) or entry.name == "home") and entry != current
        if leftover and entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)


def _current_snapshots(bolt_uri: str, user: str | None, password: str | None) -> list[str]:
    """The snapshot ids of the store a running server serves ([] when it cannot say)."""
    from raregraph.kg.neo4j_load import list_snapshots

    with contextlib.suppress(GraphUnavailableError), open_driver(bolt_uri, user or "neo4j", password or "", timeout_s=10.0) as driver:
        return [i.id for i in list_snapshots(driver)]
    return []
