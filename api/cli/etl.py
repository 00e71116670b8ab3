"""`raregraph etl …`: build a snapshot from release files, and compare two snapshots."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from raregraph.api.cli.support import err_console, guard, open_snapshot, out_console, progress
from raregraph.settings import Settings

__all__ = ["app"]

app = typer.Typer(help="Build and compare knowledge-graph snapshots.", no_args_is_help=True)


def _settings(ctx: typer.Context) -> Settings:
    return ctx.obj  # type: ignore[no-any-return]


@app.command("build")
def etl_build(
    ctx: typer.Context,
    source_dir: Annotated[Path | None, typer.Option(
        help="Release folder: the HPO files, and any Orphadata/OMIM/ClinVar files under their usual names "
             "(en_product1.xml, genemap2.txt, variant_summary.txt.gz, …; also in orphadata/, omim/, clinvar/) "
             "(default: the folder of RAREGRAPH_RELEASE, latest unless set, pulled on first use)")] = None,
    orphadata_dir: Annotated[Path | None, typer.Option(help="Folder of Orphadata XML (en_product1/4/6/9_ages.xml)")] = None,
    omim_dir: Annotated[Path | None, typer.Option(help="Folder of OMIM files (mim2gene.txt, genemap2.txt, morbidmap.txt)")] = None,
    clinvar: Annotated[Path | None, typer.Option(help="ClinVar variant_summary.txt(.gz)")] = None,
    clinvar_assembly: Annotated[str, typer.Option(help="ClinVar rows of this assembly are kept")] = "GRCh38",
    clinvar_origin: Annotated[str, typer.Option(help="ClinVar rows of this origin are kept ('all' keeps every origin)")] = "germline",
    clinvar_release: Annotated[str | None, typer.Option(
        help="ClinVar release (variant_summary states none; default: a date in the file name, else its sha256)")] = None,
    mondo_sssom: Annotated[Path | None, typer.Option(
        help="MONDO's SSSOM mappings (mondo.sssom.tsv): MONDO ids, and OMIM/Orphanet entries that are exact matches "
             "of one MONDO disease listed once")] = None,
    out: Annotated[Path | None, typer.Option(help="Snapshot root folder (default: RAREGRAPH_SNAPSHOT_DIR)")] = None,
    skip_bad_records: Annotated[bool, typer.Option(help="Count and list bad records instead of stopping")] = False,
    exclude_references: Annotated[
        Path | None, typer.Option(help="File of references (one per line, e.g. PMID:123); annotations citing only these are dropped")
    ] = None,
) -> None:
    """Build a snapshot from release files (nothing is written if the build fails)."""
    from raregraph.etl.build import BuildInputs, BuildOptions, build_snapshot, read_reference_list
    from raregraph.etl.locate import release_inputs

    settings = _settings(ctx)

    def run() -> None:
        chosen = source_dir or settings.source_dir
        default = None
        if chosen is None:  # the release's files (RAREGRAPH_RELEASE, latest unless set), pulled on first use
            with progress() as say:
                default = release_inputs(settings.release or "latest", settings.release_root, say=say)
        inputs = BuildInputs.discover(
            chosen or default.hpo.obo.parent, orphadata_dir=orphadata_dir, omim_dir=omim_dir,  # type: ignore[union-attr]
            clinvar=clinvar, clinvar_release=clinvar_release, mondo=mondo_sssom,
        )
        if default is not None:
            inputs = replace(inputs, default_origin=default.default_origin)
        refs = read_reference_list(exclude_references) if exclude_references else frozenset()
        options = BuildOptions(skip_bad_records=skip_bad_records, exclude_references=refs, clinvar_assembly=clinvar_assembly,
                               clinvar_origin=None if clinvar_origin.lower() == "all" else clinvar_origin)
        with progress() as say:
            snapshot = build_snapshot(inputs, out or settings.snapshot_dir, options, say)
        _print_build(snapshot.id, snapshot.manifest)
        sys.stdout.write(f"{snapshot.path}\n")

    guard(run)


def _print_build(snapshot_id: str, manifest: dict[str, Any]) -> None:
    """Row counts per table, the sources read, and what the merge joined (to stderr)."""
    table = Table(title=f"snapshot {snapshot_id}", show_header=True)
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in manifest["tables"].items():
        table.add_row(name, f"{rows:,}")
    err_console.print(table)
    err_console.print("sources: " + ", ".join(f"{s['name']} ({s['release'] or '?'})" for s in manifest["sources"]))
    merge = manifest.get("merge") or {}
    equivalence, genes = merge.get("equivalence") or {}, merge.get("genes") or {}
    if equivalence.get("exact_mappings"):
        err_console.print(f"equivalence groups: {equivalence['groups']:,} (exact mappings only); "
                          f"non-exact mappings not merged: {equivalence['non_exact_mappings_not_merged']:,}")
    if genes.get("keyed_by_hgnc"):
        err_console.print(f"genes keyed by HGNC id: {genes['keyed_by_hgnc']:,}; by NCBIGene id: {genes['keyed_by_ncbi']:,}")
    skipped = manifest["parse_report"]["skipped"]
    if skipped:
        err_console.print(f"skipped records: {skipped}")


@app.command("diff")
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
        diff = diff_snapshots(open_snapshot(settings, a), open_snapshot(settings, b))
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
        for change in diff.clinvar_significance_changes[:20]:
            out_console.print(
                f"{change['variant_id']} {change['gene_symbol'] or '-'}: {change['old_significance']} "
                f"({change['old_stars']}★) → {change['new_significance']} ({change['new_stars']}★)"
            )

    guard(run)
