"""`raregraph diagnose`, `rank` and `eval`: one case, a cohort, and scoring a cohort against gold."""

from __future__ import annotations

import glob
import json
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from raregraph.api.cli import render
from raregraph.api.cli.support import encode_progress, err_console, guard, out_console, progress
from raregraph.settings import Settings
from raregraph.staging import claim, remove_orphans, staging_path

if TYPE_CHECKING:
    from raregraph.api.pipeline import DiagnosisPipeline
    from raregraph.models import CaseRequest

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the diagnosis commands to the root app."""
    app.command()(diagnose)
    app.command()(rank)
    app.command("eval")(evaluate)


def _split(values: list[str] | None) -> list[str]:
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


def diagnose(
    ctx: typer.Context,
    hpo: Annotated[list[str] | None, typer.Option("--hpo", help="Present HPO id(s); repeat or comma-separate")] = None,
    exclude: Annotated[list[str] | None, typer.Option("--exclude", help="Excluded HPO id(s)")] = None,
    text: Annotated[str | None, typer.Option(
        "--text", help="Clinical text (EHR notes); '-' reads it from stdin. Phenotypes are found, negation "
                       "included, and linked to HPO terms")] = None,
    text_file: Annotated[Path | None, typer.Option("--text-file", help="A file of clinical text ('-': stdin)")] = None,
    variant: Annotated[
        list[str] | None,
        typer.Option("--variant", help="Candidate variant: FBN1, FBN1:c.8080C>T, chr15:48411241:G:A; repeat"),
    ] = None,
    zygosity: Annotated[str | None, typer.Option(help="Zygosity of the --variant values")] = None,
    vcf: Annotated[Path | None, typer.Option(help="Candidate variants from a VCF (gene from GENEINFO/ANN/CSQ)")] = None,
    phenopacket: Annotated[Path | None, typer.Option(help="A GA4GH Phenopacket v2 JSON file as the case")] = None,
    top: Annotated[int, typer.Option(min=1, max=1000)] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document on stdout (as POST /v1/diagnose)")] = False,
    replace_obsolete: Annotated[
        bool, typer.Option(help="Use the replacement of an obsolete id (with a warning) instead of stopping")
    ] = False,
    llm: Annotated[bool, typer.Option(
        "--llm", help="Re-rank with the LLM at RAREGRAPH_LLM_BASE_URL; any LLM failure falls back to retrieval, "
                      "and llm.status says why")] = False,
) -> None:
    """Rank diseases for one case: clinical text, HPO terms, variants, or a phenopacket."""
    from raregraph.api.pipeline import DiagnoseOptions
    from raregraph.api.service import build_pipeline
    from raregraph.retrieval.case import TermPolicy

    settings: Settings = ctx.obj

    def run() -> None:
        request = _request(hpo, exclude, variant, zygosity, vcf, phenopacket, _read_text(text, text_file))
        with progress() as say:
            pipeline = build_pipeline(settings, say)
        options = DiagnoseOptions(top=top, llm="on" if llm else "off",
                                  policy=TermPolicy(obsolete="replace" if replace_obsolete else "error"))
        with encode_progress() as report:
            pipeline.retriever.linker.progress = report  # a first use of the embedding tier builds its index
            result = pipeline.run_sync(request, options)
        if as_json:
            sys.stdout.write(result.model_dump_json(indent=2) + "\n")
            return
        render.print_case(result)
        render.print_differential(result)
        if llm:
            render.print_llm(result)

    guard(run)


def _read_text(text: str | None, text_file: Path | None) -> str | None:
    """The case text from --text or --text-file ('-' for either reads stdin)."""
    from raregraph.errors import InvalidCaseError

    if text is not None and text_file is not None:
        raise InvalidCaseError("give --text or --text-file, not both")
    if text == "-" or (text_file is not None and str(text_file) == "-"):
        return sys.stdin.read()
    if text_file is not None:
        if not text_file.is_file():
            raise InvalidCaseError(f"{text_file}: no such file")
        try:
            return text_file.read_text(encoding="utf-8")
        except UnicodeDecodeError as err:
            raise InvalidCaseError(f"{text_file}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    return text


def _request(
    hpo: list[str] | None, exclude: list[str] | None, variant: list[str] | None, zygosity: str | None,
    vcf: Path | None, phenopacket: Path | None, text: str | None,
) -> "CaseRequest":
    from raregraph.models import CaseRequest
    from raregraph.retrieval.case_input import case_from_phenopacket, variant_from_text, variants_from_vcf

    base = case_from_phenopacket(phenopacket) if phenopacket else CaseRequest()
    variants = list(base.variants)
    variants += [variant_from_text(v, zygosity=zygosity) for v in _split(variant)]
    if vcf:
        variants += variants_from_vcf(vcf)
    texts = [t for t in (base.text, text) if t and t.strip()]
    return CaseRequest(
        id=base.id, text="\n\n".join(texts) or None, sex=base.sex, age=base.age, variants=variants,
        hpo_present=[*base.hpo_present, *_split(hpo)], hpo_excluded=[*base.hpo_excluded, *_split(exclude)],
    )


# --- cohorts --------------------------------------------------------------------------------

_WORKER: dict[str, "DiagnosisPipeline"] = {}  # one pipeline per worker process, set by its initializer


def _init_worker(settings: Settings, parent_pid: int, started_by_main_thread: bool) -> None:
    from raregraph.api.service import build_pipeline
    from raregraph.processes import end_with_parent

    end_with_parent(parent_pid, started_by_main_thread=started_by_main_thread)  # a killed `rank` leaves no worker
    _WORKER["pipeline"] = build_pipeline(settings)


def _rank_chunk(chunk: list[tuple[int, "CaseRequest | str"]], top: int) -> list[str]:
    return [_rank_one(_WORKER["pipeline"], number, item, top) for number, item in chunk]


def _rank_one(pipeline: "DiagnosisPipeline", number: int, item: "CaseRequest | str", top: int) -> str:
    from raregraph.models import RankingLine

    if isinstance(item, str):  # a case that did not validate: reported in its line
        return RankingLine(id=f"case-{number}", ranking=[], warnings=[item]).model_dump_json()
    if item.id is None:
        item = item.model_copy(update={"id": f"case-{number}"})
    return pipeline.rank_line(item, top=top).model_dump_json()


def rank(
    ctx: typer.Context,
    input: Annotated[Path, typer.Option("--input", help="Cases: a JSONL file (eval fields) or a folder of phenopackets")],
    output: Annotated[Path, typer.Option("--output", help="Rankings, one JSON line per case")],
    top: Annotated[int, typer.Option(min=1, max=10000)] = 100,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes")] = 1,
) -> None:
    """Rank every case of a cohort; a bad case is reported in its own line and never stops the run."""
    from raregraph.api.service import build_pipeline
    from raregraph.retrieval.case_input import cases_from_path

    settings: Settings = ctx.obj

    def run() -> None:
        output.parent.mkdir(parents=True, exist_ok=True)
        with claim(output):  # a second run with the same --output is refused, naming this one's pid
            items = [
                (number, item if not isinstance(item, Exception) else f"{input}:{number}: {_first_error(item)}")
                for number, item in cases_from_path(input)
            ]
            with progress() as say:
                pipeline = build_pipeline(settings, say)  # builds and caches the index before workers start
            if workers == 1 and any(not isinstance(item, str) and item.text for _, item in items):
                with encode_progress() as report:  # a first use of the embedding tier builds its index, shown here
                    pipeline.retriever.linker.build_index(report)
            started = time.perf_counter()
            _write_rankings(output, _ranked_lines(pipeline, settings, items, top, workers), len(items))
            seconds = time.perf_counter() - started
        per_case = 1000 * seconds / max(len(items), 1)
        err_console.print(f"ranked {len(items)} cases in {seconds:.1f} s ({per_case:.1f} ms/case, {workers} worker(s)) → {output}")

    guard(run)


def _write_rankings(output: Path, batches: Iterator[list[str]], total: int) -> None:
    """Write the lines to this run's `.tmp-<name>-<pid>` beside `output`, renamed into place when complete."""
    remove_orphans(output.parent, glob.escape(output.name))  # what killed runs for this output left
    partial = staging_path(output.parent, output.name)
    try:
        with partial.open("w", encoding="utf-8") as sink, _case_progress(total) as advance:
            for lines in batches:
                for line in lines:
                    sink.write(line + "\n")
                advance(len(lines))
        partial.replace(output)  # a crash mid-run never leaves a truncated file under the final name
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _ranked_lines(
    pipeline: "DiagnosisPipeline", settings: Settings, items: list[tuple[int, Any]], top: int, workers: int
) -> Iterator[list[str]]:
    if workers == 1:
        for number, item in items:
            yield [_rank_one(pipeline, number, item, top)]
        return
    size = max(1, min(64, len(items) // (workers * 8) or 1))
    chunks = [items[i:i + size] for i in range(0, len(items), size)]
    # spawn, not fork: polars' thread pool in the parent makes a forked child deadlock
    context = multiprocessing.get_context("spawn")
    # Workers are spawned by the thread that submits (this one); they end when this process ends.
    initargs = (settings, os.getpid(), threading.current_thread() is threading.main_thread())
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker, initargs=initargs) as pool:
        yield from pool.map(_rank_chunk, chunks, [top] * len(chunks))  # in input order


def _first_error(err: Exception) -> str:
    errors = getattr(err, "errors", None)
    if callable(errors):
        first = errors()[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return str(err)


@contextmanager
def _case_progress(total: int) -> Iterator[Callable[[int], None]]:
    if not err_console.is_terminal:
        yield lambda n: None
        return
    from rich.progress import Progress

    with Progress(console=err_console, transient=True) as bar:
        task = bar.add_task("ranking", total=total)
        yield lambda n: bar.advance(task, n)


def evaluate(
    input: Annotated[Path, typer.Option("--input", help="Rankings JSONL written by 'raregraph rank'")],
    gold: Annotated[Path, typer.Option("--gold", help="Gold JSONL (id, diagnosis_ids)")],
    json_out: Annotated[Path | None, typer.Option("--json-out", help="Write the summary as JSON here")] = None,
) -> None:
    """Top-1/3/10 and MRR of rankings against gold diagnoses."""
    from raregraph.retrieval.evaluation import case_outcome, summarize

    def run() -> None:
        golds = _read_jsonl(gold)
        rankings = {entry["id"]: entry["ranking"] for entry in _read_jsonl(input)}
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


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    from raregraph.errors import InvalidCaseError

    if not path.is_file():
        raise InvalidCaseError(f"{path}: no such file")
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except ValueError as err:
                raise InvalidCaseError(f"{path}:{number}: not JSON ({err})") from None
    return rows
