"""How the CLI shows a diagnosis: the understood case, the differential, and the LLM step's report."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.markup import escape
from rich.table import Table

from raregraph.api.cli.support import err_console, out_console
from raregraph.models import CandidateOut

if TYPE_CHECKING:  # the pipeline (numpy, scipy, polars) is imported by the commands that run it
    from raregraph.api.pipeline import DiagnoseResult

__all__ = ["print_case", "print_differential", "print_llm"]


def print_case(result: DiagnoseResult) -> None:
    """What the case text yielded (linked mentions with assertion, tier and score; unlinked mentions), when it had text."""
    extraction = result.case.text
    if extraction is None:
        return
    table = Table(title="Understood from the text", caption=f"embedding tier: {extraction.embedding_status}")
    for column, justify in (("mention", "left"), ("assertion", "left"), ("HPO term", "left"), ("label", "left"),
                            ("tier", "left"), ("score", "right")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for m in extraction.linked:
        table.add_row(escape(m.text), m.assertion, m.term_id, escape(m.label), m.tier, f"{m.score:.2f}")
    out_console.print(table)
    if extraction.unlinked:
        out_console.print("not linked: " + "; ".join(f"{escape(m.text)!r} ({m.assertion})" for m in extraction.unlinked),
                          highlight=False)


def print_differential(result: DiagnoseResult) -> None:
    """The ranked candidates with a one-line evidence summary each; warnings on stderr."""
    for warning in result.warnings:
        err_console.print(f"[yellow]warning[/]: {escape(warning)}", highlight=False)
    case = ", ".join(f"{t.id} {t.label}" for t in result.case.present) or "no phenotype"
    if result.case.excluded:
        case += "; excluded: " + ", ".join(f"{t.id} {t.label}" for t in result.case.excluded)
    table = Table(title=f"Differential ({result.method}, snapshot {result.snapshot_id})", caption=f"case: {escape(case)}")
    for column, justify in (("#", "right"), ("disease", "left"), ("name", "left"), ("prob.", "right"),
                            ("score", "right"), ("evidence", "left")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    n_terms = len(result.case.present)
    for c in result.candidates:
        table.add_row(str(c.rank), c.disease_id, escape(c.name), f"{c.probability or 0:.3f}", f"{c.score:.2f}",
                      _evidence_summary(c, n_terms))
    out_console.print(table)


def _evidence_summary(candidate: CandidateOut, n_terms: int) -> str:
    evidence = candidate.evidence
    if evidence is None:
        return ""
    exact = sum(m.relation == "exact" for m in evidence.matched)
    parts = [f"{len(evidence.matched)}/{n_terms} terms ({exact} exact)"]
    if evidence.contradicted:
        parts.append(f"{len(evidence.contradicted)} contradicted")
    if evidence.genes:
        parts.append("genes " + ",".join(g.symbol for g in evidence.genes))
    if evidence.twin is not None and evidence.twin.share >= 0.5:  # only when the twin carries the score
        twin = evidence.twin
        parts.append(f"{len(twin.matched)}/{n_terms} via {twin.disease_id} ({','.join(twin.shared_genes)})")
    cases = evidence.confirmed_cases
    if cases is not None and cases.share >= 0.5:  # only when the confirmed cases carry the score
        ids = ",".join(label.rsplit(" ", 1)[-1] for label in cases.cases)
        parts.append(f"{len(cases.matched)}/{n_terms} via confirmed case{'s' if len(cases.cases) > 1 else ''} {ids}")
    if evidence.prior is not None and evidence.prior.log_prior:
        prior = evidence.prior
        facts = [f"{prior.publications} PMID{'s' if prior.publications > 1 else ''}"] if prior.publications else []
        facts += ["MedDRA"] if prior.clinical_code else []
        parts.append(f"prior +{prior.log_prior:.2f} ({', '.join(facts)})")
    return "; ".join(parts)


def print_llm(result: DiagnoseResult) -> None:
    """The ranking to show (retrieval merged with the model's answer) and the LLM step's report."""
    report = result.llm
    status = f"LLM {report.status}" + (f" ({report.model})" if report.model else "")
    table = Table(title=f"Differential, retrieval + {status}", caption=report.fusion or "retrieval order")
    for column, justify in (("#", "right"), ("disease", "left"), ("name", "left"), ("retrieval", "right"),
                            ("LLM", "right"), ("grounded by", "left")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for row in result.ranking:
        table.add_row(str(row.rank), row.disease_id, escape(row.name), str(row.retrieval_rank or "-"),
                      str(row.llm_rank or "-"), row.resolved_by or "")
    out_console.print(table)
    if report.detail:
        err_console.print(f"[yellow]LLM {report.status}[/]: {escape(report.detail)}", highlight=False, soft_wrap=True)
    if report.reasoning:
        out_console.print("[bold]reasoning[/]: " + escape(report.reasoning), highlight=False)
    if report.tiers:
        for name, entries in (("most likely", report.tiers.most_likely),
                              ("possible alternatives", report.tiers.possible_alternatives),
                              ("can't miss", report.tiers.cant_miss)):
            if entries:
                out_console.print(f"{name}: " + "; ".join(f"{e.disease_id} {escape(e.name)}" for e in entries),
                                  highlight=False)
        if report.tiers.next_workup:
            out_console.print("next work-up: " + "; ".join(escape(w) for w in report.tiers.next_workup), highlight=False)
    for item in report.ungrounded:
        err_console.print(f"ungrounded (dropped): {escape(item.text)!r}: {escape(item.reason)}", highlight=False)
