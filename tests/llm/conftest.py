"""Fixtures of the LLM tests: a diagnosis service on the default snapshot, retrieval responses, settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from raregraph.models import CaseRequest, DiagnosisResponse
from raregraph.api.service import build_service
from raregraph.retrieval.retriever import Retriever
from raregraph.settings import Settings
from raregraph.etl.snapshot import Snapshot

FIXTURES = Path(__file__).parent / "fixtures"

# A Marfan-like case (the README's demo) with one excluded finding and an FBN1 variant.
MARFAN = CaseRequest(
    id="marfan", hpo_present=["HP:0001166", "HP:0001083", "HP:0002616", "HP:0000545"], hpo_excluded=["HP:0001250"],
    variants=[{"gene": "FBN1", "zygosity": "heterozygous"}],
)


def base_settings(snapshot: Snapshot, **llm: object) -> Settings:
    """Settings on the test snapshot, text linking exact-only, with `llm_*` overrides (keys without the prefix)."""
    fields = {f"llm_{k}": v for k, v in llm.items()}
    return Settings(snapshot=str(snapshot.path), embedding_enabled=False, _env_file=None, **fields)  # type: ignore[call-arg]


@pytest.fixture(scope="session")
def llm_service(default_snapshot: Snapshot) -> Retriever:
    return build_service(base_settings(default_snapshot))


@pytest.fixture(scope="session")
def marfan_response(llm_service: Retriever) -> DiagnosisResponse:
    return llm_service.diagnose(MARFAN, top=10)


def recorded(name: str) -> dict[str, object]:
    """A response the real llama.cpp server gave (tests/llm/fixtures/NAME.json, written by record_fixtures.py)."""
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def recorded_message(name: str) -> tuple[str | None, str | None, str | None]:
    """(content, reasoning_content, finish_reason) of a recorded answer, streamed or not."""
    response: dict[str, Any] = recorded(name)["response"]  # type: ignore[assignment]
    if response.get("streamed"):
        return response["content"], response.get("reasoning_content"), response.get("finish_reason")
    choice = response["choices"][0]
    return choice["message"]["content"], choice["message"].get("reasoning_content"), choice["finish_reason"]
