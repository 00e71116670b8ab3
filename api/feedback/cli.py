"""`raregraph feedback add|export|withdraw`: the feedback store from the command line."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from pydantic import ValidationError

from raregraph.api.cli.support import guard, out_console
from raregraph.api.feedback.schemas import FeedbackIn
from raregraph.errors import InvalidFeedbackError
from raregraph.settings import Settings

if TYPE_CHECKING:
    from raregraph.api.feedback.store import FeedbackStore

__all__ = ["app", "read_feedback_file"]

app = typer.Typer(help="Clinician feedback: record verdicts, export training data, withdraw a case.",
                  no_args_is_help=True)

ExportFormat = Literal["sft", "preference", "arena"]
AuthorOption = Annotated[str | None, typer.Option(help="Who is recorded in the audit table (default: the OS user)")]


def _settings(ctx: typer.Context) -> Settings:
    found = ctx.find_root().obj
    return found if isinstance(found, Settings) else guard(Settings)


def _store(settings: Settings) -> "FeedbackStore":
    from raregraph.api.feedback.store import FeedbackStore  # SQLAlchemy loads only for these commands

    return FeedbackStore.from_settings(settings)


def _who(given: str | None) -> str:
    return given or f"cli:{getpass.getuser()}"


def read_feedback_file(path: Path) -> list[tuple[str, FeedbackIn]]:
    """Verdicts from a JSONL file (one object a line) or a JSON array, each paired with `file:line`.

    Raises:
        InvalidFeedbackError: naming the file, line and field of the first bad verdict.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise InvalidFeedbackError(f"{path}: cannot read ({err.strerror})") from err
    items: list[tuple[str, Any]] = []
    if text.lstrip().startswith("["):
        try:
            items = [(f"{path}[{i}]", doc) for i, doc in enumerate(json.loads(text))]
        except json.JSONDecodeError as err:
            raise InvalidFeedbackError(f"{path}:{err.lineno}: not valid JSON ({err.msg})") from err
    else:
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    items.append((f"{path}:{number}", json.loads(line)))
                except json.JSONDecodeError as err:
                    raise InvalidFeedbackError(f"{path}:{number}: not valid JSON ({err.msg})") from err
    parsed = []
    for where, doc in items:
        try:
            parsed.append((where, FeedbackIn.model_validate(doc)))
        except ValidationError as err:
            first = err.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "(line)"
            raise InvalidFeedbackError(f"{where}: field '{field}': {first['msg']}", field=field) from err
    if not parsed:
        raise InvalidFeedbackError(f"{path}: no feedback in the file")
    return parsed


@app.command("add")
def add(ctx: typer.Context, file: Annotated[Path, typer.Argument(help="JSONL (one verdict a line) or a JSON array")],
        author: AuthorOption = None) -> None:
    """Store a file of verdicts, all or none (the same fields as POST /v1/feedback)."""
    settings = _settings(ctx)

    def run() -> None:
        from raregraph.api.feedback.grounding import SnapshotDiseases

        items = read_feedback_file(file)
        store = _store(settings)
        try:
            stored = store.add_feedback(items, author=_who(author), ground=SnapshotDiseases(settings.snapshot_dir),
                                        action="feedback.import")
        finally:
            store.close()
        out_console.print(f"stored {len(stored)} verdict(s): #{stored[0].id}–#{stored[-1].id}", highlight=False)

    guard(run)


@app.command("export")
def export(
    ctx: typer.Context,
    format: Annotated[ExportFormat, typer.Option("--format", help="sft | preference | arena")],
    out: Annotated[Path, typer.Option("--out", help="Output file (JSONL; arena: JSON)")],
    actor: AuthorOption = None,
) -> None:
    """Export confirmed cases as chat SFT examples, DPO pairs, or the arena's rating table."""
    settings = _settings(ctx)

    def run() -> None:
        from raregraph.api.feedback.export import export_feedback

        store = _store(settings)
        try:
            summary = export_feedback(store, settings, format, out, actor=_who(actor))
        finally:
            store.close()
        skipped = "".join(f"; skipped {n} ({why})" for why, n in sorted(summary.skipped.items()))
        out_console.print(f"wrote {summary.rows} {format} row(s) to {out}{skipped}", highlight=False)

    guard(run)


@app.command("withdraw")
def withdraw(ctx: typer.Context, feedback_id: Annotated[int, typer.Argument(help="Feedback #id")],
             actor: AuthorOption = None) -> None:
    """Withdraw one verdict: it leaves every export (it stays in the store, marked, and audited)."""
    settings = _settings(ctx)

    def run() -> None:
        store = _store(settings)
        try:
            store.withdraw(feedback_id, actor=_who(actor))
        finally:
            store.close()
        out_console.print(f"feedback #{feedback_id} withdrawn", highlight=False)

    guard(run)
