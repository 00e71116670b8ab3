"""`raregraph feedback add|export|withdraw` on a real snapshot's answers (issue 18)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from raregraph.api.cli import app
from raregraph.api.feedback.record import record_response
from raregraph.api.feedback.store import FeedbackStore
from raregraph.etl.snapshot import Snapshot
from raregraph.models import CaseRequest
from tests.api.test_http import MARFAN, service_for


@pytest.fixture
def env(default_snapshot: Snapshot, tmp_path: Path) -> dict[str, str]:
    return {"RAREGRAPH_SNAPSHOT_DIR": str(default_snapshot.path.parent),
            "RAREGRAPH_FEEDBACK_URL": f"sqlite:///{tmp_path / 'feedback.sqlite'}"}


def test_add_export_and_withdraw_from_the_command_line(default_snapshot: Snapshot, env: dict[str, str],
                                                       tmp_path: Path) -> None:
    service = service_for(default_snapshot.path)
    store = FeedbackStore(env["RAREGRAPH_FEEDBACK_URL"])
    answer = record_response(store, CaseRequest(hpo_present=MARFAN), service.diagnose(CaseRequest(hpo_present=MARFAN)))
    second = answer.candidates[1].disease_id
    runner = CliRunner()

    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"response_id": answer.response_id, "confirmed_disease_id": second}) + "\n"
                   + json.dumps({"response_id": answer.response_id, "ratings": {"safety": 9}}) + "\n")
    result = runner.invoke(app, ["feedback", "add", str(bad)], env=env)
    assert result.exit_code == 2 and f"{bad}:2: field 'ratings.safety'" in result.output.replace("\n", "")
    assert store.counts()["feedback"] == 0  # all or none

    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps({"response_id": answer.response_id, "confirmed_disease_id": second}) + "\n")
    result = runner.invoke(app, ["feedback", "add", str(good), "--author", "dr-a"], env=env)
    assert result.exit_code == 0, result.output
    [verdict] = store.feedback()
    assert verdict.author == "dr-a" and verdict.confirmed_disease_id == second

    out = tmp_path / "sft.jsonl"
    result = runner.invoke(app, ["feedback", "export", "--format", "sft", "--out", str(out)], env=env)
    assert result.exit_code == 0, result.output
    [line] = out.read_text().splitlines()
    assert json.loads(json.loads(line)["messages"][2]["content"])["most_likely"] == [second]

    assert runner.invoke(app, ["feedback", "withdraw", str(verdict.id)], env=env).exit_code == 0
    result = runner.invoke(app, ["feedback", "export", "--format", "sft", "--out", str(out)], env=env)
    assert result.exit_code == 0 and out.read_text() == ""
    assert [a.action for a in store.audit_trail()] == ["export.sft", "feedback.withdraw", "export.sft", "feedback.import"]
    store.close()
